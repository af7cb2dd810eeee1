// Starts `meshwork-registry agent` from its settings: reads the service definitions, builds the
// failover client and the RegistryAgent, and registers the stop hook that deregisters on SIGTERM.
// With --gossip-port it also joins the gossip pool as a Consul client agent does: a member named
// after the catalog node, tagged role=client, so the Raft leader's reconcile gives the node a
// serfHealth check (critical at once when this process dies, the node reaped after the reconnect
// timeout); SIGTERM deregisters the services, then leaves the pool (the leader deregisters the node).
// With --http-port it serves the local agent API (agent-http-api.ts): the whole Consul HTTP API as a
// client agent serves it — a sidecar registers its workload there, TTL checks are passed there,
// /metrics shows the gossip series, and what is not the agent's own goes to a server.
// With --dns-port it answers Consul DNS for the node's apps (start-agent-dns.ts), asking the servers.
// main.ts calls it; tests call it in-process.
import type { Settings } from "@meshwork/runtime";
import type { Logger } from "@meshwork/telemetry";
import type { Probes } from "../agent/check-runner.ts";
import { UserEvents } from "../events/user-events.ts";
import { type AgentService, AgentSettingsError, durationSetting, servicesFromFile, servicesFromFlags } from "./agent-services.ts";
import type { agentSettings } from "./agent-settings.ts";
import { gossipKeysOf, gossipProtocolSettings } from "../gossip/gossip-settings.ts";
import { loadLocalKeyring, localKeyringPath, writeLocalKeyring } from "../gossip/local-keyring.ts";
import { GossipSettingsError, startGossip } from "../gossip/start-gossip.ts";
import { type AgentHttpApi, startAgentHttpApi } from "./agent-http-api.ts";
import type { RunningGossip } from "../gossip/start-gossip.ts";
import { RegistryAgent } from "./registry-agent.ts";
import { startAgentDns } from "./start-agent-dns.ts";
import { normalizeDnsDomain } from "../dns/start-dns-server.ts";
import type { DnsSockets } from "@meshwork/protocol/dns-server";
import { type FetchFn, RegistryClient } from "./registry-client.ts";

export type AgentConfig = Settings<typeof agentSettings>;

export interface RunningAgent {
  readonly agent: RegistryAgent;
  /** This agent's gossip member; undefined when --gossip-port is -1. */
  readonly gossip: RunningGossip | undefined;
  /** The local HTTP API; undefined when --http-port is -1. */
  readonly http: AgentHttpApi | undefined;
  /** The local DNS interface (its port: `dns.port`); undefined when --dns-port is -1. */
  readonly dns: DnsSockets | undefined;
}

/** The gossip member's tags (Consul's client agents carry role=node, id, dc; ours say role=client). */
export function agentGossipTags(node: string, datacenter: string): Record<string, string> {
  return { role: "client", id: node, dc: datacenter };
}

export interface AgentDeps {
  readonly logger: Logger;
  readonly onStop: (name: string, hook: () => Promise<void> | void) => void;
  /** The default --node. */
  readonly hostname: string;
  /** Reads --service-file; throws with the reason when it cannot. */
  readonly readTextFile: (path: string) => Promise<string>;
  readonly fetch?: FetchFn;
  readonly probes?: Probes;
  /** Starts the process's graceful stop (the stop hooks): PUT /v1/agent/leave. Without it the API refuses a leave. */
  readonly requestStop?: () => void;
}

function parseNodeMeta(entries: readonly string[]): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf("=");
    if (at <= 0) throw new AgentSettingsError(`invalid --node-meta "${entry}": use KEY=VALUE`);
    meta[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return meta;
}

