// What the Raft node needs from the replicated state machine (state/'s RegistryState): apply a
// committed command, serialize, restore. The node is written against this so it can be tested
// with any state; main.ts and the cluster tests plug in RegistryState.
import type { CommandResult, RegistryCommand, RegistryReads } from "../registry-contract.ts";

/** The state machine the node applies committed entries to. */
export interface ReplicatedState extends RegistryReads {
  /** Applies the command committed at `index`, stamped with the proposing leader's clock. */
  apply(index: number, command: RegistryCommand, nowMs: number): CommandResult;
  /** Records that the entry at `index` carried no command (leader no-op, conf change, undecodable). */
  markApplied(index: number): void;
  /** The whole state as bytes, for a Raft snapshot. */
  snapshot(): Uint8Array;
  /**
   * The bytes of `snapshot()` in chunks, the state captured at this call (the chunks may be taken
   * later, while entries are applied). With `reuseBuffer`, every chunk is a view into one buffer
   * that the next chunk overwrites: the caller consumes each before taking the next.
   * `kvPerChunk`: about how many KV entries one chunk holds.
   */
  snapshotChunks(options?: { readonly reuseBuffer?: boolean; readonly kvPerChunk?: number }): Iterator<Uint8Array>;
}

/** How the node makes states: an empty one, or one restored from `snapshot()` bytes. */
export interface StateMachineFactory {
  empty(): ReplicatedState;
  restore(bytes: Uint8Array): ReplicatedState;
}
