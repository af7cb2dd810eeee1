// The local HTTP API of `meshwork-registry agent` (--http-port; Consul's client agent on 8500). As a
// Consul client agent it answers every /v1 endpoint: the agent's own ones here — self, members,
// services and checks, service and check register/deregister, TTL pass/warn/fail/update, service
// and node maintenance, local service health, join/leave, user events when it gossips, and the
// gossip metrics in Prometheus text (/metrics, /v1/agent/metrics?format=prometheus) — and
// everything else (/v1/kv, /v1/catalog, /v1/health, /v1/session, /v1/txn, /v1/query, /v1/status...)
// by forwarding it to a registry server (forward-to-server.ts), so consul-template, envconsul, the
// `consul` CLI and Consul SDKs can point at the local agent.
//
// Request lifecycle: parse the target → read the body (with the servers' own size limits) → answer
// locally (routeLocal) or forward → write the answer. Errors become answers in one place (writeError).
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { PROTOCOL_VERSION } from "@meshwork/gossip";
import type { GossipEvent, Memberlist } from "@meshwork/gossip";
import type { Logger } from "@meshwork/telemetry";
import { Registry } from "prom-client";
import { GossipMetrics } from "../admin/gossip-metrics.ts";
import { NotTtlCheckError, UnknownCheckError } from "../agent/check-runner.ts";
import type { UserEvents } from "../events/user-events.ts";
import { consulCompatibleVersion } from "../http/agent-routes.ts";
import { type ApiResponse, jsonResponse, textResponse } from "../http/api-context.ts";
import { splitPath } from "../http/consul-api.ts";
import { parseAgentService, parseCheckDefinition, parseTtlUpdate } from "../http/consul-decode.ts";
import { type Json, encodeCheck, encodeService } from "../http/consul-encode.ts";
import { HttpError, badRequest } from "../http/http-error.ts";
import { maintenanceReason } from "../http/maintenance-check.ts";
import { jitteredWaitMs, parseWaitMs } from "../http/query-params.ts";
import { BodyTooLargeError, readBody } from "../http/read-body.ts";
import { JsonFields, parseJsonBody } from "../http/json-fields.ts";
import { maxSnapshotBodyBytes, snapshotTooLargeMessage } from "../http/snapshot-routes.ts";
import { defaultMaxBodyBytes, parseTarget } from "../http/start-http-api.ts";
import { type AgentMemberJson, encodeMember, encodeMembers } from "../gossip/encode-members.ts";
import { answerForceLeave } from "../http/force-leave-route.ts";
import { fireAgentEvent, listAgentEvents } from "./agent-events.ts";
import { serviceHealthById, serviceHealthByName } from "./agent-health.ts";
import { forwardToServer } from "./forward-to-server.ts";
import type { RegistryAgent } from "./registry-agent.ts";
import { type RegistryClient, RegistryRefusedError, RegistryUnavailableError } from "./registry-client.ts";

export interface AgentHttpApiOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly node: string;
  /** The node's address (the member's address when gossip is off). */
  readonly address: string;
  readonly datacenter: string;
  readonly agent: Pick<RegistryAgent, "register" | "deregister" | "services" | "checks" | "hasService" | "onServicesChanged" | "registerCheck" | "deregisterCheck" | "updateTtl" | "setMaintenance">;
  /** The servers: what this agent does not answer itself goes to the client's current server. */
  readonly client: Pick<RegistryClient, "server" | "serverUrls" | "skip">;
  /** The gossip member, once started (undefined when gossip is off). */
  readonly gossip: () => Memberlist | undefined;
  /** Joins the gossip pool through a member at "host:port" (only called while `gossip()` is defined). */
  readonly join: (address: string) => void;
  /** This agent's user events while it gossips (undefined: /v1/event/* goes to a server). */
  readonly events: () => UserEvents | undefined;
  /** True between this agent's leave and its exit (serf's "leaving"). */
  readonly leaving: () => boolean;
  /** Starts this process's graceful stop (PUT /v1/agent/leave); undefined when the agent is embedded and cannot stop itself. */
  readonly requestStop: (() => void) | undefined;
  readonly logger: Logger;
}

