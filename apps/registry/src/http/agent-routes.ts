// /v1/agent/*: this server as the local agent of its node. Registrations go to the catalog under the
// agent's node; its checks run in the CheckRunner (agent/), whose results reach the catalog as check-updates.
import { createHash } from "node:crypto";
import { NotTtlCheckError, UnknownCheckError } from "../agent/check-runner.ts";
import { type ApiContext, type ApiRequest, type ApiResponse, jsonResponse, leaderHeaders, prepareRead, textResponse } from "./api-context.ts";
import { checksOfNode, instancesOfNode } from "./catalog-view.ts";
import { parseAgentService, parseCheckDefinition, parseTtlUpdate } from "./consul-decode.ts";
import { type Json, encodeCheck, encodeService } from "./consul-encode.ts";
import { HttpError, badRequest } from "./http-error.ts";
import { JsonFields, parseJsonBody } from "./json-fields.ts";
import { answerForceLeave } from "./force-leave-route.ts";
import { maintenanceCheck, maintenanceCheckId, maintenanceReason } from "./maintenance-check.ts";
import { jitteredWaitMs, parseBlocking } from "./query-params.ts";

/** The Consul version this API answers as (clients gate features on it). */
export const consulCompatibleVersion = "1.17.0";

const ok = (): ApiResponse => ({ status: 200, headers: {}, body: "" });

function methodNotAllowed(request: ApiRequest, allow: string): ApiResponse {
  return textResponse(405, `method ${request.method} not allowed`, { allow });
}

