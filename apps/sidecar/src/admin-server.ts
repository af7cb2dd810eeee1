// The sidecar's admin API (Envoy's port 15000) and its metrics/health port (Istio's 15020), on
// node:http: low traffic, so the full machinery is fine here. The pages read a SidecarState
// the composition root keeps current.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { CircuitBreaker, describeCluster, describeRoute, type ClusterSpec, type ProxyConfig } from "@meshwork/proxy-core";
import type { Registry } from "prom-client";
import type { ClusterRuntime } from "./proxy/cluster-runtime.ts";

/** What the admin pages show and control. */
export interface SidecarState {
  /** Whether the proxy serves a config and is not draining (`/ready`, `/healthz/ready`). */
  readonly ready: boolean;
  readonly draining: boolean;
  readonly config: ProxyConfig | undefined;
  /** Errors of the last rejected config (the previous good one keeps serving). */
  readonly configErrors: readonly string[];
  readonly configWarnings: readonly string[];
  /** The cluster runtimes in use (built on a cluster's first request), by name. */
  readonly clusters: ReadonlyMap<string, ClusterRuntime>;
  /** Clusters outside the config (the inbound cluster to the application). */
  extraClusters(): ClusterSpec[];
  readonly registry: Registry;
  /** Brings values kept outside the registry up to date; called before each Prometheus scrape. */
  beforeScrape?(): void;
  /** Envoy-style counters as `name: value` (for `/stats`). */
  stats(): [string, number][];
  drain(): void;
  setLogLevel(level: string): boolean;
  readonly startedAt: Date;
  readonly listeners: readonly { readonly name: string; readonly address: string }[];
  /** The DNS proxy's name table, upstreams and search domains (`/dns_table`); absent when DNS proxying is off. */
  dnsTable?(): unknown;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

function text(res: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8"): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  text(res, status, `${JSON.stringify(value, null, 2)}\n`, "application/json");
}

async function prometheus(state: SidecarState, res: ServerResponse): Promise<void> {
  state.beforeScrape?.();
  text(res, 200, await state.registry.metrics(), state.registry.contentType);
}

function ready(state: SidecarState, res: ServerResponse): void {
  if (state.draining) text(res, 503, "DRAINING\n");
  else if (state.ready) text(res, 200, "LIVE\n");
  else text(res, 503, "PRE_INITIALIZING\n");
}

/**
 * Envoy's `/clusters` text: `<cluster>::<ip:port>::<stat>::<value>` lines for every configured
 * cluster (and the inbound ones: the application's HTTP cluster, one per inbound TCP listener);
 * live counters for the clusters in use (`live`), zeros for the others.
 */
export function clustersText(specs: Iterable<ClusterSpec>, live: (name: string) => ClusterRuntime | undefined): string {
  const lines: string[] = [];
  for (const spec of specs) {
    const name = spec.name;
    const cluster = live(name);
    const b = cluster?.breaker.limits ?? new CircuitBreaker(spec.connectionPool).limits;
    lines.push(`${name}::default_priority::max_connections::${b.connections}`);
    lines.push(`${name}::default_priority::max_pending_requests::${b["pending-requests"]}`);
    lines.push(`${name}::default_priority::max_requests::${b.requests}`);
    lines.push(`${name}::default_priority::max_retries::${b.retries}`);
    spec.endpoints.forEach((endpoint, i) => {
      const runtime = cluster?.endpoints[i];
      const health = cluster?.isEjected(i) ? "/failed_outlier_check" : endpoint.healthy === false ? "/failed_eds_health" : "healthy";
      const prefix = `${name}::${endpoint.address}`;
      // A TCP cluster's upstream connections are its proxied connections (one each), not pooled: as
      // in Envoy, they are its cx_active, and it has no requests.
      const tcp = spec.protocol === "tcp";
      lines.push(`${prefix}::cx_active::${(tcp ? runtime?.active : runtime?.pool.open) ?? 0}`);
      lines.push(`${prefix}::cx_idle::${runtime?.pool.idleCount ?? 0}`);
      lines.push(`${prefix}::rq_active::${tcp ? 0 : (runtime?.active ?? 0)}`);
      lines.push(`${prefix}::weight::${endpoint.weight}`);
      lines.push(`${prefix}::health_flags::${health}`);
      lines.push(`${prefix}::ejections::${cluster?.outlier?.ejectionCount(i) ?? 0}`);
      lines.push(`${prefix}::zone::${endpoint.locality.zone}`);
    });
  }
  return `${lines.join("\n")}\n`;
}

function configDump(state: SidecarState): unknown {
  const config = state.config;
  if (!config) return { version: null, errors: state.configErrors };
  const routes: Record<string, string[]> = {};
  for (const [gateway, table] of config.routeTable.gateways) {
    const hosts = new Set([...table.exact.values(), ...table.wildcards.map((w) => w.host)]);
    routes[gateway] = [...hosts].flatMap((host) => [`virtual_host ${host.name} domains=${host.domains.join(",")}`, ...host.routes.flatMap(describeRoute)]);
  }
  return {
    version: config.version,
    lastRejected: state.configErrors.length > 0 ? { errors: state.configErrors } : undefined,
    warnings: state.configWarnings,
    listeners: state.listeners,
    routes,
    clusters: [...config.clusters.values()].map((c) => describeCluster(c).join("\n")),
    // The clusters the sidecar makes for its workload: `inbound|<port>||` per HTTP inbound port (with its upstream protocol) and per inbound TCP listener.
    inboundClusters: state.extraClusters().map((c) => describeCluster(c).join("\n")),
    inbound: config.inbound,
    services: config.services,
    // The effective Telemetry (mesh → namespace → workload), as Istio's proxy-config shows the telemetry filters.
    telemetry: config.telemetry ?? null,
    // The DNS proxy's name table (Istio's NDS NameTable), when DNS proxying is on.
    ...(state.dnsTable !== undefined ? { dns: state.dnsTable() } : {}),
  };
}

/** Admin API: /config_dump, /clusters, /stats, /stats/prometheus, /ready, /drain (POST), /logging (POST), /server_info, /dns_table. */
export function createAdminServer(state: SidecarState): Server {
  const routes: Record<string, Handler> = {
    "GET /": (_q, res) => text(res, 200, "/config_dump\n/clusters\n/stats\n/stats/prometheus\n/ready\n/server_info\n/dns_table\nPOST /drain\nPOST /logging?level=debug|info|warn|error\n"),
    "GET /dns_table": (_q, res) =>
      state.dnsTable !== undefined ? json(res, 200, state.dnsTable()) : text(res, 404, "DNS proxying is off: start the sidecar with --dns-port PORT or --dns-capture (ISTIO_META_DNS_CAPTURE=true)\n"),
    "GET /config_dump": (_q, res) => json(res, 200, configDump(state)),
    "GET /clusters": (_q, res, url) =>
      url.searchParams.get("format") === "json"
        ? json(res, 200, [...state.clusters.values()].map((c) => ({ name: c.name, stats: c.stats, endpoints: c.endpoints.map((e, i) => ({ address: e.address, active: e.active, ejected: c.isEjected(i), connections: c.spec.protocol === "tcp" ? e.active : e.pool.open })) })))
        : text(res, 200, clustersText([...(state.config?.clusters.values() ?? []), ...state.extraClusters()], (name) => state.clusters.get(name))),
    "GET /stats": (_q, res) => text(res, 200, state.stats().map(([name, value]) => `${name}: ${value}`).join("\n") + "\n"),
    "GET /stats/prometheus": (_q, res) => prometheus(state, res),
    "GET /ready": (_q, res) => ready(state, res),
    "GET /server_info": (_q, res) => json(res, 200, { state: state.draining ? "DRAINING" : state.ready ? "LIVE" : "PRE_INITIALIZING", uptime_seconds: Math.round((Date.now() - state.startedAt.getTime()) / 1000), version: state.config?.version ?? null }),
    "POST /drain": (_q, res) => {
      state.drain();
      text(res, 200, "OK\n");
    },
    "POST /drain_listeners": (_q, res) => {
      state.drain();
      text(res, 200, "OK\n");
    },
    "POST /logging": (_q, res, url) => {
      const level = url.searchParams.get("level") ?? "";
      if (state.setLogLevel(level)) text(res, 200, `level set to ${level}\n`);
      else text(res, 400, `unknown level "${level}": use debug, info, warn or error\n`);
    },
  };
  return serve(routes);
}

/**
 * Istio's agent port: /stats/prometheus and /healthz/ready, plus the application's rewritten
 * probes (`appHealth`, from appHealthRoutes: GET /app-health/<container>/livez|readyz|startupz).
 */
export function createStatsServer(state: SidecarState, appHealth: Readonly<Record<string, Handler>> = {}): Server {
  return serve({
    ...appHealth,
    "GET /stats/prometheus": (_q, res) => prometheus(state, res),
    "GET /healthz/ready": (_q, res) => ready(state, res),
  });
}

function serve(routes: Record<string, Handler>): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://admin");
    const handler = routes[`${req.method} ${url.pathname}`];
    if (!handler) {
      const allowed = Object.keys(routes).filter((key) => key.endsWith(` ${url.pathname}`));
      text(res, allowed.length > 0 ? 405 : 404, allowed.length > 0 ? `use ${allowed.join(" or ")}\n` : `no admin page ${url.pathname}; GET / lists them\n`);
      return;
    }
    Promise.resolve(handler(req, res, url)).catch((error: unknown) => text(res, 500, `${String(error)}\n`));
  });
}
