// The subset of Istio's MeshConfig the authorization layer uses, and Istio's defaults for it. The
// parser (parse-mesh-config.ts, which loads the YAML and config libraries) is loaded only when the
// sidecar is given --mesh-config.

/** A header-name pattern list of MeshConfig: "abc" exact, "abc*" prefix, "*abc" suffix, case-insensitive. */
export type HeaderNamePatterns = readonly string[];

/** MeshConfig.ExtensionProvider.EnvoyExternalAuthorizationHttpProvider, decoded. */
export interface ExtAuthzHttpProvider {
  readonly name: string;
  /** e.g. "ext-authz.foo.svc.cluster.local" (a "<namespace>/" prefix is dropped). */
  readonly service: string;
  readonly port: number;
  /** Prepended to the original path in the check request. */
  readonly pathPrefix: string;
  /** Istio's default: 600 s. */
  readonly timeoutMs: number;
  /** Request headers copied into the check request (besides Host, Method, Path, Content-Length: 0 which always go). */
  readonly includeRequestHeadersInCheck: HeaderNamePatterns;
  /** Headers added to the check request, `name: value`. */
  readonly includeAdditionalHeadersInCheck: Readonly<Record<string, string>>;
  /** Headers of the authorizer's OK response added to the upstream request. */
  readonly headersToUpstreamOnAllow: HeaderNamePatterns;
  /** Headers of the authorizer's OK response added to the response to the client. */
  readonly headersToDownstreamOnAllow: HeaderNamePatterns;
  /** Headers of the authorizer's denial passed to the client; undefined: all but Host and framing headers (Envoy's default). */
  readonly headersToDownstreamOnDeny: HeaderNamePatterns | undefined;
  /** Allow the request when the authorizer cannot be reached or fails (5xx, timeout). Default false: fail closed. */
  readonly failOpen: boolean;
  /** Status sent to the client when the authorizer fails and failOpen is false. Default 403. */
  readonly statusOnError: number;
}

export interface MeshAuthzConfig {
  readonly rootNamespace: string;
  readonly trustDomain: string;
  readonly trustDomainAliases: readonly string[];
  readonly extensionProviders: readonly ExtAuthzHttpProvider[];
}

/** Istio's defaults when MeshConfig says nothing. */
export const defaultMeshAuthzConfig: MeshAuthzConfig = Object.freeze({
  rootNamespace: "istio-system",
  trustDomain: "cluster.local",
  trustDomainAliases: [],
  extensionProviders: [],
});
