// Membership changes one server at a time (Raft thesis §4.1): the change types, their encoding
// as the data of a "conf-change" entry, and the pure function that applies one to a membership.
import { emptyConfState } from "./entry.ts";
import type { ConfState } from "./entry.ts";
import type { NodeId } from "./ids.ts";
import { decodeUtf8 } from "./utf8.ts";

/**
 * `add-voter` adds a node as voter or promotes a learner; `add-learner` adds a learner or demotes
 * a voter; `remove-node` removes a voter or learner. Each changes the voter set by at most one
 * node, which keeps every old and new majority overlapping (thesis §4.1).
 */
export type ConfChangeType = "add-voter" | "add-learner" | "remove-node";

/** One membership change. `context` is opaque to Raft (the registry puts the peer's address there). */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  readonly context?: string;
}

/** Why a membership change is refused when proposed. */
export type ConfChangeRejection = "removes-last-voter";

/** Encodes a change as entry data (JSON in UTF-8; the format is internal to this package). */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const record: Record<string, string> = { type: change.type, nodeId: change.nodeId };
  if (change.context !== undefined) record["context"] = change.context;
  return new TextEncoder().encode(JSON.stringify(record));
}

/** Decodes the data of a "conf-change" entry; throws if it was not written by `encodeConfChange`. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const text = decodeUtf8(data);
  const record: unknown = text === undefined ? undefined : JSON.parse(text);
  if (typeof record !== "object" || record === null) throw new Error("conf-change entry data is not a conf change");
  const { type, nodeId, context } = record as Record<string, unknown>;
  if ((type !== "add-voter" && type !== "add-learner" && type !== "remove-node") || typeof nodeId !== "string" || nodeId === "") {
    throw new Error(`conf-change entry data is not a conf change: ${text ?? ""}`);
  }
  return {
    type,
    nodeId: nodeId as NodeId,
    ...(typeof context === "string" ? { context } : {}),
  };
}

/** Checks a change against the membership it would apply to; `null` when it may be proposed. */
export function checkConfChange(current: ConfState, change: ConfChange): ConfChangeRejection | null {
  const next = applyConfChange(current, change);
  return next.voters.length === 0 ? "removes-last-voter" : null;
}

/**
 * Applies one change to a membership and returns the new one (ids sorted). Applying a change
 * that is already in effect returns an equal membership, so replays are harmless.
 */
export function applyConfChange(current: ConfState, change: ConfChange): ConfState {
  const voters = new Set(current.voters);
  const learners = new Set(current.learners);
  const id = change.nodeId;
  switch (change.type) {
    case "add-voter":
      learners.delete(id);
      voters.add(id);
      break;
    case "add-learner":
      voters.delete(id);
      learners.add(id);
      break;
    case "remove-node":
      voters.delete(id);
      learners.delete(id);
      break;
  }
  return { voters: [...voters].sort(), learners: [...learners].sort() };
}

/** Whether `id` is a voter or learner of `state`. */
export function isMember(state: ConfState, id: NodeId): boolean {
  return state.voters.includes(id) || state.learners.includes(id);
}

/** A copy of `state` with sorted ids, the canonical form compared in tests and snapshots. */
export function normalizeConfState(state: ConfState = emptyConfState): ConfState {
  return { voters: [...state.voters].sort(), learners: [...state.learners].sort() };
}
