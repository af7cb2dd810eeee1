// Root rotation driven by the CA itself (issue 6, docs/design/identity.md "Root rotation"): the
// operator starts it (`meshctl ca rotate-root` → POST /v1/ca/rotate-root); the CA generates a new
// root and publishes the bundle {old, new}; it switches (a new intermediate under the new root)
// once the RotationGate says every valid SVID was asked for by a workload holding that bundle,
// and retires the old root once every valid SVID chains to the new root — or at once on `force`.
// Every step is persisted (adapters/rotation-store.ts) before it is announced; steps are serial.
import { createHash } from "node:crypto";
import { certificatesToPem, createRootCa, generateKeyPair, pemToDer, readCertificate, rootsOf, type SigningCa, type TrustDomain } from "@meshwork/pki";
import type { Logger } from "@meshwork/telemetry";
import { promoteNextRoot, removeNextRoot, writeNextRoot, writeRotationState, type RotationState } from "./adapters/rotation-store.ts";
import type { CertificateAuthority, CertificateRequest, IssuedChain } from "./certificate-authority.ts";
import { RotationGate, type GateVerdict, type RotationPhase, type WorkloadAcknowledgement } from "./core/rotation-gate.ts";

/** A certificate as the status shows it. */
export interface CertificateSummary {
  readonly sha256: string;
  readonly subject: string;
  readonly notAfter: string;
}

/** GET /v1/ca/status. */
export interface CaStatus {
  readonly trustDomain: string;
  readonly bundle: { readonly version: number; readonly roots: readonly CertificateSummary[] };
  readonly activeRoot: CertificateSummary;
  readonly intermediate: { readonly notAfter: string };
  readonly rotation: {
    readonly phase: RotationPhase;
    readonly supported: boolean;
    readonly newRoot: CertificateSummary | undefined;
    readonly publishedVersion: number;
    readonly startedAt: string | undefined;
    readonly switchedAt: string | undefined;
    readonly completed: number;
    readonly nextStepReady: boolean;
    readonly waitingFor: readonly string[];
  };
  readonly workloads: {
    readonly validSvids: number;
    readonly acknowledged: number;
    readonly underNewRoot: number;
    readonly bySpiffeId: readonly WorkloadAcknowledgement[];
  };
}

/** Why a rotation request cannot be done; the admin API maps it to 409. */
export class RotationConflict extends Error {}

/** What the rotation needs. */
export interface RootRotationOptions {
  readonly authority: CertificateAuthority;
  readonly trustDomain: TrustDomain;
  readonly dataDir: string;
  /** False for a plugged-in CA: its root is rotated by replacing the cacerts files. */
  readonly supported: boolean;
  readonly rootTtlSeconds: number;
  readonly crypto: Crypto;
  readonly clock: () => Date;
  readonly logger: Logger;
  /** Runs after the switch (the CA re-issues its own serving certificate under the new chain). */
  readonly onSwitched: () => Promise<void>;
  /** A rotation resumed after a restart (from rotation-state.json). */
  readonly resumed?: { readonly state: RotationState; readonly nextRoot: SigningCa; readonly blindUntilMs: number };
}

function summary(der: Uint8Array): CertificateSummary {
  const cert = readCertificate(der);
  return {
    sha256: createHash("sha256").update(der).digest("hex"),
    subject: cert.ok ? cert.cert.subject : "(unreadable)",
    notAfter: cert.ok ? cert.cert.notAfter.toISOString() : "",
  };
}

function rootOf(ca: SigningCa): Uint8Array {
  return ca.chain[ca.chain.length - 1] as Uint8Array;
}

