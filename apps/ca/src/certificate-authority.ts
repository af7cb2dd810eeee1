// The CA's state and its operation, issuing: the signing chain (a parent CA — our root or a
// plugged-in CA — and the rotating intermediate under it), the JWT-SVID signing keys, the
// published trust bundle (X.509 roots and JWT authorities) with its watchers, and the attestation
// pipeline (token → decideIssue / decideJwtSvid → one-time token → rate limit → sign). No sockets
// or files: the gRPC service and main.ts wire it (key persistence is a callback); time and crypto
// are injected.
import {
  addRoot,
  certificatesToPem,
  createIntermediateCa,
  generateKeyPair,
  removeRoot,
  rootsOf,
  trustBundles,
  type SigningCa,
  type SpiffeId,
  type TrustBundles,
  type TrustDomain,
} from "@meshwork/pki";
import type { Logger } from "@meshwork/telemetry";
import { verifyWorkloadToken, type TokenVerification } from "@meshwork/workload-identity";
import { inThreadIssuanceCrypto, type IssuanceCrypto } from "./adapters/issuance-crypto.ts";
import { generateJwtSigningKey, signJwt, type JwtKeys } from "./adapters/jwt-keys.ts";
import type { CaMetrics } from "./core/ca-metrics.ts";
import { decideIssue, type IssuePolicy } from "./core/decide-issue.ts";
import { decideJwtSvid, type JwtSvidRequest } from "./core/decide-jwt-svid.ts";
import { jwksOf, jwtSvidClaims, pruneJwtKeys, rotateJwtKeys, type PublishedJwk } from "./core/jwt-key-set.ts";
import { intermediateRotationAtMs } from "./core/intermediate-rotation.ts";
import { OneTimeTokens } from "./core/one-time-tokens.ts";
import { refuse, type Refusal } from "./core/refusal.ts";
import { TokenBuckets, type RateLimit } from "./core/token-bucket.ts";

/** A CreateCertificate request as the service receives it. */
export interface CertificateRequest {
  readonly csrPem: string;
  readonly validitySeconds: number;
  readonly workloadToken: string;
  /** The bundle version the workload holds (its acknowledgement during a root rotation). */
  readonly trustBundleVersion?: number | undefined;
}

/** An issued chain, PEM, leaf first and root last, with the facts the audit log records. */
export interface IssuedChain {
  readonly type: "issued";
  readonly certChainPem: readonly string[];
  readonly spiffeId: SpiffeId;
  readonly serialHex: string;
  readonly ttlSeconds: number;
  readonly notAfter: Date;
}

/** A CreateJwtSvid request as the service receives it. */
export interface JwtSvidOrder extends JwtSvidRequest {
  readonly workloadToken: string;
}

/** A signed JWT-SVID with the facts the audit log records. */
export interface IssuedJwtSvid {
  readonly type: "issued-jwt";
  /** JWS Compact Serialization. */
  readonly token: string;
  readonly spiffeId: SpiffeId;
  readonly audiences: readonly string[];
  readonly kid: string;
  readonly expiresAt: Date;
}

/** The published bundle: the trust domain's roots, its JWT authorities and a version that grows with each change. */
export interface PublishedBundle {
  readonly trustDomain: TrustDomain;
  readonly rootsPem: readonly string[];
  /** The JWT-SVID keys (use "jwt-svid"); empty without JWT-SVIDs. */
  readonly jwtAuthorities: readonly PublishedJwk[];
  readonly version: number;
}

/** JWT-SVID issuance: the keys, the lifetime, the `iss`, and where key changes are persisted. */
export interface JwtOptions {
  readonly keys: JwtKeys;
  readonly ttlSeconds: number;
  /** The `iss` of every JWT-SVID (and of the OIDC discovery document); absent: no `iss`, as SPIRE without jwt_issuer. */
  readonly issuer: string | undefined;
  /** Writes the keys (jwt-keys.json) before they sign or are published. */
  readonly persist: (keys: JwtKeys) => Promise<void>;
}

