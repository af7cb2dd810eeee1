// bookinfo's settings: flags and environment (docs/design/app-conventions.md), declared once.
// The service to run is the first argument (`bookinfo reviews --version v2 --port 9080`).
import { defineSettings, type Settings } from "@meshwork/runtime";

export const bookinfoSettings = defineSettings({
  version: { type: "string", choices: ["v1", "v2", "v3"], default: "v1", env: "MESHWORK_BOOKINFO_VERSION", description: "The workload's version: for reviews v1 shows no stars, v2 black stars, v3 red stars; a label for the others." },
  port: { type: "number", integer: true, default: 9080, env: "MESHWORK_BOOKINFO_PORT", description: "Port the service listens on; 0 picks one. With `all`: productpage's, the others take the next three." },
  bind: { type: "string", default: "127.0.0.1", env: "MESHWORK_BOOKINFO_BIND", description: "Address the service binds (0.0.0.0 in a container)." },
  outboundProxy: { type: "string", env: "MESHWORK_BOOKINFO_OUTBOUND_PROXY", valueName: "URL", description: "The sidecar's outbound listener (http://127.0.0.1:15001): calls to details, reviews and ratings go there, naming the service (http://reviews:9080)." },
  outboundStyle: { type: "string", choices: ["absolute", "host"], default: "absolute", env: "MESHWORK_BOOKINFO_OUTBOUND_STYLE", description: "How calls name the service to the proxy: absolute-form target (HTTP_PROXY style) or origin-form with Host." },
  servicesDomain: { type: "string", env: "MESHWORK_BOOKINFO_SERVICES_DOMAIN", description: "Suffix of the service names called (Istio's SERVICES_DOMAIN): reviews → reviews.<domain>." },
  detailsUrl: { type: "string", env: "MESHWORK_BOOKINFO_DETAILS_URL", valueName: "URL", description: "Call details here directly, bypassing --outbound-proxy (tests, runs without a mesh)." },
  reviewsUrl: { type: "string", env: "MESHWORK_BOOKINFO_REVIEWS_URL", valueName: "URL", description: "Call reviews here directly, bypassing --outbound-proxy." },
  ratingsUrl: { type: "string", env: "MESHWORK_BOOKINFO_RATINGS_URL", valueName: "URL", description: "Call ratings here directly, bypassing --outbound-proxy." },
  upstreamTimeoutMs: { type: "number", integer: true, env: "MESHWORK_BOOKINFO_UPSTREAM_TIMEOUT_MS", description: "Deadline of every call this service makes (default: Istio's, productpage 3000 per attempt, reviews v2 10000 and v3 2500 to ratings)." },
  podName: { type: "string", env: "MESHWORK_BOOKINFO_POD_NAME", description: "What reviews reports as its pod (\"Reviews served by: ...\"); default reviews-<version>-<pid>." },
  sessionSecret: { type: "string", default: "meshwork-bookinfo-demo-secret", env: "MESHWORK_BOOKINFO_SESSION_SECRET", description: "Key that signs productpage's sign-in cookie; replicas must share it. The default suits a demo only." },
  drainMs: { type: "number", integer: true, default: 5000, env: "MESHWORK_BOOKINFO_DRAIN_MS", description: "On SIGTERM, time in-flight requests get before their connections are cut." },
  logLevel: { type: "string", choices: ["debug", "info", "warn", "error"], default: "info", env: "MESHWORK_LOG_LEVEL", description: "Least severe log level written (debug adds one line per request)." },
});

export type BookinfoSettings = Settings<typeof bookinfoSettings>;
