// The text form of the CA's GET /v1/ca/status for `meshctl ca status` and `ca rotate-root`. Pure.

/** A certificate as the CA's status shows it. */
export interface CertificateView {
  readonly sha256: string;
  readonly subject: string;
  readonly notAfter: string;
}

/** The fields of GET /v1/ca/status meshctl reads (apps/ca/src/root-rotation.ts CaStatus). */
export interface CaStatusView {
  readonly trustDomain: string;
  readonly bundle: { readonly version: number; readonly roots: readonly CertificateView[] };
  readonly activeRoot: CertificateView;
  readonly intermediate: { readonly notAfter: string };
  readonly rotation: {
    readonly phase: string;
    readonly newRoot?: CertificateView | undefined;
    readonly startedAt?: string | undefined;
    readonly switchedAt?: string | undefined;
    readonly completed: number;
    readonly waitingFor: readonly string[];
  };
  readonly workloads: {
    readonly validSvids: number;
    readonly acknowledged: number;
    readonly underNewRoot: number;
    readonly bySpiffeId: readonly { readonly spiffeId: string; readonly validSvids: number; readonly acknowledged: number; readonly underNewRoot: number }[];
  };
}

const short = (sha256: string): string => `sha256:${sha256.slice(0, 16)}`;

/** Lines for a person; the per-ID table lists only IDs that hold the rotation back (or all when idle). */
export function formatCaStatus(status: CaStatusView): string {
  const { rotation, workloads } = status;
  const lines = [
    `Trust domain:  ${status.trustDomain}`,
    `Bundle:        version ${status.bundle.version}, ${status.bundle.roots.length} root${status.bundle.roots.length === 1 ? "" : "s"}`,
    ...status.bundle.roots.map((root) => {
      const marks = [root.sha256 === status.activeRoot.sha256 ? "active" : "", rotation.newRoot?.sha256 === root.sha256 && root.sha256 !== status.activeRoot.sha256 ? "new" : ""].filter(Boolean);
      return `  ${short(root.sha256)}  ${root.subject}  until ${root.notAfter}${marks.length > 0 ? `  [${marks.join(", ")}]` : ""}`;
    }),
    `Intermediate:  valid until ${status.intermediate.notAfter}`,
    `Rotation:      ${rotation.phase === "idle" ? "none under way" : `phase ${rotation.phase}`}${rotation.startedAt && rotation.phase !== "idle" ? ` (started ${rotation.startedAt})` : ""}, ${rotation.completed} completed`,
    ...(rotation.phase !== "idle" ? rotation.waitingFor.map((w) => `  waiting for: ${w}`) : []),
    `Workloads:     ${workloads.validSvids} valid SVIDs; ${workloads.acknowledged} requested with the new bundle; ${workloads.underNewRoot} under the new root`,
  ];
  const holding = rotation.phase === "published" ? workloads.bySpiffeId.filter((w) => w.acknowledged < w.validSvids) : rotation.phase === "switched" ? workloads.bySpiffeId.filter((w) => w.underNewRoot < w.validSvids) : [];
  if (holding.length > 0) {
    lines.push("  holding the rotation back (SPIFFE ID: valid / acknowledged / under new root):");
    for (const w of holding.slice(0, 50)) lines.push(`    ${w.spiffeId}: ${w.validSvids} / ${w.acknowledged} / ${w.underNewRoot}`);
    if (holding.length > 50) lines.push(`    ... and ${holding.length - 50} more (-o json lists all)`);
  }
  return `${lines.join("\n")}\n`;
}
