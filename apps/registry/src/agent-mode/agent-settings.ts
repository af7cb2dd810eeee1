// Settings of `meshwork-registry agent` (flags and environment, docs/design/app-conventions.md).
import { defineSettings } from "@meshwork/runtime";
import { dnsSettingDefinitions } from "../dns/dns-settings.ts";
import { gossipSettingDefinitions } from "../gossip/gossip-settings.ts";

export const agentSettings = defineSettings({
  server: {
    type: "list",
    required: true,
    env: "MESHWORK_REGISTRY_SERVER",
    valueName: "URL",
    description: "Consul HTTP API of registry servers (http://HOST:8500), repeatable or comma-separated; a failing server is skipped for the next.",
  },
  serviceFile: {
    type: "string",
    env: "MESHWORK_REGISTRY_SERVICE_FILE",
    valueName: "FILE",
    description: 'Consul service definitions (JSON): {"service": {...}}, {"services": [...]}, one definition or an array, with Check/Checks (HTTP, TCP, GRPC, TTL).',
  },
  service: { type: "list", env: "MESHWORK_REGISTRY_SERVICE", valueName: "NAME:PORT", description: "A service to register without a file (ID = NAME); repeatable." },
  check: {
    type: "list",
    env: "MESHWORK_REGISTRY_CHECK",
    valueName: "URL",
    description: "A check of the --service (only with exactly one): http(s)://... (2xx passing, 429 warning), tcp://HOST:PORT (connect) or grpc://HOST:PORT[/SERVICE] (grpc.health.v1); repeatable.",
  },
  checkInterval: { type: "string", default: "10s", env: "MESHWORK_REGISTRY_CHECK_INTERVAL", valueName: "DURATION", description: "Interval of the --check checks (Go duration)." },
  checkTimeout: { type: "string", env: "MESHWORK_REGISTRY_CHECK_TIMEOUT", valueName: "DURATION", description: "Timeout of the --check checks (default: the interval, at most 10s)." },
  node: { type: "string", env: "MESHWORK_REGISTRY_NODE", valueName: "NAME", description: "Catalog node the services are registered under (default: the host name). Agents sharing a node must use distinct service IDs. With gossip on it is also this agent's member name, unique in the pool (the leader marks this node's serfHealth critical when the member fails)." },
  address: { type: "string", default: "127.0.0.1", env: "MESHWORK_REGISTRY_ADDRESS", valueName: "HOST", description: "The node's address in the catalog (services without Address are reached there)." },
  nodeMeta: { type: "list", env: "MESHWORK_REGISTRY_NODE_META", valueName: "KEY=VALUE", description: "Node meta written with every registration (it replaces the node's meta as a whole, as Consul does)." },
  httpPort: {
    type: "number",
    integer: true,
    default: -1,
    env: "MESHWORK_REGISTRY_HTTP_PORT",
    description:
      "This agent's local HTTP API (Consul's client agent on 8500), the whole Consul HTTP API: /v1/agent/* answered here (self, members, services, checks, service and check register/deregister, TTL check pass/warn/fail/update, service and node maintenance, local service health, join, leave), /v1/event/* too when gossiping, /metrics (gossip series in Prometheus text); every other /v1 path (kv, catalog, health, session, txn, query, status...) forwarded to a --server. 0 picks one, -1 (default) serves none.",
  },
  dataDir: {
    type: "string",
    env: "MESHWORK_REGISTRY_AGENT_DATA_DIR",
    valueName: "DIR",
    description: "Keeps this agent's gossip keyring (DIR/serf/local.keyring, Consul's data_dir) so keys rotated with /v1/operator/keyring survive a restart; once it exists it wins over --gossip-key. Unset: rotated keys last until the agent exits.",
  },
  httpBind: { type: "string", default: "127.0.0.1", env: "MESHWORK_REGISTRY_HTTP_BIND", valueName: "HOST", description: "Address the --http-port API binds (Consul's client_addr; loopback by default: the API registers services unauthenticated)." },
  // The servers' --dns-port and --dns-domain (same flags and variables); off by default on an agent.
  dnsPort: {
    ...dnsSettingDefinitions.dnsPort,
    default: -1,
    description:
      "This agent's DNS interface (Consul's client agent on 8600; UDP and TCP on --dns-bind): the names the servers' DNS answers (<service>.service, [<tag>.]<service>.service, _<service>._<tag>.service, <node>.node, <query>.query under --dns-domain), with the same answers, read from a --server's HTTP API for each query (?stale, no cache); no live server → SERVFAIL. 0 picks one, -1 (default) serves none.",
  },
  dnsBind: { type: "string", env: "MESHWORK_REGISTRY_DNS_BIND", valueName: "HOST", description: "Address the --dns-port listener binds (Consul's addresses.dns; default: --http-bind, Consul's client_addr)." },
  dnsDomain: dnsSettingDefinitions.dnsDomain,
  syncInterval: {
    type: "string",
    default: "30s",
    env: "MESHWORK_REGISTRY_SYNC_INTERVAL",
    valueName: "DURATION",
    description: "Anti-entropy: re-register the services with their current check statuses this often (an unchanged registration changes nothing in the registry).",
  },
  // The servers' gossip flags (Consul's client agents take the same serf_lan settings): with
  // --gossip-port the agent joins the pool (--retry-join a server's or any agent's gossip address)
  // as a member named after --node and tagged role=client.
  ...gossipSettingDefinitions,
  logLevel: { type: "string", choices: ["debug", "info", "warn", "error"], default: "info", env: "MESHWORK_LOG_LEVEL", description: "Least severe log level written." },
});
