// The registry server's settings: flags and environment (docs/design/app-conventions.md), declared once.
import { defineSettings } from "@meshwork/runtime";
import { dnsSettingDefinitions } from "../dns/dns-settings.ts";
import { gossipSettingDefinitions } from "../gossip/gossip-settings.ts";

/** Every setting of the registry server process. */
export const registrySettings = defineSettings({
  nodeId: { type: "string", required: true, env: "MESHWORK_REGISTRY_NODE_ID", valueName: "ID", description: "This server's Raft id: stable for its life, unique in the cluster." },
  peers: {
    type: "list",
    env: "MESHWORK_REGISTRY_PEERS",
    valueName: "ID=HOST:PORT",
    description: "Founding members and their Raft addresses (this node included), e.g. n1=10.0.0.1:8300,n2=10.0.0.2:8300. Used to bootstrap an empty data dir; omit to join an existing cluster (then add this server on its leader).",
  },
  dataDir: { type: "string", default: ".meshwork/registry", env: "MESHWORK_REGISTRY_DATA_DIR", valueName: "DIR", description: "Write-ahead log and snapshots." },
  bind: { type: "string", default: "127.0.0.1", env: "MESHWORK_REGISTRY_BIND", valueName: "HOST", description: "Address the Raft and HTTP listeners bind." },
  advertise: { type: "string", env: "MESHWORK_REGISTRY_ADVERTISE", valueName: "HOST", description: "Host peers and clients use to reach this server (default: --bind; required when binding 0.0.0.0)." },
  raftPort: { type: "number", integer: true, default: 8300, env: "MESHWORK_REGISTRY_RAFT_PORT", description: "gRPC port of the Raft transport (mesh.raft.v1); 0 picks one." },
  httpPort: { type: "number", integer: true, default: 8500, env: "MESHWORK_REGISTRY_HTTP_PORT", description: "Consul-compatible HTTP API port; 0 picks one." },
  // --dns-port, --dns-domain (shared with `agent`).
  ...dnsSettingDefinitions,
  grpcPort: { type: "number", integer: true, default: 8503, env: "MESHWORK_REGISTRY_GRPC_PORT", description: "gRPC API for the control plane (mesh.registry.v1.RegistryService/Watch) on --bind; 0 picks one, -1 disables." },
  adminPort: {
    type: "number",
    integer: true,
    default: 8502,
    env: "MESHWORK_REGISTRY_ADMIN_PORT",
    description: "Admin listener on --bind: GET /healthz, /readyz (member with a known leader and caught up), /metrics (Prometheus); 0 picks one.",
  },
  tlsCa: { type: "string", env: "MESHWORK_REGISTRY_TLS_CA", valueName: "FILE", description: "CA bundle (PEM) peers' certificates must chain to; with --tls-cert and --tls-key turns on mutual TLS between peers." },
  tlsCert: { type: "string", env: "MESHWORK_REGISTRY_TLS_CERT", valueName: "FILE", description: "This server's certificate chain (PEM) for the Raft port." },
  tlsKey: { type: "string", env: "MESHWORK_REGISTRY_TLS_KEY", valueName: "FILE", description: "This server's private key (PEM)." },
  // --gossip-port, --gossip-bind, --retry-join, --retry-interval-ms, --gossip-key, --gossip-keyring-file,
  // --reconnect-timeout-ms, --gossip-probe-interval-ms, --gossip-suspicion-mult (shared with `agent`).
  ...gossipSettingDefinitions,
  autopilotCleanupDeadServers: {
    type: "boolean",
    default: true,
    env: "MESHWORK_REGISTRY_AUTOPILOT_CLEANUP_DEAD_SERVERS",
    description:
      "With gossip on, the leader removes failed servers from Raft while fewer than half the voters have failed (Consul's autopilot CleanupDeadServers); --no-autopilot-cleanup-dead-servers leaves them for `meshctl registry leave`. Also PUT /v1/operator/autopilot/configuration.",
  },
  autopilotServerStabilizationMs: {
    type: "number",
    integer: true,
    default: 10_000,
    env: "MESHWORK_REGISTRY_AUTOPILOT_SERVER_STABILIZATION_MS",
    description: "With gossip on, a server that joins the pool is added to Raft as a non-voter and promoted to voter once healthy this long (Consul's autopilot ServerStabilizationTime, 10 s).",
  },
  tickMs: { type: "number", integer: true, default: 100, env: "MESHWORK_REGISTRY_TICK_MS", description: "Raft tick; elections after 10-20 ticks without a leader, heartbeats every tick." },
  snapshotEvery: { type: "number", integer: true, default: 10_000, env: "MESHWORK_REGISTRY_SNAPSHOT_EVERY", description: "Applied entries between snapshots (the log is compacted at each); each voter snapshots at its own phase in the interval." },
  logLevel: { type: "string", choices: ["debug", "info", "warn", "error"], default: "info", env: "MESHWORK_LOG_LEVEL", description: "Least severe log level written." },
});
