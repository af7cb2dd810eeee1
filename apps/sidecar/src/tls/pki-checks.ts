// The certificate checks of @meshwork/pki (SVID chain verification, the SPIFFE server check), and
// @peculiar/x509 under them, loaded only when the sidecar has a workload identity: a sidecar
// without --cert-dir or --ca-address never needs them, and leaves their ~6 MB out of its memory.
type Checks = typeof import("./pki-check-functions.ts");

let loaded: Checks | undefined;

/** Loads the checks; the sidecar calls it before it starts an identity source. */
export async function loadPkiChecks(): Promise<void> {
  loaded ??= await import("./pki-check-functions.ts");
}

/** The checks, or undefined when no identity was ever loaded (then there is nothing to verify with). */
export function pkiChecks(): Checks | undefined {
  return loaded;
}
