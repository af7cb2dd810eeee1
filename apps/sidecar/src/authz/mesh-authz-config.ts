// The subset of Istio's MeshConfig the authorization layer uses, and Istio's defaults for it. The
// parser (parse-mesh-config.ts, which loads the YAML and config libraries) is loaded only when the
// sidecar is given --mesh-config.

/** A header-name pattern list of MeshConfig: "abc" exact, "abc*" prefix, "*abc" suffix, case-insensitive. */
export type HeaderNamePatterns = readonly string[];

/**
 * MeshConfig includeRequestBodyInCheck (EnvoyExternalAuthorizationRequestBody, Envoy's
 * with_request_body BufferSettings), decoded: the data path reads the body of a request the
 * provider is asked about before the check, and sends it in the check.
 */
export interface ExtAuthzRequestBody {
  /** Most body bytes held for the check (Envoy's max_request_bytes; at least 1). A larger body is answered 413 unless allowPartialMessage. */
  readonly maxRequestBytes: number;
  /** Check with the first maxRequestBytes of a larger body (`x-envoy-auth-partial-body: true`) instead of answering 413. */
  readonly allowPartialMessage: boolean;
  /** gRPC providers: the body goes in raw_body (bytes) instead of body (UTF-8 text). No effect on HTTP providers (Istio's doc). */
  readonly packAsBytes: boolean;
}

/** What both kinds of external authorizer providers have (Istio's two provider messages share these fields). */
interface ExtAuthzProviderCommon {
  readonly name: string;
  /** e.g. "ext-authz.foo.svc.cluster.local" (a "<namespace>/" prefix is dropped). */
  readonly service: string;
  readonly port: number;
  /** Istio's default: 600 s. */
  readonly timeoutMs: number;
  /** Allow the request when the authorizer cannot be reached or fails (HTTP: also a 5xx). Default false: fail closed. */
  readonly failOpen: boolean;
  /** Status sent to the client when the authorizer fails and failOpen is false. Default 403. */
  readonly statusOnError: number;
  /** Buffer the request body for the check; undefined: the check carries no body and the request streams. */
  readonly includeRequestBodyInCheck: ExtAuthzRequestBody | undefined;
}

/** MeshConfig.ExtensionProvider.EnvoyExternalAuthorizationHttpProvider, decoded. */
export interface ExtAuthzHttpProvider extends ExtAuthzProviderCommon {
  readonly type: "http";
  /** Prepended to the original path in the check request. */
  readonly pathPrefix: string;
  /** Request headers copied into the check request (besides Host, Method, Path and Content-Length, which always go); the deprecated includeHeadersInCheck when this is unset. */
  readonly includeRequestHeadersInCheck: HeaderNamePatterns;
  /** Headers added to the check request, `name: value`. */
  readonly includeAdditionalHeadersInCheck: Readonly<Record<string, string>>;
  /** Headers of the authorizer's OK response added to the upstream request. */
  readonly headersToUpstreamOnAllow: HeaderNamePatterns;
  /** Headers of the authorizer's OK response added to the response to the client. */
  readonly headersToDownstreamOnAllow: HeaderNamePatterns;
  /** Headers of the authorizer's denial passed to the client; undefined: all but Host and framing headers (Envoy's default). */
  readonly headersToDownstreamOnDeny: HeaderNamePatterns | undefined;
}

/**
 * MeshConfig.ExtensionProvider.EnvoyExternalAuthorizationGrpcProvider, decoded: an authorizer
 * serving Envoy's `envoy.service.auth.v3.Authorization/Check` (OPA-Envoy, Istio's sample ext-authz
 * on port 9000). Every request header goes in the check; the answer says which headers change.
 */
export interface ExtAuthzGrpcProvider extends ExtAuthzProviderCommon {
  readonly type: "grpc";
}

/** An extension provider CUSTOM policies can name. */
export type ExtAuthzProvider = ExtAuthzHttpProvider | ExtAuthzGrpcProvider;

export interface MeshAuthzConfig {
  readonly rootNamespace: string;
  readonly trustDomain: string;
  readonly trustDomainAliases: readonly string[];
  readonly extensionProviders: readonly ExtAuthzProvider[];
}

/** Istio's defaults when MeshConfig says nothing. */
export const defaultMeshAuthzConfig: MeshAuthzConfig = Object.freeze({
  rootNamespace: "istio-system",
  trustDomain: "cluster.local",
  trustDomainAliases: [],
  extensionProviders: [],
});
