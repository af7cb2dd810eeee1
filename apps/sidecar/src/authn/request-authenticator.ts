// The JWT layer of the inbound chain (DESIGN.md §3.5: peer auth → JWT authn → authz): checks the
// tokens a request carries against the workload's RequestAuthentication rules with Istio's
// semantics — no token passes anonymously, an invalid token is refused with Envoy's 401 — and says
// what to forward: the request principal and claims for authorization, and the header edits.
// Synchronous whenever the keys are at hand; only a request that must wait for a key fetch gets a
// Promise. Semantics and diagram: docs/design/request-authentication.md.
import type { AuthnRequest, CompiledJwtRule, FoundToken, RequestAuthnConfig } from "@meshwork/proxy-core";
import { findTokens } from "@meshwork/proxy-core";
import type { Timers } from "@meshwork/runtime";
import { inlineJwks, RemoteJwks, type FetchJwks, type JwksSource } from "./jwks-source.ts";
import { jwtStatusMessages, rejectionStatusCode, type JwtStatus } from "./jwt-status.ts";
import type { Jwk } from "./parse-jwks.ts";
import { own, parseJwt, type ParsedJwt } from "./parse-jwt.ts";
import { verifySignature } from "./verify-signature.ts";

/** Header changes for the request forwarded upstream: apply `remove` first, then `set`; `path` replaces the request target when set. */
export interface HeaderEdits {
  readonly set: readonly (readonly [name: string, value: string])[];
  /** Lowercase names to remove (every field of that name). */
  readonly remove: readonly string[];
  /** The request path with the token's query parameter removed (forwardOriginalToken false and the token came from a parameter). */
  readonly path?: string;
}

export type AuthnResult =
  /** No token anywhere the rules look (or a CORS preflight): forwarded without a request principal. */
  | { readonly type: "anonymous"; readonly headerEdits: HeaderEdits }
  | {
      readonly type: "authenticated";
      /** `iss/sub` of the verified token (Istio's request.auth.principal, matched by requestPrincipals). */
      readonly principal: string;
      /** The token's claims, space-delimited claims (scope, permission, …) split into lists; for `request.auth.claims[...]`. */
      readonly claims: Readonly<Record<string, unknown>>;
      /** The token's `aud` (request.auth.audiences). */
      readonly audiences: readonly string[];
      /** The token's `azp`, "" when absent (request.auth.presenter). */
      readonly presenter: string;
      readonly headerEdits: HeaderEdits;
    }
  | {
      readonly type: "rejected";
      /** 401, or 403 when only the audience is wrong (as Envoy answers). */
      readonly status: 401 | 403;
      /** Envoy's text, e.g. "Jwt is expired". */
      readonly body: string;
      /** Value of the `www-authenticate` response header. */
      readonly wwwAuthenticate: string;
      readonly reason: JwtStatus;
      /** Envoy's response code details for the access log, e.g. `jwt_authn_access_denied{Jwt_is_expired}`. */
      readonly details: string;
    };

export interface RequestAuthenticator {
  /** No rule applies: leave the layer out of the chain. */
  readonly isEmpty: boolean;
  /**
   * Authenticates one request. Returns the result directly unless a key set must be fetched first
   * (the first use of a jwksUri, or a token whose kid the cached set lacks).
   */
  authenticate(request: AuthnRequest): AuthnResult | Promise<AuthnResult>;
  /** Resolves when every fetched key set has had its first fetch settle (for readiness). */
  ready(): Promise<void>;
  /** Stops refreshing the key sets this authenticator owns. */
  close(): void;
  /** Counters (Envoy's jwt_authn stats), carried over from `previous` so they survive config pushes. */
  readonly stats: JwtAuthnStats;
}

/** Envoy's `http.<prefix>.jwt_authn.*` counters, camel-cased. Anonymous requests count as allowed. */
export interface JwtAuthnStats {
  allowed: number;
  denied: number;
  corsPreflightBypassed: number;
  jwksFetchSuccess: number;
  jwksFetchFailed: number;
  jwtCacheHit: number;
  jwtCacheMiss: number;
}

