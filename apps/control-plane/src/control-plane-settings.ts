// The control plane's settings: flags and environment (docs/design/app-conventions.md), declared once.
import { consoleSettings } from "./console/console-settings.ts";
import { defineSettings } from "@meshwork/runtime";

export const controlPlaneSettings = defineSettings({
  ...consoleSettings,
  id: { type: "string", env: "MESHWORK_CONTROL_PLANE_ID", valueName: "ID", description: "This replica's id, sent to proxies and shown in proxy-status (default: hostname-pid)." },
  bind: { type: "string", default: "127.0.0.1", env: "MESHWORK_CONTROL_PLANE_BIND", valueName: "HOST", description: "Address the gRPC and admin listeners bind." },
  grpcPort: { type: "number", integer: true, default: 15010, env: "MESHWORK_CONTROL_PLANE_GRPC_PORT", description: "mesh.discovery.v1.DiscoveryService (config push to proxies); 0 picks one." },
  adminPort: {
    type: "number",
    integer: true,
    default: 15014,
    env: "MESHWORK_CONTROL_PLANE_ADMIN_PORT",
    description: "Admin + config API: /healthz, /ready, /metrics, /debug/syncz, /debug/push_status, /debug/config_dump?proxy=, /api/v1/config; 0 picks one.",
  },
  registryGrpc: { type: "list", env: "MESHWORK_REGISTRY_GRPC", valueName: "HOST:PORT", description: "Registry servers' gRPC API (config KV and catalog watches); empty: no registry (directory config only, empty catalog)." },
  registryHttp: { type: "list", env: "MESHWORK_REGISTRY_HTTP", valueName: "URL", description: "Registry servers' Consul HTTP API, where /api/v1/config writes (http://HOST:PORT)." },
  configDir: { type: "string", env: "MESHWORK_CONFIG_DIR", valueName: "DIR", description: "Also read Istio YAML from this directory (local dev), watched for changes." },
  kubernetes: {
    type: "boolean",
    env: "MESHWORK_KUBERNETES",
    description: "Also read Istio and Meshwork CRDs, Services and EndpointSlices from the Kubernetes API (in-cluster service account, or KUBECONFIG).",
  },
  injectorPort: { type: "number", integer: true, env: "MESHWORK_INJECTOR_PORT", description: "Serve the sidecar-injector webhook (HTTPS, POST /inject) on this port; unset: no injector." },
  injectorTlsCert: { type: "string", env: "MESHWORK_INJECTOR_TLS_CERT", valueName: "FILE", description: "The injector's serving certificate (PEM); reloaded when the file changes." },
  injectorTlsKey: { type: "string", env: "MESHWORK_INJECTOR_TLS_KEY", valueName: "FILE", description: "The injector's private key (PEM)." },
  injectorSidecarImage: { type: "string", env: "MESHWORK_INJECTOR_SIDECAR_IMAGE", valueName: "IMAGE", description: "Sidecar image the injector adds to pods (default ghcr.io/meshwork/sidecar:0.1.0)." },
  defaultNamespace: { type: "string", default: "default", env: "MESHWORK_NAMESPACE", valueName: "NS", description: "Namespace of resources and registry services that name none." },
  domainSuffix: { type: "string", default: "cluster.local", env: "MESHWORK_DOMAIN_SUFFIX", valueName: "SUFFIX", description: "Cluster DNS suffix of service host names." },
  rootNamespace: { type: "string", default: "istio-system", env: "MESHWORK_ROOT_NAMESPACE", valueName: "NS", description: "Istio's config root namespace (mesh-wide Sidecar, rules, policies)." },
  trustDomain: { type: "string", default: "cluster.local", env: "MESHWORK_TRUST_DOMAIN", valueName: "DOMAIN", description: "Trust domain of the workloads' SPIFFE IDs." },
  trustBundle: { type: "string", env: "MESHWORK_TRUST_BUNDLE", valueName: "FILE", description: "PEM roots pushed to proxies as the TrustBundle resource (until the CA watch is wired)." },
  debounceMs: { type: "number", integer: true, default: 100, env: "MESHWORK_DEBOUNCE_MS", description: "Push after config has been quiet this long." },
  debounceMaxMs: { type: "number", integer: true, default: 10_000, env: "MESHWORK_DEBOUNCE_MAX_MS", description: "Push at the latest this long after the first change of a burst." },
  keepaliveMs: { type: "number", integer: true, default: 30_000, env: "MESHWORK_KEEPALIVE_MS", description: "HTTP/2 keepalive ping interval on proxy streams (dead peers are dropped after one unanswered ping)." },
  maxConnectionAgeMs: { type: "number", integer: true, default: 1_800_000, env: "MESHWORK_MAX_CONNECTION_AGE_MS", description: "Close proxy connections after this long so they rebalance over replicas (Istio: 30 min); 0 = never." },
  logLevel: { type: "string", choices: ["debug", "info", "warn", "error"], default: "info", env: "MESHWORK_LOG_LEVEL", description: "Least severe log level written." },
});