/** The CA's root rotation. Feed it issuances with {@link RootRotation.recordIssued}. */
export class RootRotation {
  readonly #options: RootRotationOptions;
  readonly gate = new RotationGate();
  #phase: RotationPhase = "idle";
  #nextRoot: SigningCa | undefined;
  #nextRootPem: string | undefined;
  #oldRoot: Uint8Array;
  #publishedVersion = 0;
  #startedAt: string | undefined;
  #switchedAt: string | undefined;
  #completed = 0;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: RootRotationOptions) {
    this.#options = options;
    this.#oldRoot = rootOf(options.authority.parent);
    const resumed = options.resumed;
    if (resumed) {
      const { state } = resumed;
      this.#completed = state.completed;
      if (state.phase === "published" || state.phase === "switched") {
        this.#phase = state.phase;
        this.#nextRoot = resumed.nextRoot;
        this.#nextRootPem = certificatesToPem([rootOf(resumed.nextRoot)]);
        this.#publishedVersion = state.publishedVersion;
        this.#startedAt = state.startedAt;
        this.#switchedAt = state.switchedAt;
        const old = state.bundleRootsPem.map((pem) => pemToDer(pem, "CERTIFICATE")).find((d) => d.ok && certificatesToPem([d.der]) !== this.#nextRootPem);
        if (old?.ok) this.#oldRoot = old.der;
        this.gate.blindUntilMs = resumed.blindUntilMs;
      }
    }
  }

  get phase(): RotationPhase {
    return this.#phase;
  }

  /** Bookkeeping of one issuance (AuthorityOptions.onIssued). */
  recordIssued(issued: IssuedChain, request: CertificateRequest): void {
    const root = issued.certChainPem[issued.certChainPem.length - 1];
    this.gate.record(
      {
        serialHex: issued.serialHex,
        spiffeId: issued.spiffeId,
        notAfterMs: issued.notAfter.getTime(),
        trustBundleVersion: request.trustBundleVersion,
        underNewRoot: this.#nextRootPem !== undefined && root === this.#nextRootPem,
      },
      this.#options.clock().getTime(),
    );
  }

  /**
   * Starts a rotation: a new root (key 0600 in the data dir), then the bundle {old, new}. With
   * `force`, also switches and retires at once (and finishes a rotation under way).
   */
  start(force: boolean): Promise<CaStatus> {
    return this.#serial(async () => {
      if (!this.#options.supported) throw new RotationConflict("this CA signs under a plugged-in CA (--ca-cert): rotate its root by replacing the cacerts files and restarting");
      if (this.#phase !== "idle" && !force) {
        throw new RotationConflict(`a root rotation is already under way (phase "${this.#phase}"); wait for it (meshctl ca status), or finish it now with --force`);
      }
      if (this.#phase === "idle") await this.#publish();
      if (force) await this.#advance(true);
      return this.status();
    });
  }

  /** Takes the next step when the gate allows it (or every remaining step with `force`). */
  advance(force = false): Promise<void> {
    return this.#serial(() => this.#advance(force));
  }

