// The sidecar's settings: flags and environment (docs/design/app-conventions.md), declared once.
// Ports follow Istio's layout (DESIGN.md §3.5) and are all configurable, because the local mesh
// runs many sidecars on one host.
import { defineSettings, type Settings } from "@meshwork/runtime";
import { trafficReportSettings } from "./traffic-report/traffic-report-settings.ts";

export const sidecarSettings = defineSettings({
  config: { type: "string", env: "MESHWORK_SIDECAR_CONFIG", valueName: "DIR", description: "Standalone mode: serve the Istio resources (*.yaml, *.yml, *.json) in DIR, reloaded when they change." },
  discoveryAddress: {
    type: "list",
    env: "MESHWORK_DISCOVERY_ADDRESS",
    valueName: "HOST:PORT",
    description: "Managed mode: take the config from the control plane's discovery service at these replicas (the next one when a stream fails); excludes --config.",
  },
  proxyId: { type: "string", env: "MESHWORK_PROXY_ID", description: "The proxy's id towards the control plane (proxy-status, config_dump); default <workload or app>.<namespace>." },
  discoveryIdentity: {
    type: "string",
    env: "MESHWORK_DISCOVERY_IDENTITY",
    valueName: "SPIFFE_ID",
    description: "Managed mode with a certificate (--ca-address or --cert-dir): the discovery stream is mutual TLS and the control plane must present this SPIFFE ID (default spiffe://<trust domain>/ns/istio-system/sa/control-plane).",
  },
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
  inboundPortMap: {
    type: "list",
    env: "MESHWORK_INBOUND_PORT_MAP",
    valueName: "APP_PORT:LISTEN_PORT",
    description:
      "Inbound listeners of their own: each LISTEN_PORT takes every connection as one to the application's APP_PORT (that port's protocol, cluster and mTLS mode), e.g. 9080:15100,9443:15101; the injector sets it with a capture rule per container port, since the sidecar cannot read the original destination.",
  },
  adminPort: { type: "number", integer: true, default: 15000, env: "MESHWORK_ADMIN_PORT", description: "Admin API (/config_dump, /clusters, /stats, /ready, /drain, /logging); 0 picks one, -1 disables." },
  statsPort: { type: "number", integer: true, default: 15020, env: "MESHWORK_STATS_PORT", description: "Metrics and health (/stats/prometheus, /healthz/ready); 0 picks one, -1 disables." },
  proxyMode: {
    type: "string",
    choices: ["sidecar", "router"],
    default: "sidecar",
    env: "MESHWORK_PROXY_MODE",
    description: "router: the ingress gateway (Istio's `proxy router`): listen on the ports of the Gateways whose selector matches --labels and route with the VirtualServices bound to them.",
  },
  meshConfig: {
    type: "string",
    env: "MESHWORK_MESH_CONFIG",
    valueName: "FILE",
    description: "Istio MeshConfig YAML: extensionProviders (envoyExtAuthzHttp and envoyExtAuthzGrpc, for CUSTOM AuthorizationPolicies), trustDomainAliases, h2UpgradePolicy, defaultConfig.gatewayTopology.numTrustedProxies and proxyProtocol.",
  },
  numTrustedProxies: {
    type: "number",
    integer: true,
    env: "MESHWORK_NUM_TRUSTED_PROXIES",
    valueName: "N",
    description:
      "Router mode: proxies in front of the gateway whose X-Forwarded-For entries it trusts; remote.ip (AuthorizationPolicy remoteIpBlocks) is the Nth address from the right (Istio's gatewayTopology.numTrustedProxies, as the gateway's proxy.istio.io/config sets it). Default: --mesh-config's defaultConfig, else 0 (remote.ip = the TCP peer).",
  },
  proxyProtocol: {
    type: "boolean",
    env: "MESHWORK_PROXY_PROTOCOL",
    description:
      "Router mode: every gateway listener expects a PROXY protocol header (v1 or v2) from the load balancer in front, before any other byte (before TLS), and takes the client it names as the downstream address (X-Forwarded-For, remote.ip, access log); connections without one are closed (Istio's gatewayTopology.proxyProtocol: {}, as the gateway's proxy.istio.io/config sets it). Also on when --mesh-config's defaultConfig sets it.",
  },
  h2UpgradePolicy: {
    type: "string",
    choices: ["DO_NOT_UPGRADE", "UPGRADE"],
    env: "MESHWORK_H2_UPGRADE_POLICY",
    description:
      "MeshConfig h2UpgradePolicy (standalone mode; managed: the control plane's): UPGRADE sends HTTP/1.1 requests to HTTP ports upstream as HTTP/2 unless their DestinationRule says otherwise. Default: --mesh-config's, else DO_NOT_UPGRADE.",
  },
  outboundTrafficPolicy: { type: "string", choices: ["ALLOW_ANY", "REGISTRY_ONLY"], default: "ALLOW_ANY", env: "MESHWORK_OUTBOUND_TRAFFIC_POLICY", description: "Hosts the config does not know: proxied as they are (ALLOW_ANY) or 404 NR (REGISTRY_ONLY)." },
  tcpUpstream: { type: "list", env: "MESHWORK_TCP_UPSTREAM", valueName: "SERVICE:PORT=[ADDR:]LOCALPORT", description: "Local TCP ports that always go to one service (Consul Connect upstreams), e.g. db.default.svc.cluster.local:5432=15432." },
  concurrency: { type: "number", integer: true, default: 1, env: "MESHWORK_CONCURRENCY", description: "Worker processes sharing the listeners (Envoy --concurrency); 0 = one per CPU." },
  headersTimeoutMs: { type: "number", integer: true, default: 10_000, env: "MESHWORK_HEADERS_TIMEOUT_MS", description: "A client must send a complete request head within this time (slowloris defence; 408)." },
  idleTimeoutMs: { type: "number", integer: true, default: 3_600_000, env: "MESHWORK_IDLE_TIMEOUT_MS", description: "Client connections idle this long are closed (Envoy's idle_timeout, 1 h)." },
  drainSeconds: { type: "number", default: 5, env: "MESHWORK_DRAIN_SECONDS", description: "On SIGTERM or /drain: time connections get to finish before they are closed." },
  accessLog: { type: "string", default: "stdout", env: "MESHWORK_ACCESS_LOG", valueName: "stdout|off|FILE", description: "JSON access log destination." },
  traceSampling: { type: "number", default: 1, env: "MESHWORK_TRACE_SAMPLING", description: "Percentage of new traces sampled (Istio's default 1 %)." },
  otlpEndpoint: { type: "string", env: "MESHWORK_OTLP_ENDPOINT", valueName: "URL", description: "OTLP/HTTP traces endpoint (http://host:4318/v1/traces); no tracing export when unset." },
  trustDomain: { type: "string", default: "cluster.local", env: "MESHWORK_TRUST_DOMAIN", description: "Trust domain of the mesh's SPIFFE IDs (spiffe://<trust domain>/ns/<ns>/sa/<sa>)." },
  rootNamespace: { type: "string", default: "istio-system", env: "MESHWORK_ROOT_NAMESPACE", description: "Istio's config root namespace: PeerAuthentications (and other policies) there without a selector apply to the whole mesh." },
  certDir: { type: "string", env: "MESHWORK_CERT_DIR", valueName: "DIR", description: "Workload certificate in Istio's file names (cert-chain.pem, key.pem, root-cert.pem), watched for changes; enables mutual TLS." },
  credentialDir: {
    type: "string",
    env: "MESHWORK_CREDENTIAL_DIR",
    valueName: "DIR",
    description: "The secrets a tls.credentialName names (a Gateway server's, a DestinationRule's), as DIR/<name>/{tls.crt,tls.key,ca.crt} (a Kubernetes secret volume's layout); watched for changes.",
  },
  caAddress: { type: "string", env: "MESHWORK_CA_ADDRESS", valueName: "HOST:PORT", description: "Get the workload certificate from the mesh CA (instead of --cert-dir); needs --ca-root-cert and --workload-token-file." },
  caRootCert: { type: "string", env: "MESHWORK_CA_ROOT_CERT", valueName: "FILE", description: "PEM roots that sign the CA's serving certificate (the mesh root, the CA's root-cert.pem)." },
  caSpiffeId: { type: "string", env: "MESHWORK_CA_SPIFFE_ID", valueName: "ID", description: "The CA's SPIFFE ID (default spiffe://<trust domain>/ns/mesh-system/sa/ca)." },
  workloadTokenFile: { type: "string", env: "MESHWORK_WORKLOAD_TOKEN_FILE", valueName: "FILE", description: "Workload token the CA attests the workload with (meshctl token issue); read at every certificate request." },
  serviceAccount: { type: "string", default: "default", env: "MESHWORK_SERVICE_ACCOUNT", description: "The workload's service account: its SPIFFE ID is spiffe://<trust domain>/ns/<namespace>/sa/<service account>." },
  svidTtlSeconds: { type: "number", integer: true, default: 3600, env: "MESHWORK_SVID_TTL_SECONDS", description: "Lifetime asked of the CA for each certificate (renewed at half of it)." },
  workloadApiSocket: { type: "string", env: "MESHWORK_WORKLOAD_API_SOCKET", valueName: "PATH", description: "Serve the SPIFFE Workload API (X.509 and JWT-SVIDs) to the workload on this Unix socket, e.g. /var/run/secrets/workload-spiffe-uds/socket; needs --ca-address or --cert-dir (JWT-SVIDs: --ca-address). Off when unset." },
  tlsMinVersion: { type: "string", choices: ["TLSv1.3", "TLSv1.2"], default: "TLSv1.3", env: "MESHWORK_TLS_MIN_VERSION", description: "Lowest TLS version of mesh mutual TLS (TLS 1.3 by default; TLSv1.2 allows 1.2 peers)." },
  kubeAppProbers: {
    type: "string",
    env: "MESHWORK_KUBE_APP_PROBERS",
    valueName: "JSON",
    description: "The app's probes the injector moved to /app-health/<container>/livez|readyz|startupz on the stats port (Istio's ISTIO_KUBE_APP_PROBERS).",
  },
  registryAgent: {
    type: "string",
    env: "MESHWORK_REGISTRY_AGENT",
    valueName: "URL",
    description:
      "HTTP address of the node's registry agent (a Consul agent API: `meshwork-registry agent --http-port`): once ready, register the workload's inbound listener there (name = app label, ID = workload name, an HTTP check on /healthz/ready) and deregister on SIGTERM.",
  },
  dnsPort: {
    type: "number",
    integer: true,
    env: "MESHWORK_DNS_PORT",
    description:
      "Istio's DNS proxying: answer A/AAAA queries for the mesh's service hosts (ServiceEntry addresses, cluster IPs, auto-allocated IPs; short names through the search domains) on this UDP and TCP port and forward other names upstream; 0 picks one, -1 disables. Default: off, or Istio's 15053 with --dns-capture.",
  },
  dnsCapture: {
    type: "boolean",
    env: "ISTIO_META_DNS_CAPTURE",
    description: "Turn DNS proxying on at Istio's port 15053, where the injector's capture rules send the pod's DNS traffic (proxyMetadata ISTIO_META_DNS_CAPTURE: \"true\").",
  },
  dnsAutoAllocate: {
    type: "boolean",
    env: "ISTIO_META_DNS_AUTO_ALLOCATE",
    description:
      "Give services without addresses (non-wildcard hosts whose resolution is not NONE) a virtual IP from 240.240.0.0/16 (IPv6 2001:2::/48), stable per host: the DNS proxy answers with it and TCP connections to it (CONNECT) reach the service.",
  },
  dnsBind: {
    type: "list",
    default: ["127.0.0.1"],
    env: "MESHWORK_DNS_BIND",
    valueName: "ADDR",
    description:
      "Addresses the DNS proxy listens on, all on the DNS port (capture redirects the pod's port-53 traffic to 127.0.0.1, IPv6's to ::1: give 127.0.0.1,::1 for both, as Istio's agent listens on localhost in both families).",
  },
  dnsUpstream: {
    type: "list",
    env: "MESHWORK_DNS_UPSTREAM",
    valueName: "HOST[:PORT]",
    description: "Resolvers names the mesh does not know are forwarded to, tried in order (the answer is relayed as it is; none answering gives SERVFAIL). Default: the nameservers of --dns-resolv-conf.",
  },
  dnsResolvConf: {
    type: "string",
    default: "/etc/resolv.conf",
    env: "MESHWORK_DNS_RESOLV_CONF",
    valueName: "FILE",
    description: "resolv.conf the DNS proxy reads its upstream nameservers and the pod's search domains from (the first search domain makes `<name>.<search domain>` a CNAME to a known name).",
  },
  ...trafficReportSettings,
  logLevel: { type: "string", choices: ["debug", "info", "warn", "error"], default: "info", env: "MESHWORK_LOG_LEVEL", description: "Least severe log level written." },
});

export type SidecarSettings = Settings<typeof sidecarSettings>;

/** Istio's DNS proxy port, where --dns-capture (ISTIO_META_DNS_CAPTURE) listens and the capture rules send port 53. */
export const istioDnsPort = 15053;

/** The DNS proxy's port: --dns-port, else Istio's 15053 with --dns-capture; -1 (off) otherwise. */
export function dnsProxyPort(settings: Pick<SidecarSettings, "dnsPort" | "dnsCapture">): number {
  return settings.dnsPort ?? (settings.dnsCapture ? istioDnsPort : -1);
}