/** Everything the authority needs; see main.ts for the real values. */
export interface AuthorityOptions {
  readonly trustDomain: TrustDomain;
  /** The CA our intermediates are created under (our root, or a plugged-in CA with its chain). */
  readonly parent: SigningCa;
  /** Roots published besides the parent's root (e.g. a previous root during a rotation). */
  readonly extraRoots?: readonly Uint8Array[];
  /** The bundle to publish at start instead of parent + extraRoots (a rotation resumed after a restart). */
  readonly initialBundle?: { readonly roots: readonly Uint8Array[]; readonly version: number };
  /** Called after every issuance (the root rotation's bookkeeping). */
  readonly onIssued?: (issued: IssuedChain, request: CertificateRequest) => void;
  /**
   * Verifies tokens the mesh token issuer did not mint (e.g. Kubernetes service-account tokens
   * through TokenReview): `accepts` picks them, `verify` returns claims as a mesh token would carry.
   */
  readonly externalAttestor?: {
    accepts(token: string): boolean;
    verify(token: string): Promise<TokenVerification | Refusal>;
  };
  readonly intermediateTtlSeconds: number;
  readonly policy: IssuePolicy;
  readonly rateLimit: RateLimit;
  /** The mesh token issuer's public key (ES256). */
  readonly tokenPublicKey: CryptoKey;
  readonly crypto: Crypto;
  readonly clock: () => Date;
  /** Monotonic milliseconds, for latency. */
  readonly monotonicMs: () => number;
  readonly logger: Logger;
  readonly metrics: CaMetrics;
  /** Token / CSR verification and signing (default: on this thread with `crypto`; IssuancePool: on worker threads). */
  readonly issuanceCrypto?: IssuanceCrypto;
  /** JWT-SVIDs; absent: CreateJwtSvid answers ca-unavailable and the bundle has no JWT authorities. */
  readonly jwt?: JwtOptions;
}

/** The running CA. Create with {@link CertificateAuthority.create}. */
export class CertificateAuthority {
  readonly #options: AuthorityOptions;
  readonly #steps: IssuanceCrypto;
  readonly #oneTime = new OneTimeTokens();
  readonly #buckets: TokenBuckets;
  readonly #watchers = new Set<(bundle: PublishedBundle) => void>();
  #parent: SigningCa;
  #signer: SigningCa;
  #rotateAtMs: number;
  #rotating: Promise<void> | undefined;
  #bundles: TrustBundles;
  #version = 1;
  #jwtKeys: JwtKeys | undefined;
  #jwtRotating: Promise<unknown> | undefined;

  private constructor(options: AuthorityOptions, signer: SigningCa) {
    this.#options = options;
    this.#steps = options.issuanceCrypto ?? inThreadIssuanceCrypto(options.tokenPublicKey, options.crypto);
    this.#parent = options.parent;
    this.#signer = signer;
    this.#rotateAtMs = this.#rotationTime(signer);
    this.#buckets = new TokenBuckets(options.rateLimit);
    let bundles = trustBundles([[options.trustDomain, options.initialBundle ? [...options.initialBundle.roots] : [rootOf(options.parent)]]]);
    if (!options.initialBundle) for (const root of options.extraRoots ?? []) bundles = addRoot(bundles, options.trustDomain, root);
    this.#bundles = bundles;
    if (options.initialBundle) this.#version = options.initialBundle.version;
    this.#jwtKeys = options.jwt?.keys;
  }

  /** Creates the authority and its first intermediate signing CA. */
  static async create(options: AuthorityOptions): Promise<CertificateAuthority> {
    return new CertificateAuthority(options, await createSigner(options.parent, options));
  }

  /** The CA our intermediates are created under (changes at a root rotation's switch). */
  get parent(): SigningCa {
    return this.#parent;
  }

  /** The CA currently signing leaves. */
  get signingCa(): SigningCa {
    return this.#signer;
  }