export interface RequestAuthenticatorDeps {
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  readonly timers: Timers;
  readonly fetchJwks: FetchJwks;
  /** Envoy's default clock skew for exp and nbf: 60 s. */
  readonly clockSkewSeconds?: number;
  readonly cacheDurationMs?: number;
  readonly retryMs?: number;
  readonly kidRefetchIntervalMs?: number;
  readonly onJwksFetch?: (event: { readonly uri: string; readonly ok: boolean; readonly error?: string; readonly keyCount?: number }) => void;
  /**
   * The authenticator this one replaces after a config push: its fetched key sets with the same URI
   * and timeout are taken over (no refetch, no window without keys), and so are its `stats`. Close
   * it afterwards; the sets taken over stay open (their fetch events still go to the `onJwksFetch`
   * they were created with).
   */
  readonly previous?: RequestAuthenticator;
}

const noEdits: HeaderEdits = Object.freeze({ set: Object.freeze([]), remove: Object.freeze([]) });
const anonymousPlain: AuthnResult = Object.freeze({ type: "anonymous", headerEdits: noEdits });

/** Envoy truncates the path in the realm to 256 characters (jwt_authn filter.cc MaximumUriLength). */
const maxRealmPathLength = 256;

type Check = "Ok" | JwtStatus | "Wait";

/**
 * A token seen recently: parsed once, and per rule the key set that verified its signature. Node's
 * OpenSSL 3 spends 90–400 µs per signature check, so clients that reuse a token (most do) pay it
 * once (Envoy has the same idea: jwt_cache_config). Time, issuer and audience are checked every time.
 */
interface SeenToken {
  readonly jwt: ParsedJwt | JwtStatus;
  readonly verifiedWith: (readonly Jwk[] | undefined)[];
}

/** Tokens remembered per authenticator, least recently used forgotten first. */
export const tokenCacheSize = 512;
/** Longer tokens are not remembered, so the cache holds at most a few megabytes. */
const maxCachedTokenLength = 8 * 1024;

/** Builds the authenticator of one workload's compiled config. Remote key sets start fetching at once. */
export function createRequestAuthenticator(config: RequestAuthnConfig, deps: RequestAuthenticatorDeps): RequestAuthenticator {
  const stats: JwtAuthnStats = deps.previous?.stats ?? { allowed: 0, denied: 0, corsPreflightBypassed: 0, jwksFetchSuccess: 0, jwksFetchFailed: 0, jwtCacheHit: 0, jwtCacheMiss: 0 };
  if (config.isEmpty) {
    return { isEmpty: true, authenticate: () => anonymousPlain, ready: () => Promise.resolve(), close: () => undefined, stats };
  }
  const onFetch = (event: { readonly uri: string; readonly ok: boolean; readonly error?: string; readonly keyCount?: number }): void => {
    if (event.ok) stats.jwksFetchSuccess++;
    else stats.jwksFetchFailed++;
    deps.onJwksFetch?.(event);
  };
  const inherited = deps.previous instanceof Authenticator ? deps.previous.remote : undefined;
  const remote = new Map<string, RemoteJwks>();
  const sources = config.rules.map((rule): JwksSource => {
    const spec = rule.jwks;
    if (spec.type === "inline") return inlineJwks(spec.jwks);
    if (spec.type === "none") return inlineJwks('{"keys":[]}');
    const discovery = spec.type === "discovery";
    const uri = discovery ? spec.configurationUri : spec.uri;
    const key = `${spec.timeoutMs} ${discovery ? "discover" : "fetch"} ${uri}`;
    let source = remote.get(key) ?? inherited?.get(key);
    inherited?.delete(key);
    source ??= new RemoteJwks({
      uri,
      discovery,
      timeoutMs: spec.timeoutMs,
      fetchJwks: deps.fetchJwks,
      now: deps.now,
      timers: deps.timers,
      ...(deps.cacheDurationMs !== undefined ? { cacheDurationMs: deps.cacheDurationMs } : {}),
      ...(deps.retryMs !== undefined ? { retryMs: deps.retryMs } : {}),
      ...(deps.kidRefetchIntervalMs !== undefined ? { kidRefetchIntervalMs: deps.kidRefetchIntervalMs } : {}),
      onFetch,
    });
    remote.set(key, source);
    return source;
  });
  return new Authenticator(config, sources, remote, deps.now, deps.clockSkewSeconds ?? 60, stats);
}

