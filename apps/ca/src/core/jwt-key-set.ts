// The CA's JWT-SVID signing keys as data (SPIFFE JWT-SVID §3, Trust Domain and Bundle §4): the
// key that signs now and the keys it replaced, which stay published until every JWT-SVID they
// signed has expired. Rotation, pruning and the JWK Sets published from it are pure functions;
// the private keys live beside this in adapters/jwt-keys.ts.

/** An EC P-256 public key as a JWK (RFC 7518 §6.2), the members the RFC 7638 thumbprint covers. */
export interface EcPublicJwk {
  readonly kty: "EC";
  readonly crv: "P-256";
  readonly x: string;
  readonly y: string;
}

/** A published key: its `kid` and public half. */
export interface PublishedJwtKey {
  readonly kid: string;
  readonly jwk: EcPublicJwk;
}

/** A replaced key, published until `publishUntilMs` (ms since the epoch). */
export interface RetiredJwtKey extends PublishedJwtKey {
  readonly publishUntilMs: number;
}

/** The keys: `signing` signs every new JWT-SVID; `retired` only verify. */
export interface JwtKeySet<Signing extends PublishedJwtKey = PublishedJwtKey> {
  readonly signing: Signing;
  readonly retired: readonly RetiredJwtKey[];
}

/** One JWK of a published set. `use` is "jwt-svid" in SPIFFE bundles, "sig" in OIDC discovery. */
export interface PublishedJwk extends EcPublicJwk {
  readonly kid: string;
  readonly use: "jwt-svid" | "sig";
  readonly alg: "ES256";
}

/**
 * `next` signs from now on; the key it replaces stays published for `retainMs` (the longest a
 * JWT-SVID it signed can still be valid: the JWT TTL plus the verifiers' clock skew).
 */
export function rotateJwtKeys<S extends PublishedJwtKey>(set: JwtKeySet<S>, next: S, nowMs: number, retainMs: number): JwtKeySet<S> {
  const { kid, jwk } = set.signing;
  return { signing: next, retired: [...pruneJwtKeys(set, nowMs).retired, { kid, jwk, publishUntilMs: nowMs + retainMs }] };
}

/** Drops retired keys whose JWT-SVIDs have all expired; returns `set` itself when none has. */
export function pruneJwtKeys<S extends PublishedJwtKey>(set: JwtKeySet<S>, nowMs: number): JwtKeySet<S> {
  const kept = set.retired.filter((key) => key.publishUntilMs > nowMs);
  return kept.length === set.retired.length ? set : { signing: set.signing, retired: kept };
}

/** The JWK Set (RFC 7517 §5) to publish: the signing key first, then the retired ones. */
export function jwksOf(set: JwtKeySet, use: PublishedJwk["use"]): { readonly keys: readonly PublishedJwk[] } {
  return { keys: [set.signing, ...set.retired].map(({ kid, jwk }) => ({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid, use, alg: "ES256" })) };
}

/** The claims of a JWT-SVID (JWT-SVID §3): `sub`, `aud` (a string when there is one), `exp`, `iat`, and `iss` when the CA has one. */
export function jwtSvidClaims(options: { readonly spiffeId: string; readonly audiences: readonly string[]; readonly now: Date; readonly ttlSeconds: number; readonly issuer: string | undefined }): Record<string, unknown> {
  const iat = Math.floor(options.now.getTime() / 1000);
  const aud = options.audiences.length === 1 ? options.audiences[0] : [...options.audiences];
  return { ...(options.issuer !== undefined ? { iss: options.issuer } : {}), sub: options.spiffeId, aud, exp: iat + options.ttlSeconds, iat };
}
