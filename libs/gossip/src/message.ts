// The gossip protocol's messages as domain types; `codec.ts` turns them into bytes and back.
// Names follow hashicorp/memberlist (ping, indirect-ping, ack, nack, suspect, alive, dead,
// push-pull) and hashicorp/serf (user-event, query, query-response).

/** A member's liveness as this node believes it (SWIM §4.2, plus memberlist's "left"). */
export type MemberState = "alive" | "suspect" | "dead" | "left";

/** Member state carried in alive messages and push/pull exchanges. */
export interface MemberRecord {
  readonly name: string;
  /** Where the member's gossip listener is, "host:port" (UDP and TCP on the same port). */
  readonly address: string;
  readonly incarnation: number;
  readonly state: MemberState;
  /** Small key/value metadata (role, datacenter, ports), serf's tags. */
  readonly tags: Readonly<Record<string, string>>;
  /** The member's Lamport time when it announced this incarnation (serf's member clock). */
  readonly ltime: number;
}

export type Message =
  /** Direct probe. `target` lets a restarted node with the same address reject a stale probe. */
  | { readonly type: "ping"; readonly seq: number; readonly target: string; readonly source: string }
  /** Ask the receiver to probe `target` and relay the ack (SWIM ping-req); `nack` asks for a nack on timeout (Lifeguard). */
  | {
      readonly type: "indirect-ping";
      readonly seq: number;
      readonly target: string;
      readonly targetAddress: string;
      readonly source: string;
      readonly sourceAddress: string;
    }
  | { readonly type: "ack"; readonly seq: number }
  | { readonly type: "nack"; readonly seq: number }
  | { readonly type: "alive"; readonly member: MemberRecord }
  | { readonly type: "suspect"; readonly incarnation: number; readonly node: string; readonly from: string }
  /** `from === node` means the member left gracefully. */
  | { readonly type: "dead"; readonly incarnation: number; readonly node: string; readonly from: string; readonly ltime: number }
  /**
   * State exchange over a stream; the receiver answers a request with its own state. A
   * `digestOnly` request carries no members, only `digest`: a receiver whose digest matches
   * answers `digestOnly` too (views agree, nothing to send); otherwise it answers with its full
   * state and `wantsState`, and the initiator follows up with a full request.
   */
  | {
      readonly type: "push-pull";
      readonly isJoin: boolean;
      readonly isResponse: boolean;
      readonly digestOnly: boolean;
      readonly wantsState: boolean;
      /** Order-independent 53-bit hash of every (name, incarnation, state) this member knows. */
      readonly digest: number;
      readonly members: readonly MemberRecord[];
      readonly eventLtime: number;
      readonly queryLtime: number;
    }
  | { readonly type: "user-event"; readonly ltime: number; readonly name: string; readonly payload: Uint8Array }
  | {
      readonly type: "query";
      readonly ltime: number;
      readonly id: number;
      readonly name: string;
      readonly payload: Uint8Array;
      readonly origin: string;
      readonly originAddress: string;
      readonly timeoutMs: number;
    }
  | { readonly type: "query-response"; readonly ltime: number; readonly id: number; readonly from: string; readonly payload: Uint8Array }
  /**
   * serf's leave intent sent on behalf of a failed member (force-leave): receivers that see `node`
   * failed or suspect at `incarnation` or later mark it left; `prune` also forgets it. A member that
   * is alive to a receiver is left as it is, and the member itself refutes.
   */
  | { readonly type: "leave-intent"; readonly node: string; readonly incarnation: number; readonly ltime: number; readonly prune: boolean; readonly from: string };

export type MessageType = Message["type"];
