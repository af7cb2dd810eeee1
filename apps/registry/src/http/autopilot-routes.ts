// /v1/operator/autopilot/configuration (GET, PUT) and /v1/operator/autopilot/health (GET), in
// Consul's JSON shapes. Autopilot runs on the leader, so a follower forwards these to it over HTTP
// (Consul forwards them by RPC); the configuration lives in the leader's memory, not in Raft.
import { encodeAutopilotConfig, formatDuration, parseAutopilotConfig } from "../gossip/autopilot-config.ts";
import { type ApiContext, type ApiRequest, type ApiResponse, jsonResponse, textResponse } from "./api-context.ts";
import { HttpError, badRequest } from "./http-error.ts";
import { parseJsonBody } from "./json-fields.ts";

/** Marks a request a follower forwarded, so that two servers that both think the other leads do not loop. */
const forwardedParam = "forwarded-by-follower";

export async function handleAutopilot(ctx: ApiContext, request: ApiRequest, verb: string): Promise<ApiResponse> {
  const autopilot = ctx.autopilot;
  if (autopilot === undefined) {
    throw new HttpError(404, "autopilot needs gossip: start the servers with --gossip-port (0 picks one) and --retry-join, as Consul's autopilot works from serf membership");
  }
  if (verb !== "configuration" && verb !== "health") return textResponse(404, `Unknown operator endpoint /v1/operator/autopilot/${verb}: use configuration or health`);
  const allowed = verb === "configuration" ? ["GET", "PUT"] : ["GET"];
  if (!allowed.includes(request.method)) return textResponse(405, `method ${request.method} not allowed`, { allow: allowed.join(", ") });
  if (!ctx.server.isLeader && !(verb === "configuration" && request.method === "GET" && request.query.has("stale"))) return forwardToLeader(ctx, request);

  if (verb === "health") {
    const plan = autopilot.plan();
    if (plan === undefined) throw new HttpError(500, "No cluster leader: retry once a leader is elected");
    const Servers = plan.health.map((server) => ({
      ID: server.id,
      Name: server.name,
      Address: server.raftAddress,
      SerfStatus: server.serfStatus,
      Version: "",
      Leader: server.leader,
      LastContact: server.lastContactMs === undefined ? "" : formatDuration(server.lastContactMs),
      LastTerm: server.lastTerm,
      LastIndex: server.lastIndex,
      Healthy: server.healthy,
      Voter: server.voter,
      StableSince: new Date(server.stableSinceMs).toISOString(),
    }));
    const healthy = plan.health.every((server) => server.healthy);
    // Consul answers 429 when the cluster is unhealthy, so a load balancer check can use it.
    return jsonResponse({ Healthy: healthy, FailureTolerance: plan.failureTolerance, Servers }, {}, healthy ? 200 : 429);
  }
  if (request.method === "GET") return jsonResponse(encodeAutopilotConfig(autopilot.config, autopilot.configIndex));
  const next = parseAutopilotConfig(parseJsonBody(request.body, "the autopilot configuration"), autopilot.config);
  const casText = request.query.get("cas");
  let cas: number | undefined;
  if (casText !== null) {
    cas = Number(casText);
    if (!Number.isInteger(cas) || cas < 0) throw badRequest(`?cas=${casText}: use the ModifyIndex from GET /v1/operator/autopilot/configuration`);
  }
  return jsonResponse(autopilot.setConfig(next, cas));
}

async function forwardToLeader(ctx: ApiContext, request: ApiRequest): Promise<ApiResponse> {
  const leader = ctx.server.leaderAddress;
  if (leader === "" || request.query.has(forwardedParam)) throw new HttpError(500, "No cluster leader: autopilot runs on the leader; retry once one is elected");
  const query = new URLSearchParams(request.query);
  query.set(forwardedParam, "1");
  const response = await fetch(`http://${leader}/v1/${request.path}?${query.toString()}`, {
    method: request.method,
    ...(request.method === "PUT" ? { body: Buffer.from(request.body) } : {}),
    signal: AbortSignal.timeout(5_000),
  }).catch((error: unknown) => {
    throw new HttpError(500, `forwarding to the leader at ${leader} failed: ${error instanceof Error ? error.message : String(error)}`);
  });
  return { status: response.status, headers: { "content-type": response.headers.get("content-type") ?? "application/json" }, body: await response.text() };
}