class Authenticator implements RequestAuthenticator {
  readonly isEmpty = false;
  readonly stats: JwtAuthnStats;
  private readonly anonymous: AuthnResult;
  /** ruleLocations[i][location] is true when rule i reads that location. */
  private readonly ruleLocations: readonly (readonly boolean[])[];
  /** Map iteration order is insertion order: the first key is the least recently used. */
  private readonly seen = new Map<string, SeenToken>();

  private readonly config: RequestAuthnConfig;
  private readonly sources: readonly JwksSource[];
  readonly remote: Map<string, RemoteJwks>;
  private readonly now: () => number;
  private readonly skewSeconds: number;

  constructor(config: RequestAuthnConfig, sources: readonly JwksSource[], remote: Map<string, RemoteJwks>, now: () => number, skewSeconds: number, stats: JwtAuthnStats) {
    this.stats = stats;
    this.config = config;
    this.sources = sources;
    this.remote = remote;
    this.now = now;
    this.skewSeconds = skewSeconds;
    this.anonymous =
      config.sanitizeHeaders.length === 0 ? anonymousPlain : Object.freeze({ type: "anonymous", headerEdits: Object.freeze({ set: noEdits.set, remove: config.sanitizeHeaders }) });
    this.ruleLocations = config.rules.map((rule) => config.locations.map((_, i) => rule.locations.includes(i)));
  }

  authenticate(request: AuthnRequest): AuthnResult | Promise<AuthnResult> {
    // Istio sets bypass_cors_preflight: a preflight carries no credentials and is never refused.
    // (Envoy then skips sanitising too; we still remove the output headers, which costs nothing.)
    if (request.method === "OPTIONS" && request.header("origin") !== undefined && request.header("access-control-request-method") !== undefined) {
      this.stats.corsPreflightBypassed++;
      return this.anonymous;
    }
    const tokens = findTokens(this.config, request);
    if (tokens === undefined) {
      this.stats.allowed++;
      return this.anonymous;
    }
    const parsed = tokens.map((t) => this.lookup(t.token));
    const waits: Promise<void>[] = [];
    const first = this.evaluate(request, tokens, parsed, waits);
    if (first !== undefined) return this.counted(first);
    return Promise.all(waits).then(() => this.counted(this.evaluate(request, tokens, parsed, undefined) as AuthnResult));
  }

  private counted(result: AuthnResult): AuthnResult {
    if (result.type === "rejected") this.stats.denied++;
    else this.stats.allowed++;
    return result;
  }

  private lookup(token: string): SeenToken {
    const hit = this.seen.get(token);
    if (hit !== undefined) {
      this.stats.jwtCacheHit++;
      this.seen.delete(token);
      this.seen.set(token, hit);
      return hit;
    }
    this.stats.jwtCacheMiss++;
    const entry: SeenToken = { jwt: parseJwt(token), verifiedWith: [] };
    if (token.length <= maxCachedTokenLength) {
      if (this.seen.size >= tokenCacheSize) this.seen.delete(this.seen.keys().next().value as string);
      this.seen.set(token, entry);
    }
    return entry;
  }

  ready(): Promise<void> {
    return Promise.all(this.sources.map((s) => s.ready())).then(() => undefined);
  }

  close(): void {
    for (const source of this.remote.values()) source.close();
    this.remote.clear();
  }

  /**
   * Istio's requirement (pilot convertToEnvoyJwtConfig): OR{P1, …, Pn, AND{OR{Pi, allow_missing}}}.
   * A request passes when some rule finds tokens in its locations and all of them verify under it,
   * or when no rule finds any token. Otherwise the first failing rule's first failure is the answer.
   * With `waits` given, checks that need a key fetch push it there and the result is undefined.
   */
  private evaluate(request: AuthnRequest, tokens: readonly FoundToken[], parsed: readonly SeenToken[], waits: Promise<void>[] | undefined): AuthnResult | undefined {
    let passed: number[] | undefined;
    let failure: JwtStatus | undefined;
    let mustWait = false;
    let anyToken = false;
    for (let r = 0; r < this.config.rules.length; r++) {
      const reads = this.ruleLocations[r] as readonly boolean[];
      let seen = false;
      let ruleFailure: JwtStatus | undefined;
      let ruleWaits = false;
      for (let t = 0; t < tokens.length; t++) {
        if (!reads[(tokens[t] as FoundToken).location]) continue;
        seen = true;
        const result = this.check(r, parsed[t] as SeenToken, waits);
        if (result === "Wait") ruleWaits = true;
        else if (result !== "Ok") {
          ruleFailure ??= result;
        }
      }
      if (!seen) continue;
      anyToken = true;
      if (ruleWaits) mustWait = true;
      else if (ruleFailure === undefined) (passed ??= []).push(r);
      else failure ??= ruleFailure;
    }
    if (mustWait) return undefined;
    if (passed !== undefined) return this.authenticated(request, tokens, parsed, passed);
    if (!anyToken || failure === undefined) return this.anonymous;
    return rejection(request, failure);
  }

