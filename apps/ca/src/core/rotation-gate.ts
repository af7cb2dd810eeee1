// When a root rotation may take its next step (DESIGN.md §3.3, docs/design/identity.md): the CA
// remembers every SVID it issued that is still valid — its SPIFFE ID, expiry, the bundle version
// the workload acknowledged when asking (CreateCertificateRequest.trust_bundle_version) and
// whether it chains to the new root. "published" may switch once every valid SVID was asked for
// by a workload holding the bundle with the new root; "switched" may retire the old root once
// every valid SVID chains to the new root. SVIDs issued before a CA restart are unknown, so a
// resumed rotation also waits until they have expired (`blindUntilMs`). Pure: time is passed in.

/** The steps of a root rotation; "idle" when none is under way. */
export type RotationPhase = "idle" | "published" | "switched";

/** One issued SVID, as the gate keeps it. */
export interface IssuedSvidRecord {
  readonly serialHex: string;
  readonly spiffeId: string;
  readonly notAfterMs: number;
  /** The bundle version the workload held when it asked; undefined when it sent none. */
  readonly trustBundleVersion: number | undefined;
  /** Whether the SVID chains to the root being rotated in. */
  readonly underNewRoot: boolean;
}

/** Per-SPIFFE-ID counts of valid SVIDs. */
export interface WorkloadAcknowledgement {
  readonly spiffeId: string;
  readonly validSvids: number;
  /** Asked for by a workload holding the bundle with the new root. */
  readonly acknowledged: number;
  readonly underNewRoot: number;
}

/** Whether the next step may run, and what holds it back. */
export interface GateVerdict {
  readonly ready: boolean;
  /** Human-readable reasons the step waits (empty when ready). */
  readonly waitingFor: readonly string[];
  readonly validSvids: number;
  readonly acknowledged: number;
  readonly underNewRoot: number;
  readonly workloads: readonly WorkloadAcknowledgement[];
}

/** Prune expired records every this many insertions (keeps `record` O(1) amortised). */
const pruneEvery = 1024;

/** The live SVIDs and the rule for each step. */
export class RotationGate {
  readonly #svids = new Map<string, IssuedSvidRecord>();
  #inserted = 0;
  /** SVIDs issued before this instant (a CA restart) are unknown; a step waits until it passes. */
  blindUntilMs = 0;

  /** Remembers one issuance. */
  record(svid: IssuedSvidRecord, nowMs: number): void {
    this.#svids.set(svid.serialHex, svid);
    if (++this.#inserted % pruneEvery === 0) this.#prune(nowMs);
  }

  /**
   * The verdict for leaving `phase` at `nowMs`: from "published" (switch) every valid SVID needs
   * `trustBundleVersion >= publishedVersion`; from "switched" (retire) every valid SVID must be
   * under the new root. "idle" is never ready (a rotation starts on the operator's word).
   */
  evaluate(phase: RotationPhase, publishedVersion: number, nowMs: number): GateVerdict {
    this.#prune(nowMs);
    const byId = new Map<string, { validSvids: number; acknowledged: number; underNewRoot: number }>();
    let acknowledged = 0;
    let underNewRoot = 0;
    for (const svid of this.#svids.values()) {
      const counts = byId.get(svid.spiffeId) ?? { validSvids: 0, acknowledged: 0, underNewRoot: 0 };
      counts.validSvids++;
      if (svid.trustBundleVersion !== undefined && publishedVersion > 0 && svid.trustBundleVersion >= publishedVersion) {
        counts.acknowledged++;
        acknowledged++;
      }
      if (svid.underNewRoot) {
        counts.underNewRoot++;
        underNewRoot++;
      }
      byId.set(svid.spiffeId, counts);
    }
    const validSvids = this.#svids.size;
    const waitingFor: string[] = [];
    if (phase === "idle") waitingFor.push("no root rotation is under way");
    if (phase === "published" && acknowledged < validSvids) {
      waitingFor.push(`${validSvids - acknowledged} of ${validSvids} valid SVIDs were requested without the bundle version ${publishedVersion} (the new root); they renew or expire`);
    }
    if (phase === "switched" && underNewRoot < validSvids) {
      waitingFor.push(`${validSvids - underNewRoot} of ${validSvids} valid SVIDs still chain to the old root; they renew or expire`);
    }
    if (phase !== "idle" && nowMs < this.blindUntilMs) {
      waitingFor.push(`SVIDs issued before the CA restarted are unknown until ${new Date(this.blindUntilMs).toISOString()} (their longest possible expiry)`);
    }
    const workloads = [...byId.entries()].map(([spiffeId, c]) => ({ spiffeId, ...c })).sort((a, b) => (a.spiffeId < b.spiffeId ? -1 : a.spiffeId > b.spiffeId ? 1 : 0));
    return { ready: waitingFor.length === 0, waitingFor, validSvids, acknowledged, underNewRoot, workloads };
  }

  #prune(nowMs: number): void {
    for (const [serial, svid] of this.#svids) if (svid.notAfterMs <= nowMs) this.#svids.delete(serial);
  }
}
