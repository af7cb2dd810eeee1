// Push/pull anti-entropy (memberlist pushPull / mergeRemoteState) apart from the core's state: the
// order-independent digest of a view, the push-pull message, and how a remote view is merged
// (a remote "dead" only makes this member suspect, it checks for itself). Used by `memberlist.ts`.
import type { MemberRecord, MemberState, Message } from "./message.ts";

type PushPull = Extract<Message, { type: "push-pull" }>;

/**
 * An order-independent digest of a view: the XOR of a 53-bit FNV-1a-style hash of each member's
 * (name, incarnation, state). Equal digests mean (with high probability) equal views.
 */
export function viewDigest(members: Iterable<{ readonly name: string; readonly incarnation: number; readonly state: MemberState }>): number {
  let high = 0;
  let low = 0;
  for (const m of members) {
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193 ^ 0x5bd1e995;
    const key = `${m.name}\u0000${m.incarnation}\u0000${m.state}`;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
    high ^= h1 >>> 11;
    low ^= h2;
  }
  return (high >>> 0) * 0x1_0000_0000 + (low >>> 0);
}

export interface PushPullKind {
  readonly isJoin?: boolean;
  readonly isResponse?: boolean;
  /** Send only the digest (the periodic exchange's first step). */
  readonly digestOnly?: boolean;
  /** Ask the peer for its full state (our digest differed from its). */
  readonly wantsState?: boolean;
}

/** A push-pull message carrying `members` (dropped when digest-only) and the event and query clocks. */
export function pushPullMessage(kind: PushPullKind, members: readonly MemberRecord[], digest: number, eventLtime: number, queryLtime: number): PushPull {
  const digestOnly = kind.digestOnly ?? false;
  return {
    type: "push-pull",
    isJoin: kind.isJoin ?? false,
    isResponse: kind.isResponse ?? false,
    digestOnly,
    wantsState: kind.wantsState ?? false,
    digest,
    members: digestOnly ? [] : members,
    eventLtime,
    queryLtime,
  };
}

/** The core's handlers a remote view is merged through. */
export interface MergeHandlers {
  known(name: string): boolean;
  alive(record: MemberRecord): void;
  suspect(message: Extract<Message, { type: "suspect" }>): void;
  dead(message: Extract<Message, { type: "dead" }>): void;
}

/** memberlist mergeRemoteState: alive as alive, left as a leave, dead or suspect only as a suspicion by `self`. */
export function mergeRemoteState(message: PushPull, self: string, handlers: MergeHandlers): void {
  for (const record of message.members) {
    switch (record.state) {
      case "alive":
        handlers.alive(record);
        break;
      case "left":
        handlers.dead({ type: "dead", incarnation: record.incarnation, node: record.name, from: record.name, ltime: record.ltime });
        break;
      case "dead":
      case "suspect":
        if (!handlers.known(record.name)) handlers.alive({ ...record, state: "alive" });
        handlers.suspect({ type: "suspect", incarnation: record.incarnation, node: record.name, from: self });
        break;
    }
  }
}