export async function handleAgent(ctx: ApiContext, request: ApiRequest, rest: readonly string[]): Promise<ApiResponse> {
  const [group = "", verb = "", arg = ""] = rest;
  const node = ctx.agent.nodeName;
  if (group === "members") {
    // ?wan and ?segment are accepted and ignored: one LAN pool, no segments.
    if (request.method !== "GET") return methodNotAllowed(request, "GET");
    return jsonResponse(ctx.gossip !== undefined ? [...ctx.gossip.members()] : [fallbackMember(ctx)], leaderHeaders(ctx.server));
  }
  if (group === "self" || group === "services" || group === "checks") {
    if (request.method !== "GET") return methodNotAllowed(request, "GET");
    if (group === "self") return jsonResponse(agentSelf(ctx), leaderHeaders(ctx.server));
    const { state } = await prepareRead(ctx, request, (reads) => reads.catalogIndex());
    const instances = instancesOfNode(state, node);
    const out: Record<string, Json> = {};
    if (group === "services") {
      for (const instance of instances) out[instance.service.id] = encodeService(instance.service, ctx.datacenter);
    } else {
      for (const { check, service } of checksOfNode(state, node)) out[check.checkId] = encodeCheck(check, service);
    }
    return jsonResponse(out);
  }
  if (group === "service" && request.method === "GET" && verb !== "" && !putOnlyServiceVerbs.has(verb)) return agentService(ctx, request, verb);
  if (request.method !== "PUT") return methodNotAllowed(request, "PUT");
  if (group === "maintenance") return maintenance(ctx, request, undefined);
  if (group === "service") {
    if (verb === "maintenance") return maintenance(ctx, request, requireServiceId(arg, "PUT /v1/agent/service/maintenance/<id>?enable=true|false"));
    if (verb === "register") {
      const { service, checks } = parseAgentService(parseJsonBody(request.body, "the service definition"));
      await write(ctx, { op: "catalog-register", node, address: ctx.agent.address, nodeMeta: await currentNodeMeta(ctx), service, checks });
      for (const check of checks) ctx.checks.add(check);
      return ok();
    }
    if (verb === "deregister") {
      if (arg === "") throw badRequest("Missing service ID: PUT /v1/agent/service/deregister/<id>");
      await ctx.server.readBarrier("default");
      const instance = instancesOfNode(ctx.server.state, node).find((i) => i.service.id === arg);
      if (instance === undefined) return textResponse(404, `Unknown service ID "${arg}". Ensure that the service ID is passed, not the service name.`);
      for (const check of instance.checks) if (check.serviceId === arg) ctx.checks.remove(check.checkId);
      await write(ctx, { op: "catalog-deregister", node, serviceId: arg });
      return ok();
    }
  }
  if (group === "check") {
    switch (verb) {
      case "register": {
        const fields = new JsonFields(parseJsonBody(request.body, "the check definition"), "check");
        const check = parseCheckDefinition(fields, { defaultId: fields.string("Name") ?? "", defaultName: "", serviceId: undefined, allowPassive: false });
        if (check.serviceId !== undefined) {
          await ctx.server.readBarrier("default");
          if (!instancesOfNode(ctx.server.state, node).some((i) => i.service.id === check.serviceId)) {
            throw badRequest(`ServiceID "${check.serviceId}" does not exist on node "${node}": register the service first`);
          }
        }
        await write(ctx, { op: "catalog-register", node, address: ctx.agent.address, nodeMeta: await currentNodeMeta(ctx), checks: [check] });
        ctx.checks.add(check);
        return ok();
      }
      case "deregister": {
        if (arg === "") throw badRequest("Missing check ID: PUT /v1/agent/check/deregister/<id>");
        ctx.checks.remove(arg);
        await write(ctx, { op: "catalog-deregister", node, checkId: arg });
        return ok();
      }
      case "pass":
      case "warn":
      case "fail":
      case "update": {
        if (arg === "") throw badRequest(`Missing check ID: PUT /v1/agent/check/${verb}/<id>`);
        const update = parseTtlUpdate(verb, request.body, request.query.get("note"));
        try {
          await ctx.checks.updateTtl(arg, update.status, update.output);
        } catch (error) {
          if (error instanceof UnknownCheckError) return textResponse(404, error.message);
          if (error instanceof NotTtlCheckError) throw badRequest(error.message);
          throw error;
        }
        return ok();
      }
      default:
        break;
    }
  }
  if (group === "force-leave") return answerForceLeave(ctx.gossip?.forceLeave?.bind(ctx.gossip), [verb, arg].filter((part) => part !== "").join("/"), request.query);
  if (group === "join") {
    // Consul's join adds a server through Serf; here it adds a Raft member: /v1/agent/join/<raft address>?id=<node id>.
    const address = [verb, arg].filter((part) => part !== "").join("/");
    const id = request.query.get("id") ?? "";
    if (address === "" || id === "") throw badRequest("Join needs the server's Raft address in the path and ?id=<node id>: PUT /v1/agent/join/<host:port>?id=<node id>");
    await ctx.server.addServer(id, address);
    return ok();
  }
  return textResponse(404, `Unknown agent endpoint /v1/agent/${rest.join("/")}`);
}

/** `/v1/agent/service/<verb>` paths that are not a service ID. */
const putOnlyServiceVerbs = new Set(["register", "deregister", "maintenance"]);

function requireServiceId(id: string, usage: string): string {
  if (id === "") throw badRequest(`Missing service ID: ${usage}`);
  return id;
}

/**
 * `GET /v1/agent/service/<id>`: one service of this agent with its ContentHash (also the
 * X-Consul-ContentHash header). With `?hash=` it blocks while the service still hashes to that, up
 * to `?wait` (Consul's hash-based blocking query); 404 for a service this agent does not have.
 */
async function agentService(ctx: ApiContext, request: ApiRequest, id: string): Promise<ApiResponse> {
  const node = ctx.agent.nodeName;
  const knownHash = request.query.get("hash") ?? "";
  const deadline = Date.now() + jitteredWaitMs(parseBlocking(request.query).waitMs, ctx.random);
  for (;;) {
    const { state, headers } = await prepareRead(ctx, stripBlocking(request), (reads) => reads.catalogIndex());
    const instance = instancesOfNode(state, node).find((i) => i.service.id === id);
    if (instance === undefined) return textResponse(404, `unknown service ID: ${id}`);
    const encoded = encodeService(instance.service, ctx.datacenter);
    const hash = contentHash(encoded);
    const remainingMs = deadline - Date.now();
    if (knownHash === "" || hash !== knownHash || remainingMs <= 0 || request.signal.aborted) {
      return jsonResponse({ ...(encoded as Record<string, Json>), ContentHash: hash }, { ...headers, "x-consul-contenthash": hash });
    }
    await ctx.server.waitForChange((reads) => reads.catalogIndex(), state.catalogIndex(), remainingMs, request.signal);
  }
}

