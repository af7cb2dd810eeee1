// The local HTTP API of `meshwork-registry agent` (--http-port; Consul's client agent on 8500): the
// part of Consul's /v1/agent/* a workload or its sidecar uses, answered by this agent, not the
// servers: self and members (the gossip pool as this member sees it), services, and service
// register/deregister (the agent registers them on the servers and runs their checks), plus the
// gossip metrics in Prometheus text (/metrics, and Consul's /v1/agent/metrics?format=prometheus).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { PROTOCOL_VERSION } from "@meshwork/gossip";
import type { GossipEvent, Memberlist } from "@meshwork/gossip";
import type { Logger } from "@meshwork/telemetry";
import { Registry } from "prom-client";
import { GossipMetrics } from "../admin/gossip-metrics.ts";
import { consulCompatibleVersion } from "../http/agent-routes.ts";
import { parseAgentService } from "../http/consul-decode.ts";
import { encodeService } from "../http/consul-encode.ts";
import { HttpError, badRequest } from "../http/http-error.ts";
import { parseJsonBody } from "../http/json-fields.ts";
import { type AgentMemberJson, encodeMember, encodeMembers } from "../gossip/encode-members.ts";
import type { RegistryAgent } from "./registry-agent.ts";

export interface AgentHttpApiOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly node: string;
  /** The node's address (the member's address when gossip is off). */
  readonly address: string;
  readonly datacenter: string;
  readonly agent: Pick<RegistryAgent, "register" | "deregister" | "services">;
  /** The gossip member, once started (undefined when gossip is off). */
  readonly gossip: () => Memberlist | undefined;
  /** True between this agent's leave and its exit (serf's "leaving"). */
  readonly leaving: () => boolean;
  readonly logger: Logger;
}

export interface AgentHttpApi {
  readonly port: number;
  /** Counts membership events into consul_serf_member_* (feed it every gossip event). */
  observeGossipEvent(event: GossipEvent): void;
  close(): Promise<void>;
}

const versions = { protocol: PROTOCOL_VERSION, delegate: PROTOCOL_VERSION };

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

  const route = async (method: string, url: URL, body: Uint8Array): Promise<{ status: number; type: string; body: string }> => {
    const json = (value: unknown) => ({ status: 200, type: "application/json", body: JSON.stringify(value) });
    const path = url.pathname;
    if (path === "/metrics" || path === "/v1/agent/metrics") {
      if (method !== "GET") throw new HttpError(405, `method ${method} not allowed: GET ${path}`);
      if (path === "/v1/agent/metrics" && url.searchParams.get("format") !== "prometheus") {
        throw badRequest("only the Prometheus format is served: GET /v1/agent/metrics?format=prometheus (or /metrics)");
      }
      attachGossip();
      return { status: 200, type: registry.contentType, body: await registry.metrics() };
    }
    const [group = "", verb = "", arg = ""] = path.startsWith("/v1/agent/") ? path.slice("/v1/agent/".length).split("/") : [];
    if (method === "GET" && group === "self") {
      return json({
        Config: { Datacenter: options.datacenter, NodeName: options.node, NodeID: options.node, Server: false, Revision: "meshwork", Version: consulCompatibleVersion },
        Member: self(),
        Meta: {},
        Stats: { agent: { services: String(options.agent.services().length) } },
      });
    }
    if (method === "GET" && group === "members") {
      const core = options.gossip();
      return json(core === undefined ? [self()] : encodeMembers(core.members(), versions, options.node, options.leaving()));
    }
    if (method === "GET" && group === "services") {
      const out: Record<string, unknown> = {};
      for (const { service } of options.agent.services()) out[service.id] = encodeService(service, options.datacenter);
      return json(out);
    }
    if (method === "PUT" && group === "service" && verb === "register") {
      await options.agent.register(parseAgentService(parseJsonBody(body, "the service definition")));
      return { status: 200, type: "text/plain", body: "" };
    }
    if (method === "PUT" && group === "service" && verb === "deregister") {
      if (arg === "") throw badRequest("Missing service ID: PUT /v1/agent/service/deregister/<id>");
      const id = decodeURIComponent(arg);
      if (!(await options.agent.deregister(id))) throw new HttpError(404, `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`);
      return { status: 200, type: "text/plain", body: "" };
    }
    throw new HttpError(404, `${method} ${path} is not served by this agent: it answers GET /v1/agent/self, /v1/agent/members, /v1/agent/services, /metrics and PUT /v1/agent/service/register, /v1/agent/service/deregister/<id>`);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://agent");
      route(req.method ?? "GET", url, Buffer.concat(chunks)).then(
        (answer) => res.writeHead(answer.status, { "content-type": answer.type }).end(answer.body),
        (error: unknown) => {
          const status = error instanceof HttpError ? error.status : 500;
          const message = error instanceof Error ? error.message : String(error);
          if (status >= 500) options.logger.warn("agent API request failed", { method: req.method, path: url.pathname, err: error });
          res.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(message);
        },
      );
    });
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
