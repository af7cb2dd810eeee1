// The sidecar's settings: flags and environment (docs/design/app-conventions.md), declared once.
// Ports follow Istio's layout (DESIGN.md §3.5) and are all configurable, because the local mesh
// runs many sidecars on one host.
import { defineSettings, type Settings } from "@meshwork/runtime";

export const sidecarSettings = defineSettings({
  config: { type: "string", env: "MESHWORK_SIDECAR_CONFIG", valueName: "DIR", description: "Standalone mode: serve the Istio resources (*.yaml, *.yml, *.json) in DIR, reloaded when they change." },
  namespace: { type: "string", default: "default", env: "MESHWORK_NAMESPACE", description: "The workload's namespace (short host names resolve in it)." },
  workloadName: { type: "string", env: "MESHWORK_WORKLOAD_NAME", description: "Name of the workload's WorkloadEntry, if any (its labels and ports apply)." },
  labels: { type: "list", env: "MESHWORK_LABELS", valueName: "KEY=VALUE", description: "Labels of the workload (app=reviews,version=v1): sourceLabels matches and workloadSelectors." },
  locality: { type: "string", env: "MESHWORK_LOCALITY", valueName: "REGION/ZONE/SUBZONE", description: "The workload's locality, for locality-aware load balancing and failover (Istio's istio-locality label)." },
  domainSuffix: { type: "string", default: "cluster.local", env: "MESHWORK_DOMAIN_SUFFIX", description: "The mesh's DNS suffix." },
  bind: { type: "string", default: "127.0.0.1", env: "MESHWORK_SIDECAR_BIND", description: "Address every listener binds." },
  outboundPort: { type: "number", integer: true, default: 15001, env: "MESHWORK_OUTBOUND_PORT", description: "Outbound listener (apps send here: HTTP_PROXY or Host-based); 0 picks one, -1 disables." },
  inboundPort: { type: "number", integer: true, default: 15006, env: "MESHWORK_INBOUND_PORT", description: "Inbound listener in front of the application; 0 picks one, -1 disables." },
  appPort: { type: "number", integer: true, env: "MESHWORK_APP_PORT", description: "Where the application listens (default: the inbound port's target port from the config)." },
  appHost: { type: "string", default: "127.0.0.1", env: "MESHWORK_APP_HOST", description: "The application's address for the inbound listener." },
  adminPort: { type: "number", integer: true, default: 15000, env: "MESHWORK_ADMIN_PORT", description: "Admin API (/config_dump, /clusters, /stats, /ready, /drain, /logging); 0 picks one, -1 disables." },
  statsPort: { type: "number", integer: true, default: 15020, env: "MESHWORK_STATS_PORT", description: "Metrics and health (/stats/prometheus, /healthz/ready); 0 picks one, -1 disables." },
  outboundTrafficPolicy: { type: "string", choices: ["ALLOW_ANY", "REGISTRY_ONLY"], default: "ALLOW_ANY", env: "MESHWORK_OUTBOUND_TRAFFIC_POLICY", description: "Hosts the config does not know: proxied as they are (ALLOW_ANY) or 404 NR (REGISTRY_ONLY)." },
  tcpUpstream: { type: "list", env: "MESHWORK_TCP_UPSTREAM", valueName: "SERVICE:PORT=[ADDR:]LOCALPORT", description: "Local TCP ports that always go to one service (Consul Connect upstreams), e.g. db.default.svc.cluster.local:5432=15432." },
  concurrency: { type: "number", integer: true, default: 1, env: "MESHWORK_CONCURRENCY", description: "Worker processes sharing the listeners (Envoy --concurrency); 0 = one per CPU." },
  headersTimeoutMs: { type: "number", integer: true, default: 10_000, env: "MESHWORK_HEADERS_TIMEOUT_MS", description: "A client must send a complete request head within this time (slowloris defence; 408)." },
  idleTimeoutMs: { type: "number", integer: true, default: 3_600_000, env: "MESHWORK_IDLE_TIMEOUT_MS", description: "Client connections idle this long are closed (Envoy's idle_timeout, 1 h)." },
  drainSeconds: { type: "number", default: 5, env: "MESHWORK_DRAIN_SECONDS", description: "On SIGTERM or /drain: time connections get to finish before they are closed." },
  accessLog: { type: "string", default: "stdout", env: "MESHWORK_ACCESS_LOG", valueName: "stdout|off|FILE", description: "JSON access log destination." },
  traceSampling: { type: "number", default: 1, env: "MESHWORK_TRACE_SAMPLING", description: "Percentage of new traces sampled (Istio's default 1 %)." },
  otlpEndpoint: { type: "string", env: "MESHWORK_OTLP_ENDPOINT", valueName: "URL", description: "OTLP/HTTP traces endpoint (http://host:4318/v1/traces); no tracing export when unset." },
  logLevel: { type: "string", choices: ["debug", "info", "warn", "error"], default: "info", env: "MESHWORK_LOG_LEVEL", description: "Least severe log level written." },
});

export type SidecarSettings = Settings<typeof sidecarSettings>;
