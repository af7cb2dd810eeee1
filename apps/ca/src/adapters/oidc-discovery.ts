// The OIDC discovery endpoints of the CA's JWT-SVID keys, in the shape of SPIRE's OIDC Discovery
// Provider: GET /.well-known/openid-configuration (issuer, jwks_uri, …) and GET /keys (the JWK
// Set, `use: "sig"`), so an Istio RequestAuthentication (jwksUri, issuer) or any OIDC relying
// party verifies JWT-SVIDs. Served unauthenticated on the admin listener: public keys only.
import type { PublishedJwk } from "../core/jwt-key-set.ts";

/** An answer of the discovery endpoints: JSON body, status and headers. */
export interface DiscoveryResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
}

/** The paths served. */
export const oidcDiscoveryPaths = { configuration: "/.well-known/openid-configuration", keys: "/keys" } as const;

/**
 * Answers `path` when it is a discovery path, else undefined. `host` is the request's Host header:
 * `jwks_uri` points where the client reached us (http://, as the admin listener has no TLS; a
 * TLS-terminating proxy in front passes `x-forwarded-proto`), and the issuer is the CA's
 * `--jwt-issuer` or, without one, that same base URL (SPIRE derives both from its domain).
 */
export function answerOidcDiscovery(
  request: { readonly path: string; readonly host: string | undefined; readonly forwardedProto: string | undefined },
  jwt: { readonly issuer: string | undefined; readonly keys: () => { readonly keys: readonly PublishedJwk[] } | undefined },
): DiscoveryResponse | undefined {
  if (request.path !== oidcDiscoveryPaths.configuration && request.path !== oidcDiscoveryPaths.keys) return undefined;
  const keys = jwt.keys();
  const headers = { "cache-control": "max-age=60" };
  if (keys === undefined) return { status: 404, body: { error: "this CA signs no JWT-SVIDs" }, headers: {} };
  if (request.path === oidcDiscoveryPaths.keys) return { status: 200, body: keys, headers };
  const scheme = request.forwardedProto === "https" ? "https" : "http";
  const base = `${scheme}://${request.host ?? "localhost"}`;
  return {
    status: 200,
    headers,
    body: {
      issuer: jwt.issuer ?? base,
      jwks_uri: `${base}${oidcDiscoveryPaths.keys}`,
      authorization_endpoint: "",
      response_types_supported: ["id_token"],
      subject_types_supported: [],
      id_token_signing_alg_values_supported: ["ES256"],
    },
  };
}
