// What every route of the Consul API shares: the request as parsed at the edge, the response it
// answers with, and the read path (consistency barrier, blocking wait, X-Consul-* headers).
import type { ForceLeaveOutcome, KeyOperation, KeyOperationResult } from "@meshwork/gossip";
import type { ServerReconciler } from "../gossip/server-reconciler.ts";
import type { RegistryReads, RegistryServer } from "../registry-contract.ts";
import type { CheckRunner } from "../agent/check-runner.ts";
import type { UserEvents } from "../events/user-events.ts";
import type { Json } from "./consul-encode.ts";
import { jitteredWaitMs, parseBlocking, parseConsistency } from "./query-params.ts";

export interface ApiRequest {
  readonly method: string;
  /** Path after `/v1/`, still percent-encoded (`kv/a%2Fb`). */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: Uint8Array;
  /** Aborts when the client goes away (ends a blocking wait early). */
  readonly signal: AbortSignal;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array;
}

/** This server as the local agent of its node (a Consul server's own agent). */
export interface AgentIdentity {
  /** Node name in the catalog (Consul's node_name); defaults to the server's nodeId. */
  readonly nodeName: string;
  /** The node's address in the catalog; defaults to the HTTP host. */
  readonly address: string;
}

/** This server's gossip member (`/v1/agent/members`, the Member of `/v1/agent/self`), answers already in Consul's JSON shape. */
export interface AgentGossip {
  /** Every member this node knows (Consul's api.AgentMember objects). */
  members(): readonly Json[];
  /** This node's own member. */
  self(): Json | undefined;
  /** Forces a failed member out of the pool (PUT /v1/agent/force-leave/:node[?prune]); absent: not offered here. */
  forceLeave?(name: string, prune: boolean): ForceLeaveOutcome;
  /** A keyring operation over the pool (/v1/operator/keyring, keyring-routes.ts); absent: not offered here. */
  keyringOperation?(operation: KeyOperation, key: Uint8Array | undefined): Promise<KeyOperationResult>;
}

/** Autopilot's configuration and server health, as the leader's ServerReconciler keeps them. */
export type Autopilot = Pick<ServerReconciler, "config" | "configIndex" | "setConfig" | "plan">;

/** This agent's user events (/v1/event/*). */
export type AgentEvents = Pick<UserEvents, "fire" | "list" | "waitForEvent">;

export interface ApiContext {
  readonly server: RegistryServer;
  readonly agent: AgentIdentity;
  readonly events: AgentEvents;
  /** Absent when gossip is disabled: /v1/agent/members lists only this server. */
  readonly gossip?: AgentGossip;
  /** The leader's Raft membership reconcile (/v1/operator/autopilot/*); absent when gossip is off. */
  readonly autopilot?: Autopilot;
  readonly checks: CheckRunner;
  readonly datacenter: string;
  /** Randomness for the blocking-query jitter and the shuffle of prepared query results. */
  readonly random: () => number;
  /** A new random UUID: ids of sessions, prepared queries and user events. */
  readonly newId: () => string;
}

export function jsonResponse(value: Json, headers: Readonly<Record<string, string>> = {}, status = 200): ApiResponse {
  return { status, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(value) };
}

export function textResponse(status: number, text: string, headers: Readonly<Record<string, string>> = {}): ApiResponse {
  return { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers }, body: text };
}

/** X-Consul-KnownLeader / X-Consul-LastContact of every read. */
export function leaderHeaders(server: RegistryServer): Record<string, string> {
  const knownLeader = server.isLeader || server.leaderAddress !== "";
  return { "x-consul-knownleader": String(knownLeader), "x-consul-lastcontact": "0" };
}

/**
 * A Consul read: waits (blocking query) until `indexOf(state)` passes `?index` or `?wait` runs out,
 * then passes the consistency barrier and returns the index (never 0: Consul answers at least 1 so
 * a client's next blocking query blocks) with the headers to send. `blocking: false` is for
 * endpoints Consul does not block on (prepared query execute / explain): `?index` is ignored.
 */
export async function prepareRead(
  ctx: ApiContext,
  request: ApiRequest,
  indexOf: (state: RegistryReads) => number,
  { blocking = true }: { readonly blocking?: boolean } = {},
): Promise<{ state: RegistryReads; headers: Record<string, string> }> {
  const consistency = parseConsistency(request.query);
  const { minIndex, waitMs } = blocking ? parseBlocking(request.query) : { minIndex: 0, waitMs: 0 };
  if (minIndex > 0) {
    // The barrier first: a follower without a leader must say so instead of blocking (and a
    // default/consistent read waits on a state that is at least as new as the leader's).
    await ctx.server.readBarrier(consistency);
    if (indexOf(ctx.server.state) <= minIndex) {
      await ctx.server.waitForChange(indexOf, minIndex, jitteredWaitMs(waitMs, ctx.random), request.signal);
    }
  }
  await ctx.server.readBarrier(consistency);
  const state = ctx.server.state;
  const index = Math.max(1, indexOf(state));
  return {
    state,
    headers: {
      "x-consul-index": String(index),
      ...leaderHeaders(ctx.server),
      "x-consul-effective-consistency": consistency === "default" ? "leader" : consistency,
    },
  };
}
