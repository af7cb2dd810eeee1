// The workload agent a sidecar runs (DESIGN.md §3.3): keeps an SVID for one SPIFFE ID. The key is
// generated in memory for every certificate; the CSR goes to the CA with the workload token;
// renewal at 50 % ± jitter, retries with backoff, and the current certificate keeps serving
// while renewal fails. New material is pushed to live node:tls servers (`setSecureContext`) and
// to listeners; open connections keep their handshake. It also holds the CA's JWT authorities
// (JWT-SVID keys) for the Workload API. Nothing is written to disk.
import { createCsr, exportPrivateKeyPem, generateKeyPair, pemToDer, readCertificate, svidTlsMaterial, type SpiffeId, type SvidTlsMaterial, type TrustBundles, type TrustDomain } from "@meshwork/pki";
import type { Logger } from "@meshwork/telemetry";
import { renewalDelayMs, retryDelayMs, type Backoff } from "./renewal-schedule.ts";

/** Timers the agent uses; inject fakes in tests. */
export interface AgentTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What the agent needs. */
export interface WorkloadAgentOptions {
  readonly spiffeId: SpiffeId;
  /**
   * Sends the CSR (with the workload token) to the CA; resolves with the chain PEM, leaf first.
   * `held.trustBundleVersion` is the version of the bundle the agent trusts: send it as
   * CreateCertificateRequest.trust_bundle_version, the agent's acknowledgement in a root rotation.
   */
  readonly requestCertificate: (csrPem: string, held: { readonly trustBundleVersion: number | undefined }) => Promise<readonly string[]>;
  readonly bundles: TrustBundles;
  /** The version of `bundles` when they came from the CA's WatchTrustBundle (undefined: not from it). */
  readonly bundleVersion?: number;
  readonly clock: () => Date;
  readonly timers: AgentTimers;
  /** Uniform in [0, 1), for jitter. */
  readonly random: () => number;
  readonly logger?: Logger;
  readonly crypto?: Crypto;
  /** Default 0.1 (renewal between 40 % and 60 % of the lifetime). */
  readonly jitterFraction?: number;
  /** Default 250 ms → 30 s. */
  readonly backoff?: Backoff;
}

/** The agent's current SVID. */
export interface CurrentSvid {
  readonly chain: readonly Uint8Array[];
  readonly notAfter: Date;
  readonly material: SvidTlsMaterial;
}

/** Something whose TLS material can be replaced live, like node:tls `Server`. */
export interface SecureContextTarget {
  setSecureContext(options: { cert: string; key: string; ca: string }): void;
}

/** Keeps an SVID fresh. Create with {@link WorkloadAgent.start}. */
export class WorkloadAgent {
  readonly #options: WorkloadAgentOptions;
  readonly #listeners = new Set<(svid: CurrentSvid) => void>();
  #bundles: TrustBundles;
  #bundleVersion: number | undefined;
  #current: CurrentSvid;
  #privateKeyPem: string;
  #timer: unknown;
  #jwtAuthorities: ReadonlyMap<TrustDomain, string> = new Map();
  readonly #jwtListeners = new Set<(authorities: ReadonlyMap<TrustDomain, string>) => void>();
  #attempt = 0;
  #stopped = false;
  /** Completed rotations (renewals after the first certificate). */
  rotations = 0;
  /** Failed renewal attempts so far. */
  failures = 0;

  private constructor(options: WorkloadAgentOptions, first: { readonly svid: CurrentSvid; readonly privateKeyPem: string }) {
    this.#options = options;
    this.#bundles = options.bundles;
    this.#bundleVersion = options.bundleVersion;
    this.#current = first.svid;
    this.#privateKeyPem = first.privateKeyPem;
  }

  /** Gets the first SVID (retrying with backoff until it succeeds or `signal` aborts), then schedules renewal. */
  static async start(options: WorkloadAgentOptions, signal?: AbortSignal): Promise<WorkloadAgent> {
    for (let attempt = 0; ; attempt++) {
      try {
        const first = await fetchSvid(options, options.bundles, options.bundleVersion);
        const agent = new WorkloadAgent(options, first);
        agent.#schedule(renewalDelayMs({ receivedAtMs: options.clock().getTime(), notAfterMs: first.svid.notAfter.getTime(), jitterFraction: options.jitterFraction ?? 0.1, random: options.random() }));
        return agent;
      } catch (error) {
        if (signal?.aborted) throw error;
        const delay = retryDelayMs(attempt, options.backoff ?? defaultBackoff, options.random());
        options.logger?.warn("first certificate request failed; retrying", { err: error, retryInMs: delay });
        await new Promise<void>((resolve) => options.timers.setTimeout(resolve, delay));
      }
    }
  }

  /** The trust bundles the agent currently holds (for peer checks: verifyClientChain, spiffeServerIdentityCheck). */
  get bundles(): TrustBundles {
    return this.#bundles;
  }

  /** The version of the CA bundle the agent holds (sent with every CSR as its acknowledgement). */
  get bundleVersion(): number | undefined {
    return this.#bundleVersion;
  }

  /** The current SVID and its TLS material. */
  get current(): CurrentSvid {
    return this.#current;
  }

