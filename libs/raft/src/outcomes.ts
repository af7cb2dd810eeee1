// What the core answers to local requests (proposals, reads, transfers): expected outcomes as
// values, never exceptions (STYLE: errors).
import type { LogIndex, NodeId, Term } from "./ids.ts";

/** A released linearizable read: serve the read for `context` once `index` is applied (thesis §6.4). */
export interface ReadState {
  readonly index: LogIndex;
  readonly context: string;
}


/** Why a proposal was not accepted. Proposals are never retried by the core. */
export type ProposeRejection =
  | "not-leader"
  | "proposal-dropped"
  | "transfer-in-progress"
  | "uncommitted-too-large"
  | "conf-change-pending"
  | "removes-last-voter";


/** The outcome of a proposal: appended to the leader's log, forwarded to the leader, or refused. */
export type ProposeResult =
  | { readonly ok: true; readonly via: "appended"; readonly term: Term; readonly index: LogIndex }
  | { readonly ok: true; readonly via: "forwarded"; readonly leader: NodeId }
  | { readonly ok: false; readonly reason: ProposeRejection; readonly leaderHint?: NodeId };


/** The outcome of a ReadIndex request; accepted requests come back as a `ReadState`. */
export type ReadIndexResult = { readonly ok: true } | { readonly ok: false; readonly reason: "not-leader" };


/** Why a leadership transfer was refused. */
export type TransferRejection = "not-leader" | "not-a-voter" | "already-leader";


/** The outcome of a leadership transfer request (thesis §3.10). */
export type TransferResult = { readonly ok: true } | { readonly ok: false; readonly reason: TransferRejection };

