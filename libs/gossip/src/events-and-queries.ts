// serf's user events and queries, the parts the core keeps apart from membership: de-duplication by
// Lamport time within a window (serf's EventBuffer / QueryBuffer) and the bookkeeping of this
// member's own queries (responses collected until the timeout). Used by `memberlist.ts`.
import type { LamportClock } from "./lamport-clock.ts";
import type { Message } from "./message.ts";

/** Identifies a query cluster-wide (serf: LTime + ID) and where to answer it. */
export interface QueryRef {
  readonly ltime: number;
  readonly id: number;
  readonly origin: string;
  readonly originAddress: string;
}

/** What a finished query collected. */
export interface CompletedQuery {
  readonly query: QueryRef;
  readonly name: string;
  readonly responses: readonly { readonly from: string; readonly payload: Uint8Array }[];
}

/**
 * Remembers (Lamport time, key) pairs seen within the last `window` Lamport times of `clock`;
 * older messages are refused (too old to tell whether they are duplicates).
 */
export class LamportDedup {
  readonly #window: number;
  readonly #seen = new Map<number, Set<string>>();

  constructor(window: number) {
    this.#window = window;
  }

  /** True if (ltime, key) is new and recent enough; remembers it. */
  isNew(clock: LamportClock, ltime: number, key: string): boolean {
    const window = this.#window;
    if (clock.time > window && ltime < clock.time - window) return false;
    let keys = this.#seen.get(ltime);
    if (keys === undefined) {
      keys = new Set();
      this.#seen.set(ltime, keys);
      if (this.#seen.size > window) {
        for (const old of this.#seen.keys()) if (old < clock.time - window) this.#seen.delete(old);
      }
    }
    if (keys.has(key)) return false;
    keys.add(key);
    return true;
  }
}

/** serf compares name and payload: two members may fire the same name at the same Lamport time. */
export function userEventKey(message: Extract<Message, { type: "user-event" }>): string {
  return `${message.name}\u0000${message.payload.join(",")}`;
}

interface PendingQuery {
  readonly ref: QueryRef;
  readonly name: string;
  readonly deadlineMs: number;
  readonly responses: Map<string, Uint8Array>;
}

/** This member's open queries: responses by responder (first answer wins), closed at their deadline. */
export class PendingQueries {
  readonly #queries = new Map<string, PendingQuery>();

  open(ref: QueryRef, name: string, deadlineMs: number): void {
    this.#queries.set(`${ref.ltime}:${ref.id}`, { ref, name, deadlineMs, responses: new Map() });
  }

  /** Records a response; returns its query, or undefined for an unknown query or a repeated responder. */
  respond(message: Extract<Message, { type: "query-response" }>): QueryRef | undefined {
    const pending = this.#queries.get(`${message.ltime}:${message.id}`);
    if (pending === undefined || pending.responses.has(message.from)) return undefined;
    pending.responses.set(message.from, message.payload);
    return pending.ref;
  }

  /** Closes the queries due at `nowMs`, in the order they were opened. */
  expire(nowMs: number): CompletedQuery[] {
    const done: CompletedQuery[] = [];
    for (const [key, query] of this.#queries) {
      if (nowMs >= query.deadlineMs) {
        this.#queries.delete(key);
        done.push({ query: query.ref, name: query.name, responses: [...query.responses].map(([from, payload]) => ({ from, payload })) });
      }
    }
    return done;
  }

  /** The earliest deadline (Infinity when none is open). */
  nextDeadlineMs(): number {
    let next = Infinity;
    for (const query of this.#queries.values()) next = Math.min(next, query.deadlineMs);
    return next;
  }
}

/**
 * serf's prefix for the queries its members answer themselves (`_serf_ping`, `_serf_install-key`…):
 * a driver handles these internally and never hands them to user query handlers.
 */
export const INTERNAL_QUERY_PREFIX = "_serf_";

/** True for a query the members answer themselves (see INTERNAL_QUERY_PREFIX). */
export function isInternalQuery(name: string): boolean {
  return name.startsWith(INTERNAL_QUERY_PREFIX);
}
