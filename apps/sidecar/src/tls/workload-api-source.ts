// The sidecar's SPIFFE Workload API (--workload-api-socket): the current TLS identity (from the CA
// or --cert-dir) as DER chain, PKCS#8 key and bundles, following every change, plus the CA's
// JWT-SVIDs when the identity comes from the CA, served by @meshwork/workload-identity's server.
import { createPrivateKey } from "node:crypto";
import { splitPem } from "@meshwork/pki";
import type { Logger } from "@meshwork/telemetry";
import { startWorkloadApiServer, type JwtSvidSource, type RunningWorkloadApi, type WorkloadApiSource, type WorkloadX509Svid } from "@meshwork/workload-identity";
import type { CaIdentitySource } from "./ca-identity.ts";
import type { IdentitySource, TlsIdentity } from "./tls-identity.ts";

/** The X.509-SVID of `identity` in the Workload API's encodings. */
export function workloadX509Svid(identity: TlsIdentity): WorkloadX509Svid {
  const blocks = splitPem(identity.certPem);
  const chain = blocks.ok ? blocks.blocks.filter((b) => b.label === "CERTIFICATE").map((b) => b.der) : [];
  const privateKeyPkcs8 = new Uint8Array(createPrivateKey(identity.keyPem).export({ type: "pkcs8", format: "der" }));
  return { spiffeId: identity.spiffeId, chain, privateKeyPkcs8, bundles: identity.bundles };
}

/** A WorkloadApiSource over `identity` (and `jwt` when the CA issues JWT-SVIDs). */
export function workloadApiSourceOf(identity: IdentitySource, jwt: JwtSvidSource | undefined): WorkloadApiSource {
  let cached: { readonly identity: TlsIdentity; readonly svid: WorkloadX509Svid } | undefined;
  return {
    x509: {
      current() {
        const now = identity.current();
        if (now === undefined) return undefined;
        if (cached?.identity !== now) cached = { identity: now, svid: workloadX509Svid(now) };
        return cached.svid;
      },
      onChange: (listener) => identity.onChange(() => listener()),
    },
    jwt,
  };
}

/**
 * Serves the Workload API on `socketPath` from `identity` (--ca-address: with JWT-SVIDs; --cert-dir:
 * X.509 only). Throws, naming the flags, when the sidecar has no identity.
 */
export async function startSidecarWorkloadApi(identity: IdentitySource | undefined, options: { readonly socketPath: string; readonly logger: Logger }): Promise<RunningWorkloadApi> {
  if (identity === undefined) throw new Error(`--workload-api-socket ${options.socketPath} needs an identity to serve: --ca-address (X.509 and JWT-SVIDs) or --cert-dir (X.509-SVIDs)`);
  const jwt = (identity as Partial<CaIdentitySource>).jwt;
  return startWorkloadApiServer({ socketPath: options.socketPath, source: workloadApiSourceOf(identity, jwt), clock: () => new Date(), logger: options.logger });
}