export interface AgentHttpApi {
  readonly port: number;
  /** Counts membership events into consul_serf_member_* (feed it every gossip event). */
  observeGossipEvent(event: GossipEvent): void;
  close(): Promise<void>;
}

const versions = { protocol: PROTOCOL_VERSION, delegate: PROTOCOL_VERSION };

/** What a local route needs of the request. */
interface LocalRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: Uint8Array;
  readonly accept: string;
  readonly signal: AbortSignal;
}

/** A local answer, or "forward": a server answers this one. */
type Routed = ApiResponse | "forward";

const ok = (): ApiResponse => ({ status: 200, headers: {}, body: "" });

/** A JSON answer of a value typed by its own interface (gossip members), not as Json. */
const anyJson = (value: unknown): ApiResponse => ({ status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(value) });

/** The `/v1/agent/service/<verb>` paths that are not a service ID. */
const serviceVerbs = new Set(["register", "deregister", "maintenance"]);

/** `host:port` of a gossip member (what --retry-join takes). */
const gossipAddress = /^(\[[^\]]+\]|[^\s:/]+):\d{1,5}$/;

/** Starts the agent's HTTP API; rejects when the port cannot be bound. */
export async function startAgentHttpApi(options: AgentHttpApiOptions): Promise<AgentHttpApi> {
  const registry = new Registry();
  const gossipMetrics = new GossipMetrics(registry);
  let attached = false;
  const attachGossip = (): void => {
    const core = options.gossip();
    if (attached || core === undefined) return;
    gossipMetrics.attach(core);
    attached = true;
  };

  const self = (): AgentMemberJson => {
    const core = options.gossip();
    const member = core?.member(options.node);
    if (member !== undefined) return encodeMember(member, versions, options.leaving() && member.state === "left");
    // Gossip off: this agent alone, alive, no gossip port.
    return { Name: options.node, Addr: options.address, Port: 0, Tags: { role: "node", dc: options.datacenter, id: options.node }, Status: 1, ProtocolMin: 0, ProtocolMax: 0, ProtocolCur: 0, DelegateMin: 0, DelegateMax: 0, DelegateCur: 0 };
  };

  const noGossip = (what: string): HttpError =>
    badRequest(`${what} needs this agent in a gossip pool, and it does not gossip: start it with --gossip-port (0 picks one) and --retry-join a server's gossip address`);

  const routeAgent = async (request: LocalRequest, group: string, verb: string, arg: string): Promise<ApiResponse> => {
    const { method, query } = request;
    const { agent } = options;
    const allow = (methods: string): void => {
      if (!methods.split(",").includes(method)) throw new HttpError(405, `method ${method} not allowed: ${methods} /v1/agent/${[group, verb].filter((p) => p !== "").join("/")}`);
    };
    switch (group) {
      case "self":
        allow("GET");
        return anyJson({
          Config: { Datacenter: options.datacenter, NodeName: options.node, NodeID: options.node, Server: false, Revision: "meshwork", Version: consulCompatibleVersion },
          Member: self(),
          Meta: {},
          Stats: { agent: { services: String(agent.services().length), checks: String(agent.checks().length) } },
        });
      case "members": {
        allow("GET");
        const core = options.gossip();
        return anyJson(core === undefined ? [self()] : encodeMembers(core.members(), versions, options.node, options.leaving()));
      }
      case "services": {
        allow("GET");
        const out: Record<string, Json> = {};
        for (const { service } of agent.services()) out[service.id] = encodeService(service, options.datacenter);
        return jsonResponse(out);
      }
      case "checks": {
        allow("GET");
        const out: Record<string, Json> = {};
        for (const { check, service } of agent.checks()) out[check.checkId] = encodeCheck({ ...check, node: options.node }, service);
        return jsonResponse(out);
      }
      case "service":
        return routeService(request, verb, arg);
      case "check":
        return routeCheck(request, verb, arg);
      case "maintenance":
        allow("PUT");
        await agent.setMaintenance(undefined, maintenanceReason(query, "PUT /v1/agent/maintenance?enable=true|false&reason=..."));
        return ok();
      case "health": {
        allow("GET");
        // /v1/agent/health/service/id/<id> and /v1/agent/health/service/name/<name>
        const [kind = "", ...rest] = arg.split("/");
        const key = rest.join("/");
        if (verb !== "service" || (kind !== "id" && kind !== "name")) throw new HttpError(404, `Unknown agent endpoint /v1/agent/health/${verb}: use GET /v1/agent/health/service/id/<id> or /v1/agent/health/service/name/<name>`);
        if (key === "") throw badRequest(kind === "id" ? "Missing serviceID" : "Missing service Name");
        const input = {
          node: options.node,
          datacenter: options.datacenter,
          services: agent.services().map((entry) => entry.service),
          checks: agent.checks(),
          text: request.accept.startsWith("text/plain") || query.get("format") === "text",
        };
        return kind === "id" ? serviceHealthById(input, key) : serviceHealthByName(input, key);
      }
      case "join": {
        allow("PUT");
        const address = [verb, arg].filter((part) => part !== "").join("/");
        if (options.gossip() === undefined) throw noGossip(`PUT /v1/agent/join/${address}`);
        if (query.has("wan")) throw badRequest("?wan: a client agent has no WAN pool; join without ?wan");
        if (!gossipAddress.test(address)) throw badRequest(`Join needs a gossip member's address: PUT /v1/agent/join/<host:port>, e.g. /v1/agent/join/10.0.0.5:8301 (got "${address}")`);
        options.join(address);
        return ok();
      }
      case "force-leave": {
        allow("PUT");
        const core = options.gossip();
        if (core === undefined) throw noGossip("PUT /v1/agent/force-leave");
        return answerForceLeave((name, prune) => core.forceLeave(name, { prune }), [verb, arg].filter((part) => part !== "").join("/"), query);
      }
      case "leave":
        allow("PUT");
        if (options.requestStop === undefined) throw new HttpError(500, "this agent is embedded in another process and cannot stop itself: stop that process");
        return ok();
      default:
        throw new HttpError(404, `Unknown agent endpoint /v1/agent/${[group, verb, arg].filter((p) => p !== "").join("/")}`);
    }
  };

  /**
   * GET /v1/agent/service/<id>: one service's definition with Consul's ContentHash (body and
   * X-Consul-ContentHash). With `?hash=` it blocks while the service still hashes to that, up to
   * `?wait` (default 5 min, at most 10, plus up to wait/16 of jitter, as the servers' blocking
   * queries), then answers the current definition; 404 once the service is gone.
   */
  const agentService = async (request: LocalRequest, id: string): Promise<ApiResponse> => {
    const knownHash = request.query.get("hash") ?? "";
    const deadline = Date.now() + jitteredWaitMs(parseWaitMs(request.query), Math.random);
    for (;;) {
      const entry = options.agent.services().find((e) => e.service.id === id);
      if (entry === undefined) return textResponse(404, `unknown service ID: ${id}`);
      const encoded = encodeService(entry.service, options.datacenter);
      const hash = createHash("sha256").update(JSON.stringify(encoded)).digest("hex").slice(0, 16);
      const remainingMs = deadline - Date.now();
      if (knownHash === "" || hash !== knownHash || remainingMs <= 0 || request.signal.aborted) {
        return jsonResponse({ ...(encoded as Record<string, Json>), ContentHash: hash }, { "x-consul-contenthash": hash });
      }
      // Nothing runs between the read above and this subscription, so no change can slip past.
      await nextServiceChange(remainingMs, request.signal);
    }
  };

  /** Resolves at the next change of the agent's services, after `ms`, or when `signal` aborts (the client went away). */
  const nextServiceChange = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
      const done = (): void => {
        stop();
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const stop = options.agent.onServicesChanged(done);
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });

  const routeService = async (request: LocalRequest, verb: string, arg: string): Promise<ApiResponse> => {
    const { method, query, body } = request;
    const { agent } = options;
    if (verb !== "" && !serviceVerbs.has(verb)) {
      if (method !== "GET") throw new HttpError(405, `method ${method} not allowed: GET /v1/agent/service/<id>`);
      return agentService(request, [verb, arg].filter((p) => p !== "").join("/"));
    }
    if (method !== "PUT") throw new HttpError(405, `method ${method} not allowed: PUT /v1/agent/service/${verb}`);
    switch (verb) {
      case "register":
        await agent.register(parseAgentService(parseJsonBody(body, "the service definition")));
        return ok();
      case "deregister": {
        if (arg === "") throw badRequest("Missing service ID: PUT /v1/agent/service/deregister/<id>");
        if (!(await agent.deregister(arg))) throw new HttpError(404, `Unknown service ID "${arg}". Ensure that the service ID is passed, not the service name.`);
        return ok();
      }
      case "maintenance": {
        if (arg === "") throw badRequest("Missing service ID: PUT /v1/agent/service/maintenance/<id>?enable=true|false");
        const reason = maintenanceReason(query, "PUT /v1/agent/service/maintenance/<id>?enable=true|false&reason=...");
        if (!(await agent.setMaintenance(arg, reason))) throw new HttpError(404, `Unknown service ID "${arg}". Ensure that the service ID is passed, not the service name.`);
        return ok();
      }
      default:
        throw badRequest("Missing service ID: GET /v1/agent/service/<id>");
    }
  };

  const routeCheck = async (request: LocalRequest, verb: string, arg: string): Promise<ApiResponse> => {
    const { method, query, body } = request;
    const { agent } = options;
    if (method !== "PUT") throw new HttpError(405, `method ${method} not allowed: PUT /v1/agent/check/${verb}`);
    switch (verb) {
      case "register": {
        const fields = new JsonFields(parseJsonBody(body, "the check definition"), "check");
        const check = parseCheckDefinition(fields, { defaultId: fields.string("Name") ?? "", defaultName: "", serviceId: undefined, allowPassive: false });
        if (check.serviceId !== undefined && !agent.hasService(check.serviceId)) {
          throw badRequest(`ServiceID "${check.serviceId}" does not exist on this agent: register the service first (PUT /v1/agent/service/register)`);
        }
        await agent.registerCheck(check);
        return ok();
      }
      case "deregister":
        if (arg === "") throw badRequest("Missing check ID: PUT /v1/agent/check/deregister/<id>");
        if (!(await agent.deregisterCheck(arg))) throw new HttpError(404, `Unknown check ID "${arg}": GET /v1/agent/checks lists this agent's checks`);
        return ok();
      case "pass":
      case "warn":
      case "fail":
      case "update": {
        if (arg === "") throw badRequest(`Missing check ID: PUT /v1/agent/check/${verb}/<id>`);
        const update = parseTtlUpdate(verb, body, query.get("note"));
        await agent.updateTtl(arg, update.status, update.output);
        return ok();
      }
      default:
        throw new HttpError(404, `Unknown agent endpoint /v1/agent/check/${verb}: use register, deregister/<id>, pass/<id>, warn/<id>, fail/<id> or update/<id>`);
    }
  };

  const routeLocal = async (request: LocalRequest): Promise<Routed> => {
    const { method, path, query } = request;
    if (path === "/metrics" || path === "/v1/agent/metrics") {
      if (method !== "GET") throw new HttpError(405, `method ${method} not allowed: GET ${path}`);
      if (path === "/v1/agent/metrics" && query.get("format") !== "prometheus") {
        throw badRequest("only the Prometheus format is served: GET /v1/agent/metrics?format=prometheus (or /metrics)");
      }
      attachGossip();
      return { status: 200, headers: { "content-type": registry.contentType }, body: await registry.metrics() };
    }
    if (!path.startsWith("/v1/")) throw new HttpError(404, `Unknown endpoint ${path}: the API lives under /v1/ (and /metrics)`);
    const [group = "", second = "", ...rest] = splitPath(path.slice("/v1/".length));
    if (group === "agent") {
      // /v1/agent/<group>/<verb>/<arg...>
      const [verb = "", ...args] = rest;
      return routeAgent(request, second, verb, args.join("/"));
    }
    const verb = second;
    if (group === "event") {
      // A gossiping agent fires into the pool through its own member and lists what it saw; otherwise a server does.
      const events = options.events();
      if (events === undefined) return "forward";
      if (verb === "fire") {
        if (method !== "PUT") throw new HttpError(405, `method ${method} not allowed: PUT /v1/event/fire/<name>`);
        return fireAgentEvent(events, rest.join("/"), query, request.body);
      }
      if (verb === "list") {
        if (method !== "GET") throw new HttpError(405, `method ${method} not allowed: GET /v1/event/list`);
        return listAgentEvents(events, query, request.signal);
      }
      throw new HttpError(404, `Unknown event endpoint /v1/event/${verb}: use PUT /v1/event/fire/<name> or GET /v1/event/list`);
    }
    return "forward";
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const target = req.url ?? "/";
    const { pathname, query } = parseTarget(target);
    const method = req.method ?? "GET";
    // The servers' own limits (http/start-http-api.ts), so a forwarded body is refused here as it would be there.
    const isRestore = pathname === "/v1/snapshot" && method !== "GET";
    const limit = isRestore ? Math.max(defaultMaxBodyBytes, maxSnapshotBodyBytes) : defaultMaxBodyBytes;
    readBody(req, limit).then(
      async (body) => {
        const abort = new AbortController();
        res.once("close", () => abort.abort());
        const request: LocalRequest = { method, path: pathname, query, body, accept: req.headers.accept ?? "", signal: abort.signal };
        let routed: Routed;
        try {
          routed = await routeLocal(request);
        } catch (error) {
          writeError(res, request, error);
          return;
        }
        if (routed === "forward") {
          await forwardToServer(req, res, { client: options.client, body, target, query });
          return;
        }
        write(res, routed);
        if (pathname === "/v1/agent/leave" && routed.status === 200) {
          // Consul's leave: leave the pool and shut down — after the answer is out.
          options.logger.info("leave requested through the agent API; stopping");
          res.once("finish", () => options.requestStop?.());
        }
      },
      (error: unknown) => {
        const tooLarge = error instanceof BodyTooLargeError;
        write(res, textResponse(tooLarge ? 413 : 400, !tooLarge ? `Could not read the request body: ${String(error)}` : isRestore ? snapshotTooLargeMessage(undefined) : `Request body too large: the limit is ${defaultMaxBodyBytes} bytes`, { connection: "close" }));
      },
    );
  };

  const writeError = (res: ServerResponse, request: LocalRequest, error: unknown): void => {
    if (error instanceof HttpError || error instanceof RegistryRefusedError) {
      write(res, textResponse(error.status, error.message));
      return;
    }
    if (error instanceof UnknownCheckError) {
      write(res, textResponse(404, error.message));
      return;
    }
    if (error instanceof NotTtlCheckError) {
      write(res, textResponse(400, error.message));
      return;
    }
    if (error instanceof Error && error.name === "AbortError") {
      write(res, textResponse(499, "client closed the request"));
      return;
    }
    options.logger.warn("agent API request failed", { method: request.method, path: request.path, err: error });
    const message = error instanceof RegistryUnavailableError ? `No known Consul servers: ${error.message}` : error instanceof Error ? error.message : String(error);
    write(res, textResponse(500, message));
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  return {
    port,
    observeGossipEvent: (event) => gossipMetrics.observe(event),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function write(res: ServerResponse, answer: ApiResponse): void {
  if (res.destroyed || res.headersSent) return;
  const length = typeof answer.body === "string" ? Buffer.byteLength(answer.body) : answer.body.byteLength;
  res.writeHead(answer.status, { ...answer.headers, "content-length": length });
  res.end(answer.body);
}