  status(): CaStatus {
    const { authority } = this.#options;
    const bundle = authority.bundle();
    const verdict: GateVerdict = this.gate.evaluate(this.#phase, this.#publishedVersion, this.#options.clock().getTime());
    return {
      trustDomain: this.#options.trustDomain,
      bundle: { version: bundle.version, roots: rootsOf(authority.trustBundles(), this.#options.trustDomain).map(summary) },
      activeRoot: summary(rootOf(authority.parent)),
      intermediate: { notAfter: authority.signingCa.notAfter.toISOString() },
      rotation: {
        phase: this.#phase,
        supported: this.#options.supported,
        newRoot: this.#nextRoot ? summary(rootOf(this.#nextRoot)) : undefined,
        publishedVersion: this.#publishedVersion,
        startedAt: this.#startedAt,
        switchedAt: this.#switchedAt,
        completed: this.#completed,
        nextStepReady: verdict.ready,
        waitingFor: verdict.waitingFor,
      },
      workloads: { validSvids: verdict.validSvids, acknowledged: verdict.acknowledged, underNewRoot: verdict.underNewRoot, bySpiffeId: verdict.workloads },
    };
  }

  #serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(step, step);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #advance(force: boolean): Promise<void> {
    while (this.#phase !== "idle") {
      const verdict = this.gate.evaluate(this.#phase, this.#publishedVersion, this.#options.clock().getTime());
      if (!verdict.ready && !force) return;
      if (!verdict.ready) this.#options.logger.warn("root rotation step forced by the operator", { phase: this.#phase, skipped: verdict.waitingFor });
      if (this.#phase === "published") await this.#switch();
      else await this.#retire();
    }
  }

  async #persist(phase: RotationState["phase"]): Promise<void> {
    const bundle = this.#options.authority.bundle();
    await writeRotationState(this.#options.dataDir, {
      format: 1,
      phase,
      bundleRootsPem: bundle.rootsPem,
      bundleVersion: bundle.version,
      publishedVersion: this.#publishedVersion,
      startedAt: this.#startedAt,
      switchedAt: this.#switchedAt,
      completed: this.#completed,
    });
  }

  async #publish(): Promise<void> {
    const { crypto, clock, authority, logger } = this.#options;
    const keys = await generateKeyPair("ecdsa-p256", { crypto });
    const next = await createRootCa({ trustDomain: this.#options.trustDomain, keys, now: clock(), ttlSeconds: this.#options.rootTtlSeconds, crypto });
    this.#oldRoot = rootOf(authority.parent);
    await writeNextRoot(this.#options.dataDir, next, keys.privateKey, crypto);
    // Persist the bundle {old, new} before anyone sees it, so a restart serves the same one.
    this.#nextRoot = next;
    this.#nextRootPem = certificatesToPem([rootOf(next)]);
    this.#startedAt = clock().toISOString();
    this.#switchedAt = undefined;
    this.#phase = "published";
    this.#publishedVersion = authority.bundle().version + 1;
    const current = authority.bundle();
    await writeRotationState(this.#options.dataDir, {
      format: 1,
      phase: "published",
      bundleRootsPem: [...current.rootsPem, this.#nextRootPem],
      bundleVersion: this.#publishedVersion,
      publishedVersion: this.#publishedVersion,
      startedAt: this.#startedAt,
      switchedAt: undefined,
      completed: this.#completed,
    });
    authority.publishRoot(next);
    logger.info("root rotation: published the bundle with the old and the new root", { bundleVersion: authority.bundle().version, newRoot: summary(rootOf(next)).sha256 });
  }

  async #switch(): Promise<void> {
    const { authority, logger, clock } = this.#options;
    const next = this.#nextRoot as SigningCa;
    await authority.switchParent(next);
    this.#phase = "switched";
    this.#switchedAt = clock().toISOString();
    await this.#persist("switched");
    await this.#options.onSwitched();
    logger.info("root rotation: switched to the new root (new intermediate)", { intermediateNotAfter: authority.signingCa.notAfter.toISOString() });
  }

  async #retire(): Promise<void> {
    const { authority, logger, dataDir } = this.#options;
    await this.#persist("retiring");
    await promoteNextRoot(dataDir);
    this.#completed++;
    this.#phase = "idle";
    this.#publishedVersion = 0;
    const retiring = this.#oldRoot;
    // The state recorded next is what the bundle will be once the old root is dropped.
    const bundle = authority.bundle();
    const oldPem = certificatesToPem([retiring]);
    await writeRotationState(dataDir, {
      format: 1,
      phase: "idle",
      bundleRootsPem: bundle.rootsPem.filter((pem) => pem !== oldPem),
      bundleVersion: bundle.version + 1,
      publishedVersion: 0,
      startedAt: this.#startedAt,
      switchedAt: this.#switchedAt,
      completed: this.#completed,
    });
    authority.retireRoot(retiring);
    this.#oldRoot = rootOf(authority.parent);
    this.#nextRoot = undefined;
    this.#nextRootPem = undefined;
    await removeNextRoot(dataDir);
    logger.info("root rotation: retired the old root", { bundleVersion: authority.bundle().version, retired: summary(retiring).sha256 });
  }
}