/** The request without `?index` / `?wait`: a hash-blocking read waits on the hash, not the index. */
function stripBlocking(request: ApiRequest): ApiRequest {
  const query = new URLSearchParams(request.query);
  query.delete("index");
  query.delete("wait");
  query.delete("hash");
  return { ...request, query };
}

/** Consul's ContentHash: a short digest of what the endpoint returns, for `?hash=` blocking. */
function contentHash(value: Json): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

/**
 * `PUT /v1/agent/maintenance` (node) and `/v1/agent/service/maintenance/<id>`: `?enable=true`
 * registers Consul's critical maintenance check (`_node_maintenance` / `_service_maintenance:<id>`,
 * notes from `?reason`), which takes the node's or the service's instances out of healthy answers
 * (`?passing`, DNS); `?enable=false` removes it.
 */
async function maintenance(ctx: ApiContext, request: ApiRequest, serviceId: string | undefined): Promise<ApiResponse> {
  const usage = serviceId === undefined ? "PUT /v1/agent/maintenance?enable=true|false" : "PUT /v1/agent/service/maintenance/<id>?enable=true|false";
  const reason = maintenanceReason(request.query, usage);
  const node = ctx.agent.nodeName;
  if (serviceId !== undefined) {
    await ctx.server.readBarrier("default");
    if (!instancesOfNode(ctx.server.state, node).some((i) => i.service.id === serviceId)) return textResponse(404, `Unknown service ID "${serviceId}". Ensure that the service ID is passed, not the service name.`);
  }
  if (reason === undefined) {
    await write(ctx, { op: "catalog-deregister", node, checkId: maintenanceCheckId(serviceId) });
    return ok();
  }
  await write(ctx, { op: "catalog-register", node, address: ctx.agent.address, nodeMeta: await currentNodeMeta(ctx), checks: [maintenanceCheck(serviceId, reason)] });
  return ok();
}

/** The agent's node meta as the catalog has it, so a registration through the agent keeps it. */
async function currentNodeMeta(ctx: ApiContext): Promise<Readonly<Record<string, string>>> {
  await ctx.server.readBarrier("default");
  return ctx.server.state.nodes().find((n) => n.node === ctx.agent.nodeName)?.meta ?? {};
}

async function write(ctx: ApiContext, command: Parameters<ApiContext["server"]["write"]>[0]): Promise<void> {
  const result = await ctx.server.write(command);
  if (!result.ok) throw new HttpError(500, result.errors?.[0]?.what ?? `${command.op} refused by the registry`);
}

function agentSelf(ctx: ApiContext): Json {
  return {
    Config: {
      Datacenter: ctx.datacenter,
      NodeName: ctx.agent.nodeName,
      NodeID: ctx.server.nodeId,
      Server: true,
      Revision: "meshwork",
      Version: consulCompatibleVersion,
    },
    Member: ctx.gossip?.self() ?? fallbackMember(ctx),
    Meta: {},
    Stats: { raft: { applied_index: String(ctx.server.state.appliedIndex), state: ctx.server.isLeader ? "Leader" : "Follower" } },
  };
}

/** This server as a member when gossip is off: alive, no gossip port. */
function fallbackMember(ctx: ApiContext): Json {
  const protocol = { ProtocolMin: 0, ProtocolMax: 0, ProtocolCur: 0, DelegateMin: 0, DelegateMax: 0, DelegateCur: 0 };
  return { Name: ctx.agent.nodeName, Addr: ctx.agent.address, Port: 0, Tags: { dc: ctx.datacenter, role: "consul", id: ctx.server.nodeId }, Status: 1, ...protocol };
}
