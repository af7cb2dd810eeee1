// The CA's settings: flags and environment (docs/design/app-conventions.md), declared once.
import { defineSettings } from "@meshwork/runtime";

/** Every setting of the CA process. */
export const caSettings = defineSettings({
  trustDomain: { type: "string", default: "cluster.local", env: "MESHWORK_TRUST_DOMAIN", description: "Trust domain of the SPIFFE IDs this CA issues." },
  dataDir: { type: "string", default: ".meshwork/ca", env: "MESHWORK_CA_DATA_DIR", valueName: "DIR", description: "Where the root CA and token issuer keys live (created on first start, keys mode 0600)." },
  caCert: { type: "string", env: "MESHWORK_CA_CERT", valueName: "FILE", description: "Plugged-in CA certificate (Istio cacerts ca-cert.pem); with --ca-key and --root-cert." },
  caKey: { type: "string", env: "MESHWORK_CA_KEY", valueName: "FILE", description: "Plugged-in CA private key (ca-key.pem, mode 0600)." },
  certChain: { type: "string", env: "MESHWORK_CA_CERT_CHAIN", valueName: "FILE", description: "Plugged-in CA's issuers up to the root (cert-chain.pem)." },
  rootCert: { type: "string", env: "MESHWORK_CA_ROOT_CERT", valueName: "FILE", description: "Plugged-in root certificate (root-cert.pem)." },
  host: { type: "string", default: "127.0.0.1", env: "MESHWORK_CA_HOST", description: "Address the gRPC and admin listeners bind." },
  grpcPort: { type: "number", integer: true, default: 15012, env: "MESHWORK_CA_GRPC_PORT", description: "gRPC (TLS) port of mesh.ca.v1.CertificateService; 0 picks one." },
  adminPort: { type: "number", integer: true, default: 15014, env: "MESHWORK_CA_ADMIN_PORT", description: "HTTP port of /healthz, /readyz, /metrics, the admin API and the JWT-SVID keys' OIDC discovery (/.well-known/openid-configuration, /keys); 0 picks one." },
  tokenIssuer: { type: "string", default: "meshwork", env: "MESHWORK_TOKEN_ISSUER", description: "The iss workload tokens must carry." },
  tokenAudience: { type: "string", default: "meshwork-ca", env: "MESHWORK_TOKEN_AUDIENCE", description: "The aud workload tokens must contain." },
  defaultTtlSeconds: { type: "number", integer: true, default: 3600, env: "MESHWORK_CA_DEFAULT_TTL_SECONDS", description: "SVID lifetime when a request asks for 0." },
  maxTtlSeconds: { type: "number", integer: true, default: 86400, env: "MESHWORK_CA_MAX_TTL_SECONDS", description: "Longer requests are clamped to this." },
  jwtTtlSeconds: { type: "number", integer: true, default: 300, env: "MESHWORK_CA_JWT_TTL_SECONDS", description: "Lifetime of a JWT-SVID (CreateJwtSvid); 0 turns JWT-SVIDs off." },
  jwtIssuer: { type: "string", env: "MESHWORK_CA_JWT_ISSUER", valueName: "URL", description: "The iss of JWT-SVIDs and of /.well-known/openid-configuration (default: no iss; discovery answers with its own URL)." },
  intermediateTtlSeconds: { type: "number", integer: true, default: 7 * 86400, env: "MESHWORK_CA_INTERMEDIATE_TTL_SECONDS", description: "Lifetime of the intermediate signing CA (rotated at half-life)." },
  rootTtlSeconds: { type: "number", integer: true, default: 10 * 365 * 86400, env: "MESHWORK_CA_ROOT_TTL_SECONDS", description: "Lifetime of a root CA created on first start." },
  allowedNamespaces: { type: "list", env: "MESHWORK_CA_ALLOWED_NAMESPACES", description: "Namespaces that may get certificates (default: all)." },
  rateLimitPerSecond: { type: "number", default: 50, env: "MESHWORK_CA_RATE_LIMIT_PER_SECOND", description: "Certificates per second per SPIFFE ID; 0 turns limiting off." },
  rateLimitBurst: { type: "number", integer: true, default: 100, env: "MESHWORK_CA_RATE_LIMIT_BURST", description: "Requests a SPIFFE ID may make at once." },
  clockSkewSeconds: { type: "number", integer: true, default: 60, env: "MESHWORK_CA_CLOCK_SKEW_SECONDS", description: "Leeway on token exp/nbf." },
  adminTokenFile: { type: "string", env: "MESHWORK_CA_ADMIN_TOKEN_FILE", valueName: "FILE", description: "Bearer token (file content, mode 0600) the admin API (/v1/ca/status, /v1/ca/rotate-root) requires." },
  adminAllowRemote: { type: "boolean", env: "MESHWORK_CA_ADMIN_ALLOW_REMOTE", description: "Let non-loopback clients call the admin API (requires --admin-token-file)." },
  kubeApiServer: { type: "string", env: "MESHWORK_CA_KUBE_API_SERVER", valueName: "URL", description: "Kubernetes API server (https://...): accept service-account tokens, checked by TokenReview." },
  kubeTokenFile: { type: "string", env: "MESHWORK_CA_KUBE_TOKEN_FILE", valueName: "FILE", description: "The CA's bearer token for the API server (may create tokenreviews); with --kube-api-server." },
  kubeCaFile: { type: "string", env: "MESHWORK_CA_KUBE_CA_FILE", valueName: "FILE", description: "PEM roots of the API server's certificate; with --kube-api-server." },
  issuanceWorkers: { type: "number", integer: true, default: 1, env: "MESHWORK_CA_ISSUANCE_WORKERS", description: "Worker threads for token/CSR checks and signing, beside the main thread that serves gRPC/TLS (0: everything on the main thread)." },
  logLevel: { type: "string", choices: ["debug", "info", "warn", "error"], default: "info", env: "MESHWORK_LOG_LEVEL", description: "Least severe log level written." },
});
