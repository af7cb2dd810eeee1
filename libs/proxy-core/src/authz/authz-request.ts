// What the authorization engine sees of one request or connection: the attributes Istio's
// AuthorizationPolicy and its `when` conditions read. The data path fills it once per request;
// every field is optional, and a missing attribute never matches a positive field (as in Envoy's RBAC).

/** Header lookup by lower-case name; repeated headers joined with "," (Envoy merges them so). */
export type AuthzHeaders = (lowerCaseName: string) => string | undefined;

/** The verified JWT of a request (set by request authentication); claims as decoded from its payload. */
export interface AuthzRequestAuth {
  /**
   * The payload's claims. `requestPrincipals` / `request.auth.principal` match `iss` and `sub`
   * ("<iss>/<sub>"), `request.auth.audiences` matches `aud` (string or list), `request.auth.presenter`
   * matches `azp`, and `request.auth.claims[a][b]` walks nested objects; a claim matches when it is a
   * string equal to a value or a list holding one.
   */
  readonly claims: Readonly<Record<string, unknown>>;
}

export interface AuthzRequest {
  /**
   * "http" (default) or "tcp". On TCP, HTTP-only fields (hosts, methods, paths, requestPrincipals,
   * request.* conditions) cannot be evaluated: an ALLOW rule using them is skipped, a DENY/AUDIT/CUSTOM
   * rule ignores them (so it matches more), as Istio's TCP filter chain does.
   */
  readonly protocol?: "http" | "tcp";
  /** `:authority` / Host as received, port included if the client sent one. */
  readonly host?: string;
  /** `:method`, upper case. */
  readonly method?: string;
  /**
   * The request path after normalization (normalizeAuthzPath); anything from `?` on is ignored here,
   * as Istio compares paths without the query.
   */
  readonly path?: string;
  readonly headers?: AuthzHeaders;
  /** Address of the direct peer (the `source.ip` attribute). */
  readonly sourceIp?: string;
  /** Original client address from X-Forwarded-For / PROXY protocol (`remote.ip`); defaults to sourceIp. */
  readonly remoteIp?: string;
  readonly destinationIp?: string;
  readonly destinationPort?: number;
  /**
   * The verified mTLS peer identity as Istio writes principals: the SPIFFE ID without "spiffe://",
   * e.g. "cluster.local/ns/default/sa/sleep". Undefined on plaintext: then principals, namespaces and
   * serviceAccounts never match (and their `not` forms always do).
   */
  readonly sourcePrincipal?: string;
  /** Undefined when the request carries no verified JWT. */
  readonly requestAuth?: AuthzRequestAuth;
  /** TLS SNI of the downstream connection (`connection.sni`); undefined without TLS. */
  readonly sni?: string;
  /** Dynamic metadata for `experimental.envoy.filters.<filter>[<key>]` conditions. */
  readonly filterMetadata?: (filter: string, key: string) => unknown;
}