  /** Calls `listener` with every new SVID or bundle; returns the unsubscribe function. */
  onRotate(listener: (svid: CurrentSvid) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Keeps `target` (a node:tls Server) on the current material; returns the detach function. */
  serve(target: SecureContextTarget): () => void {
    return this.onRotate((svid) => target.setSecureContext({ ...svid.material }));
  }

  /**
   * New trust bundles (from WatchTrustBundle, with its `version`): rebuilds the material with the
   * new roots and notifies. The version goes with the next CSR as the acknowledgement.
   */
  updateBundles(bundles: TrustBundles, version?: number): void {
    this.#bundles = bundles;
    this.#bundleVersion = version;
    const material = svidTlsMaterial({ chain: this.#current.chain, privateKeyPem: this.#privateKeyPem, bundles });
    this.#set({ ...this.#current, material });
  }

  /** The JWT-SVID signing keys by trust domain, as JWK Set JSON (from WatchTrustBundle); empty until the CA sends some. */
  get jwtAuthorities(): ReadonlyMap<TrustDomain, string> {
    return this.#jwtAuthorities;
  }

  /** New JWT authorities (a JWT key rotation at the CA): replaces them when they differ, and notifies. */
  updateJwtAuthorities(authorities: ReadonlyMap<TrustDomain, string>): void {
    const same = authorities.size === this.#jwtAuthorities.size && [...authorities].every(([td, jwks]) => this.#jwtAuthorities.get(td) === jwks);
    if (same) return;
    this.#jwtAuthorities = authorities;
    for (const listener of this.#jwtListeners) listener(authorities);
  }

  /** Calls `listener` with every change of the JWT authorities; returns the unsubscribe function. */
  onJwtAuthorities(listener: (authorities: ReadonlyMap<TrustDomain, string>) => void): () => void {
    this.#jwtListeners.add(listener);
    return () => this.#jwtListeners.delete(listener);
  }

  /** Renews now (also what the timer calls). Failures keep the current SVID and schedule a retry. */
  async renew(): Promise<void> {
    if (this.#stopped) return;
    const { clock, random, logger } = this.#options;
    try {
      const requestedWith = this.#bundles;
      const next = await fetchSvid(this.#options, requestedWith, this.#bundleVersion);
      if (this.#stopped) return;
      this.#privateKeyPem = next.privateKeyPem;
      this.#attempt = 0;
      this.rotations++;
      // A bundle update that landed while the CA was answering must not be undone by the old roots
      // baked into the material (it broke handshakes right after a root switch).
      const svid =
        requestedWith === this.#bundles
          ? next.svid
          : { ...next.svid, material: svidTlsMaterial({ chain: next.svid.chain, privateKeyPem: next.privateKeyPem, bundles: this.#bundles }) };
      this.#set(svid);
      logger?.info("certificate renewed", { spiffeId: this.#options.spiffeId, notAfter: next.svid.notAfter.toISOString() });
      this.#schedule(renewalDelayMs({ receivedAtMs: clock().getTime(), notAfterMs: next.svid.notAfter.getTime(), jitterFraction: this.#options.jitterFraction ?? 0.1, random: random() }));
    } catch (error) {
      if (this.#stopped) return;
      this.failures++;
      const delay = retryDelayMs(this.#attempt++, this.#options.backoff ?? defaultBackoff, random(), { nowMs: clock().getTime(), deadlineMs: this.#current.notAfter.getTime() });
      logger?.warn("certificate renewal failed; keeping the current certificate", { err: error, spiffeId: this.#options.spiffeId, retryInMs: delay, notAfter: this.#current.notAfter.toISOString() });
      this.#schedule(delay);
    }
  }

  /** Stops renewing. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#options.timers.clearTimeout(this.#timer);
  }

  #set(svid: CurrentSvid): void {
    this.#current = svid;
    for (const listener of this.#listeners) listener(svid);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) this.#options.timers.clearTimeout(this.#timer);
    this.#timer = this.#options.timers.setTimeout(() => void this.renew(), delayMs);
  }
}

const defaultBackoff: Backoff = { initialMs: 250, maxMs: 30_000 };

/** One issuance: fresh key in memory, CSR, CA call, and a check that the leaf names our ID. */
async function fetchSvid(options: WorkloadAgentOptions, bundles: TrustBundles, trustBundleVersion: number | undefined): Promise<{ readonly svid: CurrentSvid; readonly privateKeyPem: string }> {
  const keys = await generateKeyPair("ecdsa-p256", options.crypto ? { crypto: options.crypto } : {});
  const csr = await createCsr({ keys, spiffeId: options.spiffeId, ...(options.crypto ? { crypto: options.crypto } : {}) });
  const chainPem = await options.requestCertificate(csr.pem, { trustBundleVersion });
  const chain = chainPem.map((pem) => {
    const der = pemToDer(pem, "CERTIFICATE");
    if (!der.ok) throw new Error(`the CA returned a chain entry that is not a PEM certificate: ${der.detail}`);
    return der.der;
  });
  const leaf = chain[0] ? readCertificate(chain[0]) : undefined;
  if (!leaf?.ok) throw new Error("the CA returned no readable leaf certificate");
  if (!leaf.cert.uriSans.includes(options.spiffeId)) throw new Error(`the CA issued ${leaf.cert.uriSans.join(", ")}, not ${options.spiffeId}`);
  const privateKeyPem = await exportPrivateKeyPem(keys.privateKey, options.crypto);
  return { svid: { chain, notAfter: leaf.cert.notAfter, material: svidTlsMaterial({ chain, privateKeyPem, bundles }) }, privateKeyPem };
}
