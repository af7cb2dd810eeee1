// The configuration of one Raft node: what the driver passes to `createRawNode`, the defaults and
// the checks, reported as a value so a composition root can print what is wrong.
import type { LogIndex, NodeId } from "./ids.ts";
import type { Storage } from "./storage.ts";

/**
 * How ReadIndex confirms leadership (thesis §6.4). "safe" waits for a heartbeat round acknowledged
 * by a quorum. "lease-based" trusts the leader lease kept by CheckQuorum (thesis §6.4.1): one
 * round trip cheaper, but correct only while clock drift stays below the election timeout.
 */
export type ReadOnlyOption = "safe" | "lease-based";

/** Where the core reports what it does; the driver decides where lines go. All optional. */
export interface RaftLogger {
  debug?(line: string): void;
  info?(line: string): void;
  warn?(line: string): void;
}

/** The options of one node. Ticks are the driver's unit of time (one `tick()` call). */
export interface RaftConfig {
  readonly id: NodeId;
  /** Ticks without hearing from a leader before campaigning; the actual timeout is drawn in [electionTick, 2*electionTick) (Raft §5.2). */
  readonly electionTick: number;
  /** Ticks between a leader's heartbeats; must be below `electionTick`. */
  readonly heartbeatTick: number;
  readonly storage: Storage;
  /** A seeded source of numbers in [0, 1); the only randomness the core uses (for election timeouts). */
  readonly random: () => number;
  /** Rehearse elections with PreVote so a partitioned node cannot disrupt a working leader (thesis §9.6). Default true. */
  readonly preVote?: boolean;
  /** A leader steps down when it has not heard from a quorum within an election timeout (thesis §6.2). Default true. */
  readonly checkQuorum?: boolean;
  /** Byte budget of the entries of one append message (`entrySizeBytes`); at least one entry is always sent. Default 1 MiB. */
  readonly maxSizePerMsg?: number;
  /** Append messages in flight to one follower in replicate state. Default 256. */
  readonly maxInflightMsgs?: number;
  /** Bytes of entries in flight to one follower. Default unlimited. */
  readonly maxInflightBytes?: number;
  /** Bytes of data a leader accepts in proposed but uncommitted entries (an empty tail always accepts one). Default 64 MiB. */
  readonly maxUncommittedEntriesSize?: number;
  /** Byte budget of `Ready.committedEntries` (at least one entry). Default `maxSizePerMsg`. */
  readonly maxCommittedSizePerReady?: number;
  /** Default "safe". "lease-based" requires `checkQuorum`. */
  readonly readOnlyOption?: ReadOnlyOption;
  /** The last index the driver had applied before a restart; default the snapshot's index. */
  readonly applied?: LogIndex;
  /** Followers refuse proposals ("not-leader" with a hint) instead of forwarding them. Default false. */
  readonly disableProposalForwarding?: boolean;
  /**
   * Leader ticks to wait for a sent snapshot to be acknowledged before sending it again, for
   * transports that lose messages without calling `reportSnapshot`. Default 10 * electionTick.
   */
  readonly snapshotTimeoutTick?: number;
  readonly logger?: RaftLogger;
}

/** A configuration with every default filled in. */
export interface ResolvedRaftConfig {
  readonly id: NodeId;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly storage: Storage;
  readonly random: () => number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly maxInflightBytes: number;
  readonly maxUncommittedEntriesSize: number;
  readonly maxCommittedSizePerReady: number;
  readonly readOnlyOption: ReadOnlyOption;
  readonly applied: LogIndex | null;
  readonly disableProposalForwarding: boolean;
  readonly snapshotTimeoutTick: number;
  readonly logger: RaftLogger | null;
}

/** What is wrong with a configuration. */
export type RaftConfigProblem =
  | "invalid-id"
  | "invalid-election-tick"
  | "invalid-heartbeat-tick"
  | "invalid-size-limit"
  | "invalid-inflight-limit"
  | "lease-based-read-requires-check-quorum";

/** The result of `resolveRaftConfig`. */
export type RaftConfigResult =
  | { readonly ok: true; readonly config: ResolvedRaftConfig }
  | { readonly ok: false; readonly problem: RaftConfigProblem; readonly message: string };

const mebibyte = 1024 * 1024;

/** Checks a configuration and fills in the defaults. */
export function resolveRaftConfig(config: RaftConfig): RaftConfigResult {
  const fail = (problem: RaftConfigProblem, message: string): RaftConfigResult => ({ ok: false, problem, message });
  if (typeof config.id !== "string" || config.id.length === 0) return fail("invalid-id", "id must be a non-empty node id");
  if (!Number.isSafeInteger(config.heartbeatTick) || config.heartbeatTick < 1) {
    return fail("invalid-heartbeat-tick", `heartbeatTick must be a positive integer, got ${config.heartbeatTick}`);
  }
  if (!Number.isSafeInteger(config.electionTick) || config.electionTick <= config.heartbeatTick) {
    return fail("invalid-election-tick", `electionTick must be an integer above heartbeatTick (${config.heartbeatTick}), got ${config.electionTick}`);
  }
  const maxSizePerMsg = config.maxSizePerMsg ?? mebibyte;
  const maxUncommittedEntriesSize = config.maxUncommittedEntriesSize ?? 64 * mebibyte;
  const maxCommittedSizePerReady = config.maxCommittedSizePerReady ?? maxSizePerMsg;
  const maxInflightBytes = config.maxInflightBytes ?? Number.POSITIVE_INFINITY;
  for (const [name, value] of Object.entries({ maxSizePerMsg, maxUncommittedEntriesSize, maxCommittedSizePerReady, maxInflightBytes })) {
    if (!(value > 0)) return fail("invalid-size-limit", `${name} must be a positive number of bytes, got ${value}`);
  }
  const maxInflightMsgs = config.maxInflightMsgs ?? 256;
  if (!Number.isSafeInteger(maxInflightMsgs) || maxInflightMsgs < 1) {
    return fail("invalid-inflight-limit", `maxInflightMsgs must be a positive integer, got ${maxInflightMsgs}`);
  }
  const checkQuorum = config.checkQuorum ?? true;
  const readOnlyOption = config.readOnlyOption ?? "safe";
  if (readOnlyOption === "lease-based" && !checkQuorum) {
    return fail("lease-based-read-requires-check-quorum", 'readOnlyOption "lease-based" needs checkQuorum: true, or the lease is not kept');
  }
  return {
    ok: true,
    config: {
      id: config.id,
      electionTick: config.electionTick,
      heartbeatTick: config.heartbeatTick,
      storage: config.storage,
      random: config.random,
      preVote: config.preVote ?? true,
      checkQuorum,
      maxSizePerMsg,
      maxInflightMsgs,
      maxInflightBytes,
      maxUncommittedEntriesSize,
      maxCommittedSizePerReady,
      readOnlyOption,
      applied: config.applied ?? null,
      disableProposalForwarding: config.disableProposalForwarding ?? false,
      snapshotTimeoutTick: config.snapshotTimeoutTick ?? 10 * config.electionTick,
      logger: config.logger ?? null,
    },
  };
}
