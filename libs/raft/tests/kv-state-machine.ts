// The simulated KV application on top of the Raft core: put / get / cas / delete applied from
// committed entries, with client sessions (client id + request sequence number) so that a retried
// request takes effect once (thesis §6.3), and snapshots of the whole state for compaction.
import type { Entry, ReadState, Snapshot } from "../src/index.ts";
import { applyKvInput, type KvInput, type KvOutput } from "@meshwork/testing";
import type { SimStateMachine } from "./sim-cluster.ts";

/** A client request as it travels in a log entry. */
export interface KvCommand {
  readonly client: string;
  readonly seq: number;
  readonly input: KvInput;
}

/** How the application may be broken on purpose, to show the checker catches it. */
export type KvFlaw = "none" | "no-dedup";

interface Session {
  readonly seq: number;
  readonly output: KvOutput;
}

interface KvSnapshot {
  readonly data: [string, string][];
  readonly sessions: [string, Session][];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a command as entry data. */
export function encodeCommand(command: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

/** What the state machine tells its server. */
export interface KvMachineEvents {
  /** A command was applied (or recognised as a duplicate) with this output. */
  readonly applied: (client: string, seq: number, output: KvOutput) => void;
  /** ReadIndex released read points, to serve once applied up to their index. */
  readonly released: (states: readonly ReadState[]) => void;
}

/** One node's KV state and client sessions. */
export class KvStateMachine implements SimStateMachine {
  readonly data = new Map<string, string>();
  readonly #sessions = new Map<string, Session>();
  readonly #flaw: KvFlaw;
  readonly #events: KvMachineEvents;

  constructor(flaw: KvFlaw, events: KvMachineEvents) {
    this.#flaw = flaw;
    this.#events = events;
  }

  restore(snapshot: Snapshot): void {
    const state = JSON.parse(decoder.decode(snapshot.data)) as KvSnapshot;
    this.data.clear();
    this.#sessions.clear();
    for (const [key, value] of state.data) this.data.set(key, value);
    for (const [client, session] of state.sessions) this.#sessions.set(client, session);
  }

  apply(entry: Entry): void {
    if (entry.type !== "normal" || entry.data.byteLength === 0) return;
    const command = JSON.parse(decoder.decode(entry.data)) as KvCommand;
    const session = this.#sessions.get(command.client);
    // A client has one request outstanding at a time: an older sequence number is a retry of a
    // request it gave up on, the same one is a retry whose first copy already took effect.
    if (session !== undefined && command.seq < session.seq) return;
    if (session !== undefined && command.seq === session.seq && this.#flaw !== "no-dedup") {
      this.#events.applied(command.client, command.seq, session.output);
      return;
    }
    const output = applyKvInput(this.data, command.input);
    this.#sessions.set(command.client, { seq: command.seq, output });
    this.#events.applied(command.client, command.seq, output);
  }

  release(states: readonly ReadState[]): void {
    if (states.length > 0) this.#events.released(states);
  }

  snapshotData(): Uint8Array {
    const state: KvSnapshot = { data: [...this.data], sessions: [...this.#sessions] };
    return encoder.encode(JSON.stringify(state));
  }

  /** The value of `key` in the local state (null when absent). */
  read(key: string): string | null {
    return this.data.get(key) ?? null;
  }
}
