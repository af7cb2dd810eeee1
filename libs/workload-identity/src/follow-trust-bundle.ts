// Feeds a workload agent the CA's trust bundle: a WatchTrustBundle stream whose every update (the
// current bundle first, then each change, e.g. a root rotation) becomes agent.updateBundles, with
// the bundle's version, which the agent sends with its next CSR as its acknowledgement, and
// agent.updateJwtAuthorities with the bundle's JWT-SVID keys.
import { parseTrustDomain, pemToDer, trustBundles } from "@meshwork/pki";
import type { CertificateServiceClient, WatchTrustBundleResponse } from "@meshwork/protocol";
import type { WorkloadAgent } from "./workload-agent.ts";

/** Follows the CA's bundle until the returned function is called; `onError` gets stream errors (reconnect is the caller's). */
export function followTrustBundle(client: CertificateServiceClient, agent: WorkloadAgent, onError: (error: Error) => void = () => undefined): () => void {
  const stream = client.watchTrustBundle({});
  stream.on("data", (message: WatchTrustBundleResponse) => {
    const bundle = message.bundle;
    if (!bundle) return;
    const roots = bundle.rootsPem.flatMap((pem) => {
      const der = pemToDer(pem, "CERTIFICATE");
      return der.ok ? [der.der] : [];
    });
    const td = parseTrustDomain(bundle.trustDomain);
    if (td.ok && roots.length > 0) agent.updateBundles(trustBundles([[td.trustDomain, roots]]), bundle.version);
    if (td.ok) agent.updateJwtAuthorities(bundle.jwtAuthoritiesJwks === "" ? new Map() : new Map([[td.trustDomain, bundle.jwtAuthoritiesJwks]]));
  });
  stream.on("error", (error: Error & { code?: number }) => {
    if (error.code !== 1) onError(error); // 1 = CANCELLED: our own stop
  });
  return () => stream.cancel();
}