  /** The current bundle. */
  bundle(): PublishedBundle {
    return {
      trustDomain: this.#options.trustDomain,
      rootsPem: rootsOf(this.#bundles, this.#options.trustDomain).map((r) => certificatesToPem([r])),
      jwtAuthorities: this.#jwtKeys ? jwksOf(this.#jwtKeys, "jwt-svid").keys : [],
      version: this.#version,
    };
  }

  /** The JWT-SVID keys as an OIDC discovery JWK Set (`use: "sig"`), for `/keys`; undefined without JWT-SVIDs. */
  jwtKeySet(): { readonly keys: readonly PublishedJwk[] } | undefined {
    return this.#jwtKeys ? jwksOf(this.#jwtKeys, "sig") : undefined;
  }

  /** The `iss` of the JWT-SVIDs (undefined: none). */
  get jwtIssuer(): string | undefined {
    return this.#options.jwt?.issuer;
  }

  /** The current bundle as TrustBundles (for verifying what this CA issued). */
  trustBundles(): TrustBundles {
    return this.#bundles;
  }

  /** Calls `listener` on every bundle change; returns the unsubscribe function. */
  watch(listener: (bundle: PublishedBundle) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  /**
   * Attests and signs one request. Refusals are values; `caller` (the peer address) goes to the
   * audit line. Every outcome is counted in the metrics.
   */
  async issue(request: CertificateRequest, caller: string): Promise<IssuedChain | Refusal> {
    const started = this.#options.monotonicMs();
    const outcome = await this.#issue(request);
    const { logger, metrics } = this.#options;
    if (outcome.type === "refuse") {
      metrics.countRefusal(outcome.reason);
      logger.warn("certificate refused", { audit: true, reason: outcome.reason, detail: outcome.message, caller });
      return outcome;
    }
    metrics.issued++;
    metrics.observeSigning((this.#options.monotonicMs() - started) / 1000);
    logger.info("certificate issued", { audit: true, serial: outcome.serialHex, spiffeId: outcome.spiffeId, ttlSeconds: outcome.ttlSeconds, notAfter: outcome.notAfter.toISOString(), caller });
    this.#options.onIssued?.(outcome, request);
    return outcome;
  }

  /**
   * Attests a CreateJwtSvid request as {@link issue} does (same token checks, one-time tokens and
   * per-ID rate limit) and signs a JWT-SVID with the current key. Refusals are values.
   */
  async issueJwtSvid(order: JwtSvidOrder, caller: string): Promise<IssuedJwtSvid | Refusal> {
    const outcome = await this.#issueJwtSvid(order);
    const { logger, metrics } = this.#options;
    if (outcome.type === "refuse") {
      metrics.countRefusal(outcome.reason);
      logger.warn("JWT-SVID refused", { audit: true, reason: outcome.reason, detail: outcome.message, caller });
      return outcome;
    }
    metrics.jwtSvidsIssued++;
    logger.info("JWT-SVID issued", { audit: true, spiffeId: outcome.spiffeId, audiences: outcome.audiences, kid: outcome.kid, expiresAt: outcome.expiresAt.toISOString(), caller });
    return outcome;
  }

  async #issueJwtSvid(order: JwtSvidOrder): Promise<IssuedJwtSvid | Refusal> {
    const { policy, jwt, crypto } = this.#options;
    if (!jwt || !this.#jwtKeys) return refuse("ca-unavailable", "this CA signs no JWT-SVIDs");
    const external = this.#options.externalAttestor;
    const token = external?.accepts(order.workloadToken) ? await external.verify(order.workloadToken) : await verifyWorkloadToken(order.workloadToken, { publicKey: this.#options.tokenPublicKey, crypto });
    if ("type" in token) return token;
    if (!token.ok) return refuse(token.reason, token.detail);
    const now = this.#options.clock();
    const decision = decideJwtSvid(order, token.claims, { ...policy, jwtTtlSeconds: jwt.ttlSeconds }, now);
    if (decision.type === "refuse") return decision;
    const refused = this.#admit(decision, token.claims.expSeconds, now.getTime(), "SVIDs");
    if (refused) return refused;
    const key = this.#jwtKeys.signing;
    const claims = jwtSvidClaims({ spiffeId: decision.spiffeId, audiences: decision.audiences, now, ttlSeconds: decision.ttlSeconds, issuer: jwt.issuer });
    const signed = await signJwt(key, claims, crypto);
    return { type: "issued-jwt", token: signed, spiffeId: decision.spiffeId, audiences: decision.audiences, kid: key.kid, expiresAt: new Date((claims["exp"] as number) * 1000) };
  }

  /**
   * JWT key rotation: a new key signs from now on; the previous one stays published (bundle and
   * /keys) until every JWT-SVID it signed has expired (JWT TTL + clock skew), then
   * {@link pruneJwtKeys} drops it. Persisted before it is published. Concurrent calls share one.
   */
  async rotateJwtKey(): Promise<{ readonly kid: string; readonly previousKid: string; readonly previousPublishedUntil: string }> {
    const jwt = this.#options.jwt;
    if (!jwt || !this.#jwtKeys) throw new Error("this CA signs no JWT-SVIDs");
    const rotation = (async () => {
      const current = this.#jwtKeys as JwtKeys;
      const nowMs = this.#options.clock().getTime();
      const next = rotateJwtKeys(current, await generateJwtSigningKey(this.#options.crypto), nowMs, (jwt.ttlSeconds + this.#options.policy.clockSkewSeconds) * 1000);
      await jwt.persist(next);
      this.#jwtKeys = next;
      this.#announce();
      const retired = next.retired.at(-1) as NonNullable<(typeof next.retired)[number]>;
      this.#options.logger.info("JWT signing key rotated", { kid: next.signing.kid, previousKid: retired.kid, previousPublishedUntil: new Date(retired.publishUntilMs).toISOString() });
      return { kid: next.signing.kid, previousKid: retired.kid, previousPublishedUntil: new Date(retired.publishUntilMs).toISOString() };
    })();
    const previous = this.#jwtRotating ?? Promise.resolve();
    const chained = previous.then(() => rotation);
    this.#jwtRotating = chained.catch(() => undefined);
    return chained;
  }

  /** Drops retired JWT keys whose JWT-SVIDs have all expired (persisted, then published); the maintenance timer calls it. */
  async pruneJwtKeys(): Promise<void> {
    const jwt = this.#options.jwt;
    if (!jwt || !this.#jwtKeys) return;
    const pruned = pruneJwtKeys(this.#jwtKeys, this.#options.clock().getTime());
    if (pruned === this.#jwtKeys) return;
    await jwt.persist(pruned);
    this.#jwtKeys = pruned;
    this.#announce();
  }

  /**
   * After an issue decision, before signing: a one-time token is refused when spent, the identity's
   * token bucket must have room (`what` names what it asked for), then the one-time token is spent.
   */
  #admit(decision: { readonly spiffeId: string; readonly oneTimeTokenId?: string | undefined }, tokenExpSeconds: number, nowMs: number, what: string): Refusal | undefined {
    if (decision.oneTimeTokenId !== undefined && this.#oneTime.isSpent(decision.oneTimeTokenId, nowMs)) {
      return refuse("token-reused", `one-time workload token ${decision.oneTimeTokenId} was already used; mint a new one`);
    }
    if (!this.#buckets.take(decision.spiffeId, nowMs)) {
      const { ratePerSecond, burst } = this.#options.rateLimit;
      return refuse("rate-limited", `"${decision.spiffeId}" asked for more than ${ratePerSecond} ${what}/s (burst ${burst}); retry with backoff`);
    }
    if (decision.oneTimeTokenId !== undefined) this.#oneTime.spend(decision.oneTimeTokenId, (tokenExpSeconds + this.#options.policy.clockSkewSeconds) * 1000, nowMs);
    return undefined;
  }

  async #issue(request: CertificateRequest): Promise<IssuedChain | Refusal> {
    const { policy } = this.#options;
    const external = this.#options.externalAttestor;
    const checked = external?.accepts(request.workloadToken) ? undefined : await this.#steps.check(request.workloadToken, request.csrPem);
    const token = checked ? checked.token : await (external as NonNullable<typeof external>).verify(request.workloadToken);
    if ("type" in token) return token;
    if (!token.ok) return refuse(token.reason, token.detail);
    const csr = checked ? checked.csr : await this.#steps.checkCsr(request.csrPem);
    if (!csr.ok) return refuse("csr-invalid", `the CSR is refused (${csr.reason}): ${csr.detail}`);
    const now = this.#options.clock();
    const decision = decideIssue({ requestedId: csr.csr.requestedId, validitySeconds: request.validitySeconds }, token.claims, policy, now);
    if (decision.type === "refuse") return decision;
    const nowMs = now.getTime();
    const refused = this.#admit(decision, token.claims.expSeconds, nowMs, "certificates");
    if (refused) return refused;
    if (nowMs >= this.#rotateAtMs) await this.rotateIntermediate();
    const signer = this.#signer;
    const issued = await this.#steps.issue({ csr: csr.csr, spiffeId: decision.spiffeId, ttlSeconds: decision.ttlSeconds, issuer: signer, now });
    if (!issued.ok) return refuse("ca-unavailable", `the CA cannot sign (${issued.reason}): ${issued.detail}`);
    const { svid } = issued;
    return {
      type: "issued",
      certChainPem: [certificatesToPem([svid.certificate]), ...issuerChainPem(signer)],
      spiffeId: svid.spiffeId,
      serialHex: svid.serialHex,
      ttlSeconds: Math.min(decision.ttlSeconds, Math.ceil((svid.notAfter.getTime() - nowMs) / 1000)),
      notAfter: svid.notAfter,
    };
  }

  /** Replaces the intermediate when due (or when `force`); concurrent calls share one rotation. */
  async rotateIntermediate(force = false): Promise<void> {
    if (!force && this.#options.clock().getTime() < this.#rotateAtMs) return;
    this.#rotating ??= (async () => {
      try {
        const next = await createSigner(this.#parent, this.#options);
        this.#signer = next;
        this.#rotateAtMs = this.#rotationTime(next);
        this.#options.logger.info("intermediate CA rotated", { notAfter: next.notAfter.toISOString(), rotateAt: new Date(this.#rotateAtMs).toISOString() });
      } finally {
        this.#rotating = undefined;
      }
    })();
    await this.#rotating;
  }

  /**
   * Root rotation, step 1 (DESIGN.md §3.3): publish a bundle holding the old and the new root, so
   * every workload trusts both before anything is signed under the new one.
   */
  publishRoot(newParent: SigningCa): void {
    this.#publish(addRoot(this.#bundles, this.#options.trustDomain, rootOf(newParent)));
  }

  /**
   * Root rotation, step 2, once the bundle has reached the workloads: sign with a new intermediate
   * under `newParent`. Leaves issued before still chain to the old root, which stays published.
   */
  async switchParent(newParent: SigningCa): Promise<void> {
    this.publishRoot(newParent);
    this.#parent = newParent;
    await this.rotateIntermediate(true);
  }

  /** Steps 1 and 2 at once, for a CA whose workloads tolerate a short window of unknown roots (tests, first setup). */
  async rotateRoot(newParent: SigningCa): Promise<void> {
    await this.switchParent(newParent);
  }

  /** Root rotation, step 3: drop `root` (DER) from the bundle once every workload holds the new chain. */
  retireRoot(root: Uint8Array): void {
    this.#publish(removeRoot(this.#bundles, this.#options.trustDomain, root));
  }

  #publish(bundles: TrustBundles): void {
    if (bundles === this.#bundles) return;
    this.#bundles = bundles;
    this.#announce();
  }

  /** A new bundle version to every watcher (X.509 roots or JWT authorities changed). */
  #announce(): void {
    this.#version++;
    const bundle = this.bundle();
    this.#options.logger.info("trust bundle changed", { version: bundle.version, roots: bundle.rootsPem.length, jwtAuthorities: bundle.jwtAuthorities.length });
    for (const watcher of this.#watchers) watcher(bundle);
  }

  #rotationTime(signer: SigningCa): number {
    return intermediateRotationAtMs(signer, this.#options.policy.maxTtlSeconds);
  }
}

const issuerChainPems = new WeakMap<SigningCa, readonly string[]>();

/** The PEM of a signing CA's chain, encoded once per CA (SigningCa is immutable) rather than per leaf. */
function issuerChainPem(ca: SigningCa): readonly string[] {
  let pems = issuerChainPems.get(ca);
  if (!pems) issuerChainPems.set(ca, (pems = ca.chain.map((der) => certificatesToPem([der]))));
  return pems;
}

/** The last certificate of a CA's chain: its root. */
function rootOf(ca: SigningCa): Uint8Array {
  return ca.chain[ca.chain.length - 1] as Uint8Array;
}

/** An intermediate under `parent`, or `parent` itself when its path length allows no intermediate. */
async function createSigner(parent: SigningCa, options: AuthorityOptions): Promise<SigningCa> {
  if (parent.pathHeadroom !== undefined && parent.pathHeadroom < 1) return parent;
  const keys = await generateKeyPair("ecdsa-p256", { crypto: options.crypto, extractable: false });
  const created = await createIntermediateCa({ parent, keys, now: options.clock(), ttlSeconds: options.intermediateTtlSeconds, crypto: options.crypto, commonName: "Meshwork Signing CA" });
  if (!created.ok) throw new Error(`cannot create the intermediate signing CA (${created.reason}): ${created.detail}`);
  return created.ca;
}