/** Throws AgentSettingsError for bad settings or definitions. Registration failures are retried, not thrown. */
export async function startAgent(config: AgentConfig, deps: AgentDeps): Promise<RunningAgent> {
  const { logger } = deps;
  let gossipKeys: string[];
  // With --data-dir the keyring is kept there, as a server keeps it under its own data dir.
  const keyringFile = config.dataDir !== undefined && config.gossipPort >= 0 ? localKeyringPath(config.dataDir) : undefined;
  try {
    gossipKeys = gossipKeysOf(config);
    if (keyringFile !== undefined) gossipKeys = loadLocalKeyring(keyringFile, gossipKeys, (level, msg, fields) => logger[level](msg, fields));
  } catch (error) {
    if (error instanceof GossipSettingsError) throw new AgentSettingsError(error.message);
    throw error;
  }
  const services: AgentService[] = [];
  if (config.serviceFile !== undefined) {
    let text: string;
    try {
      text = await deps.readTextFile(config.serviceFile);
    } catch (error) {
      throw new AgentSettingsError(`cannot read --service-file ${config.serviceFile}: ${error instanceof Error ? error.message : String(error)}`);
    }
    services.push(...servicesFromFile(text, config.serviceFile));
  }
  const checkIntervalMs = durationSetting(config.checkInterval, "--check-interval");
  const checkTimeoutMs = config.checkTimeout === undefined ? undefined : durationSetting(config.checkTimeout, "--check-timeout");
  services.push(...servicesFromFlags(config.service ?? [], config.check ?? [], checkIntervalMs, checkTimeoutMs));
  // An agent that only answers DNS for the node's apps is a Consul client agent too.
  if (services.length === 0 && config.httpPort < 0 && config.dnsPort < 0) {
    throw new AgentSettingsError("nothing to register: give --service NAME:PORT (with --check URL) or --service-file FILE, or serve the agent API (--http-port) for workloads to register through, or its DNS (--dns-port)");
  }
  const ids = services.map((s) => s.service.id);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate !== undefined) throw new AgentSettingsError(`service ID "${duplicate}" is both in --service-file and --service: give each its own ID`);
  const ttl = services.flatMap((s) => s.checks).find((check) => check.type === "ttl");
  if (ttl !== undefined && config.httpPort < 0) {
    throw new AgentSettingsError(`check "${ttl.checkId}" is a TTL check: the workload passes it through the agent API (PUT /v1/agent/check/pass/${ttl.checkId}), so serve it with --http-port (8500 in Consul)`);
  }
  let dnsDomain: string;
  try {
    dnsDomain = normalizeDnsDomain(config.dnsDomain);
  } catch (error) {
    throw new AgentSettingsError(`--dns-domain: ${error instanceof Error ? error.message : String(error)}`);
  }
  const syncIntervalMs = durationSetting(config.syncInterval, "--sync-interval");
  if (syncIntervalMs < 1000) throw new AgentSettingsError(`--sync-interval ${config.syncInterval} is too short: use at least 1s`);
  const client = new RegistryClient(config.server, {
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    onFailover: (server, reason) => logger.warn("registry server failed; trying the next", { server, reason }),
  });
  const node = config.node ?? deps.hostname;
  const agent = new RegistryAgent({
    node,
    address: config.address,
    nodeMeta: parseNodeMeta(config.nodeMeta ?? []),
    services,
    client,
    syncIntervalMs,
    logger,
    ...(deps.probes === undefined ? {} : { probes: deps.probes }),
  });
  let gossip: RunningGossip | undefined;
  let leaving = false;
  let http: AgentHttpApi | undefined;
  // A gossiping agent fires and keeps user events itself (Consul's agents do); otherwise the servers do.
  const events =
    config.gossipPort >= 0
      ? new UserEvents({ node, localServices: () => agent.services().map(({ service }) => ({ id: service.id, service: service.service, tags: service.tags })) })
      : undefined;
  if (config.httpPort >= 0) {
    http = await startAgentHttpApi({
      host: config.httpBind,
      port: config.httpPort,
      node,
      address: config.address,
      datacenter: config.datacenter,
      agent,
      client,
      gossip: () => gossip?.core,
      join: (address) => gossip?.join([address]),
      events: () => (gossip === undefined ? undefined : events),
      leaving: () => leaving,
      requestStop: deps.requestStop,
      logger,
    });
  }
  let dns: DnsSockets | undefined;
  if (config.dnsPort >= 0) {
    dns = await startAgentDns({
      host: config.dnsBind ?? config.httpBind,
      port: config.dnsPort,
      // The servers' zone: same domain, datacenter and TTL (0, Consul's node_ttl / service_ttl default).
      zone: { domain: dnsDomain, datacenter: config.datacenter, ttlSeconds: 0, nodeName: node },
      client,
      log: (level, msg, fields) => logger[level](msg, fields),
    });
  }
  if (config.gossipPort >= 0) {
    try {
      gossip = await startGossip({
        name: node,
        bindHost: config.gossipBind ?? config.address,
        port: config.gossipPort,
        advertiseHost: config.address,
        tags: agentGossipTags(node, config.datacenter),
        join: config.retryJoin,
        retryIntervalMs: config.retryIntervalMs,
        keys: gossipKeys,
        ...(keyringFile !== undefined ? { onKeyringChanged: (keys: readonly string[]) => writeLocalKeyring(keyringFile, keys) } : {}),
        settings: gossipProtocolSettings(config),
        onEvent: (event) => {
          http?.observeGossipEvent(event);
          if (event.type === "user-event-received") events?.receive(event.name, event.payload, event.ltime);
          if (event.type.startsWith("member-") && "member" in event) logger.debug(`gossip ${event.type}`, { member: event.member.name, address: event.member.address });
        },
        log: (level, msg, fields) => logger[level](msg, fields),
      });
    } catch (error) {
      if (error instanceof GossipSettingsError) throw new AgentSettingsError(error.message);
      throw error;
    }
    const running = gossip;
    events?.spreadWith((name, payload) => running.userEvent(name, payload));
    // Hooks run in reverse order: the services are deregistered first, then the member leaves.
    deps.onStop("gossip (graceful leave)", () => {
      leaving = true;
      return running.leave();
    });
  }
  if (dns !== undefined) {
    const sockets = dns;
    deps.onStop("agent dns", () => sockets.close());
  }
  if (http !== undefined) {
    const api = http;
    // Closed after the services are deregistered (hooks run in reverse order) and before the leave.
    deps.onStop("agent http api", () => api.close());
  }
  deps.onStop("registry agent (deregister services)", () => agent.stop());
  await agent.start();
  logger.info("agent running", {
    node,
    servers: config.server,
    services: ids,
    checks: services.flatMap((s) => s.checks.map((c) => c.checkId)),
    gossipAddress: gossip?.address ?? "",
    gossipEncrypted: gossipKeys.length > 0,
    httpPort: http?.port ?? -1,
    dnsPort: dns?.port ?? -1,
    datacenter: config.datacenter,
  });
  return { agent, gossip, http, dns };
}