  /** One token under one rule, in Envoy's order (authenticator.cc startVerify): parse, issuer, time, audience, signature. */
  private check(r: number, seen: SeenToken, waits: Promise<void>[] | undefined): Check {
    const jwt = seen.jwt;
    if (typeof jwt === "string") return jwt;
    const rule = this.config.rules[r] as CompiledJwtRule;
    const source = this.sources[r] as JwksSource;
    if (rule.issuer !== "" && jwt.iss !== rule.issuer) return "JwtUnknownIssuer";
    const nowSeconds = Math.floor(this.now() / 1000);
    if (nowSeconds + this.skewSeconds < jwt.nbf) return "JwtNotYetValid";
    if (jwt.exp !== 0 && nowSeconds > jwt.exp + this.skewSeconds) return "JwtExpired";
    if (!audiencesAllowed(rule.audiences, jwt.audiences)) return "JwtAudienceNotAllowed";
    const keys = source.keys();
    if (keys === "pending") {
      if (waits === undefined) return "JwksFetchFail";
      waits.push(source.fetching());
      return "Wait";
    }
    if (typeof keys === "string") {
      if (keys !== "JwksFetchFail" || waits === undefined) return keys;
      // A fetched set that never loaded: try again now (rate-limited) rather than fail at once, as Envoy fetches on demand.
      const fetching = source.refetch();
      if (fetching === undefined) return keys;
      waits.push(fetching);
      return "Wait";
    }
    if (seen.verifiedWith[r] === keys) return "Ok";
    const verdict = verifySignature(jwt, keys);
    if (verdict === "Ok") seen.verifiedWith[r] = keys;
    if (verdict === "JwksKidAlgMismatch" && waits !== undefined) {
      // A kid the cached set lacks: the issuer may have rotated in a new key. Fetch before failing.
      const fetching = source.refetch();
      if (fetching !== undefined) {
        waits.push(fetching);
        return "Wait";
      }
    }
    return verdict;
  }

  private authenticated(request: AuthnRequest, tokens: readonly FoundToken[], parsed: readonly SeenToken[], passed: readonly number[]): AuthnResult {
    const rules = this.config.rules;
    const set: [string, string][] = [];
    const remove = [...this.config.sanitizeHeaders];
    const removeParams: string[] = [];
    let principalJwt: ParsedJwt | undefined;
    let principalRule: CompiledJwtRule | undefined;
    for (const r of passed) {
      const rule = rules[r] as CompiledJwtRule;
      const reads = this.ruleLocations[r] as readonly boolean[];
      let ruleJwt: ParsedJwt | undefined;
      for (let t = 0; t < tokens.length; t++) {
        const token = tokens[t] as FoundToken;
        if (!reads[token.location]) continue;
        ruleJwt ??= (parsed[t] as SeenToken).jwt as ParsedJwt;
        if (rule.forwardOriginalToken) continue;
        const location = this.config.locations[token.location];
        if (location?.type === "header" && !remove.includes(location.name)) remove.push(location.name);
        // Envoy removes a parameter token by rewriting the path; cookies are left as they are (Envoy: TODO).
        if (location?.type === "param") removeParams.push(location.name);
      }
      if (ruleJwt === undefined) continue;
      principalJwt ??= ruleJwt;
      principalRule ??= rule;
      if (rule.outputPayloadToHeader !== "") set.push([rule.outputPayloadToHeader, ruleJwt.payloadBase64url]);
      for (const [header, claim] of rule.outputClaimToHeaders) {
        const value = claimHeaderValue(claimAt(ruleJwt.payload, claim));
        if (value !== "") set.push([header, value]);
      }
    }
    const jwt = principalJwt as ParsedJwt;
    const azp = own(jwt.payload, "azp");
    const path = removeParams.length > 0 ? withoutParams(request.path, removeParams) : undefined;
    return {
      type: "authenticated",
      principal: `${jwt.iss}/${jwt.sub}`,
      claims: normalizeClaims(jwt.payload, (principalRule as CompiledJwtRule).spaceDelimitedClaims),
      audiences: jwt.audiences,
      presenter: typeof azp === "string" ? azp : "",
      headerEdits: path === undefined ? { set, remove } : { set, remove, path },
    };
  }
}

