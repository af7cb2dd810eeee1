// The messages Raft peers exchange, as one union discriminated by `type`. The driver delivers them
// as they are (the transport's encoding is its own business); every one names sender, receiver
// and the sender's term, which is how stale leaders and candidates find out (Raft §5.1).
import type { Entry, EntryType, Snapshot } from "./entry.ts";
import type { LogIndex, NodeId, Term } from "./ids.ts";

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's term; for "pre-vote" the term it would campaign at, for "pre-vote-resp" the term it answers for. */
  readonly term: Term;
}

/** AppendEntries (Raft §5.3): `entries` follow the entry at (`index`, `logTerm`); `commit` is the leader's commit index. */
export interface AppendMessage extends Envelope {
  readonly type: "app";
  readonly index: LogIndex;
  readonly logTerm: Term;
  readonly entries: readonly Entry[];
  readonly commit: LogIndex;
}

/**
 * The answer to "app" or "snap". Accepted: the follower's log matches the leader's up to `index`.
 * Rejected: no entry at (`index`, the probe's term); `rejectHint`/`logTerm` name the follower's
 * best guess of where the logs agree, so the leader skips whole terms (thesis §5.3, "fast backup").
 */
export interface AppendResponse extends Envelope {
  readonly type: "app-resp";
  readonly index: LogIndex;
  readonly reject: boolean;
  readonly rejectHint: LogIndex;
  readonly logTerm: Term;
}

/** RequestVote (Raft §5.2) or its PreVote rehearsal (thesis §9.6); (`index`, `logTerm`) is the candidate's last entry. */
export interface VoteRequest extends Envelope {
  readonly type: "vote" | "pre-vote";
  readonly index: LogIndex;
  readonly logTerm: Term;
  /** Set when the election was asked for by the leader (thesis §3.10); it overrides the leader lease. */
  readonly transfer: boolean;
}

/** A (pre-)vote, granted unless `reject`. */
export interface VoteResponse extends Envelope {
  readonly type: "vote-resp" | "pre-vote-resp";
  readonly reject: boolean;
}

/** A heartbeat: the commit index the receiver may advance to, and the newest pending ReadIndex context (thesis §6.4). */
export interface HeartbeatMessage extends Envelope {
  readonly type: "heartbeat";
  readonly commit: LogIndex;
  readonly context: string | null;
}

/** The answer to a heartbeat, echoing its context so the leader can count ReadIndex acknowledgements. */
export interface HeartbeatResponse extends Envelope {
  readonly type: "heartbeat-resp";
  readonly context: string | null;
}

/** InstallSnapshot (Raft §7), whole: chunking is the transport's job. */
export interface SnapshotMessage extends Envelope {
  readonly type: "snap";
  readonly snapshot: Snapshot;
}

/** The leader asks an up-to-date follower to start an election now (thesis §3.10). */
export interface TimeoutNowMessage extends Envelope {
  readonly type: "timeout-now";
}

/** A follower forwards a linearizable read to the leader (thesis §6.4). */
export interface ReadIndexRequest extends Envelope {
  readonly type: "read-index";
  readonly context: string;
}

/** The leader's answer to "read-index": the follower may serve the read once it has applied `index`. */
export interface ReadIndexResponse extends Envelope {
  readonly type: "read-index-resp";
  readonly index: LogIndex;
  readonly context: string;
}

/** A proposal a follower forwards to its leader; the leader assigns term and index. */
export interface ProposalMessage extends Envelope {
  readonly type: "prop";
  readonly entries: readonly { readonly type: EntryType; readonly data: Uint8Array }[];
}

/** A follower forwards a request to hand leadership to `transferee` (thesis §3.10). */
export interface TransferLeaderMessage extends Envelope {
  readonly type: "transfer-leader";
  readonly transferee: NodeId;
}

/** Every message between Raft peers. */
export type Message =
  | AppendMessage
  | AppendResponse
  | VoteRequest
  | VoteResponse
  | HeartbeatMessage
  | HeartbeatResponse
  | SnapshotMessage
  | TimeoutNowMessage
  | ReadIndexRequest
  | ReadIndexResponse
  | ProposalMessage
  | TransferLeaderMessage;

/** The `type` of every message. */
export type MessageType = Message["type"];

/**
 * Messages that acknowledge durable state (a vote, appended entries): the driver must have
 * persisted the `Ready` that produced them before sending them (thesis §3.8).
 */
export function isResponseToPersist(message: Message): boolean {
  return message.type === "app-resp" || message.type === "vote-resp" || message.type === "pre-vote-resp";
}
