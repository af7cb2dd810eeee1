// Builds the inbound chain's request security for a config (RequestAuthentication and
// AuthorizationPolicy of the proxy's workload, for HTTP requests and inbound TCP connections),
// handing fetched JWKS over from the previous build so a config push never leaves a window
// without keys.
import { compileAuthorization, compileRequestAuthentication, type ProxyConfig } from "@meshwork/proxy-core";
import type { Logger } from "@meshwork/telemetry";
import { createJwksFetcher, createRequestAuthenticator, type RequestAuthenticator } from "./authn/index.ts";
import type { ExternalAuthorizer } from "./authz/check-external.ts";
import type { MeshAuthzConfig } from "./authz/mesh-authz-config.ts";
import { InboundSecurity } from "./proxy/inbound-security.ts";

export interface InboundSecurityBuild {
  readonly security: InboundSecurity;
  readonly authn: RequestAuthenticator;
}

export interface InboundSecurityOptions {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Root namespace and trust domain from settings, when the config does not say. */
  readonly rootNamespace: string;
  readonly trustDomain: string;
  readonly mesh: MeshAuthzConfig;
  /** Clients of the mesh config's envoyExtAuthzGrpc providers by name; they outlive each build (the caller closes them). */
  readonly grpcAuthorizers?: ReadonlyMap<string, ExternalAuthorizer> | undefined;
  readonly logger: Logger;
}

export function buildInboundSecurity(config: ProxyConfig, options: InboundSecurityOptions, previous: InboundSecurityBuild | undefined): InboundSecurityBuild {
  const workload = { namespace: options.namespace, labels: options.labels };
  const rootNamespace = config.rootNamespace ?? options.rootNamespace;
  const authnConfig = compileRequestAuthentication(config.requestAuthentications ?? [], workload, { rootNamespace });
  for (const issue of authnConfig.issues) options.logger.warn("request authentication rule set aside", { detail: issue });
  const authn = createRequestAuthenticator(authnConfig, {
    now: () => Date.now(),
    timers: { setTimeout: (callback, ms) => setTimeout(callback, ms).unref(), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
    fetchJwks: createJwksFetcher(),
    onJwksFetch: (event) => (event.ok ? options.logger.debug("JWKS fetched", event) : options.logger.warn("JWKS fetch failed; the last good keys stay in use", event)),
    ...(previous ? { previous: previous.authn } : {}),
  });
  previous?.authn.close();
  const providers = new Map(options.mesh.extensionProviders.map((provider) => [provider.name, provider]));
  const engine = compileAuthorization(config.authorizationPolicies ?? [], workload, {
    rootNamespace,
    trustDomain: config.trustDomain ?? options.trustDomain,
    trustDomainAliases: options.mesh.trustDomainAliases,
    extensionProviders: [...providers.keys()],
    // Istio applies CUSTOM policies with an envoyExtAuthzGrpc provider to TCP too (Envoy's network
    // ext_authz); envoyExtAuthzHttp providers only to HTTP.
    tcpExtensionProviders: options.mesh.extensionProviders.filter((provider) => provider.type === "grpc").map((provider) => provider.name),
  });
  for (const issue of engine.issues) options.logger.warn("authorization rule set aside", { detail: issue });
  const grpcAuthorizers = options.grpcAuthorizers;
  return { authn, security: new InboundSecurity({ authn, authz: { engine, providers, ...(grpcAuthorizers ? { grpcAuthorizers } : {}) } }) };
}