function rejection(request: AuthnRequest, reason: JwtStatus): AuthnResult {
  const body = jwtStatusMessages[reason];
  return {
    type: "rejected",
    status: rejectionStatusCode(reason),
    body,
    wwwAuthenticate: `Bearer realm="${realm(request)}"${reason === "JwtMissed" ? "" : ', error="invalid_token"'}`,
    reason,
    details: `jwt_authn_access_denied{${body.replace(/\s/g, "_")}}`,
  };
}

/** The request URL as Envoy rebuilds it (Http::Utility::buildOriginalUri): forwarded proto, host and path (with query), the path cut at 256 characters. */
function realm(request: AuthnRequest): string {
  const scheme = request.scheme ?? request.header("x-forwarded-proto") ?? "http";
  const host = request.authority ?? request.header(":authority") ?? request.header("host") ?? "";
  const path = request.path.length > maxRealmPathLength ? request.path.slice(0, maxRealmPathLength) : request.path;
  return `${scheme}://${host}${path}`.replace(/["\\]/g, (c) => `\\${c}`);
}

/**
 * Envoy's CheckAudience: no configured audience accepts any token; otherwise some `aud` must equal
 * some configured audience after both drop an `http://` / `https://` prefix and a trailing slash.
 */
export function audiencesAllowed(configured: readonly string[], audiences: readonly string[]): boolean {
  if (configured.length === 0) return true;
  for (const aud of audiences) {
    const a = sanitizeAudience(aud);
    for (const c of configured) if (sanitizeAudience(c) === a) return true;
  }
  return false;
}

function sanitizeAudience(aud: string): string {
  let start = 0;
  if (aud.startsWith("http://")) start = 7;
  else if (aud.startsWith("https://")) start = 8;
  const end = aud.endsWith("/") && aud.length > start ? aud.length - 1 : aud.length;
  return aud.slice(start, end);
}

/** A claim by name; a dotted name walks nested objects (Envoy StructUtils::GetValue). */
export function claimAt(payload: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(payload, name) || !name.includes(".")) return own(payload, name);
  let value: unknown = payload;
  for (const part of name.split(".")) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    value = own(value as Record<string, unknown>, part);
  }
  return value;
}

/**
 * The header text of a claim for outputClaimToHeaders (Envoy addJWTClaimToHeader): strings as they
 * are, booleans as true/false, whole non-negative numbers as integers and other numbers as C's
 * `%f`; objects, lists and absent claims give "" (no header).
 */
export function claimHeaderValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number" && Number.isFinite(value)) {
    if (value >= 0 && value < 2 ** 64 && Number.isInteger(value)) return BigInt(value).toString();
    return value.toFixed(6);
  }
  return "";
}

/** The claims for authorization, with each space-delimited claim (Envoy normalize_payload_in_metadata) split into a list. */
function normalizeClaims(payload: Readonly<Record<string, unknown>>, spaceDelimited: readonly string[]): Readonly<Record<string, unknown>> {
  let out: Record<string, unknown> | undefined;
  for (const name of spaceDelimited) {
    const value = own(payload, name);
    if (typeof value !== "string") continue;
    out ??= { ...payload };
    out[name] = value.split(" ").filter((v) => v !== "");
  }
  return out ?? payload;
}

/** `path` without the query parameters named in `names` (all occurrences). */
function withoutParams(path: string, names: readonly string[]): string {
  const q = path.indexOf("?");
  if (q < 0) return path;
  const hash = path.indexOf("#", q);
  const query = path.slice(q + 1, hash < 0 ? path.length : hash);
  const kept = query.split("&").filter((pair) => {
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    let decoded = key;
    try {
      decoded = decodeURIComponent(key);
    } catch {
      // keep the raw key
    }
    return !names.includes(decoded);
  });
  return path.slice(0, q) + (kept.length > 0 ? `?${kept.join("&")}` : "") + (hash < 0 ? "" : path.slice(hash));
}
