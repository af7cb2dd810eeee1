// Ties a discovery stream to its client certificate (docs/design/config-push.md "Transport
// security"): over mutual TLS the proxy's SPIFFE ID says which namespace and service account it
// runs as, and its DiscoveryRequest.node must claim the same, so a proxy cannot ask for another
// workload's config (Istio's istiod does the same check on 15012).
import { parseWorkloadId, readCertificate } from "@meshwork/pki";
import type { ProxyNode } from "@meshwork/proxy-core";

/** The SPIFFE ID in a DER client certificate's URI SANs; an error message when there is none. */
export function spiffeIdOfCertificate(der: Uint8Array | undefined): { readonly ok: true; readonly id: string } | { readonly ok: false; readonly error: string } {
  if (der === undefined || der.length === 0) return { ok: false, error: "the stream's client presented no certificate; connect with the workload's SVID (mutual TLS)" };
  const read = readCertificate(der);
  if (!read.ok) return { ok: false, error: `the client certificate cannot be read: ${read.detail}` };
  const id = read.cert.uriSans.find((san) => san.startsWith("spiffe://"));
  if (id === undefined) return { ok: false, error: `the client certificate "${read.cert.subject}" has no spiffe:// URI SAN: connect with an X.509-SVID from the mesh CA` };
  return { ok: true, id };
}

/**
 * Undefined when `spiffeId` may receive `node`'s config: a workload ID of `trustDomain` whose
 * namespace and service account are the node's. Otherwise the refusal, naming both sides and
 * the fix.
 */
export function proxyIdentityError(node: ProxyNode, spiffeId: string, trustDomain: string): string | undefined {
  const parsed = parseWorkloadId(spiffeId);
  if (!parsed.ok) return `the client certificate's identity ${spiffeId} is not a workload ID (spiffe://<trust domain>/ns/<namespace>/sa/<service account>): ${parsed.detail}`;
  if (parsed.trustDomain !== trustDomain) return `the client certificate's identity ${spiffeId} is of trust domain ${parsed.trustDomain}, not this mesh's ${trustDomain}`;
  if (parsed.namespace !== node.namespace || parsed.serviceAccount !== node.serviceAccount) {
    return `proxy ${node.id} asks for the config of namespace ${node.namespace}, service account ${node.serviceAccount}, but its client certificate is ${spiffeId}: a proxy gets only its own workload's config (set the sidecar's --namespace/--service-account to its certificate's)`;
  }
  return undefined;
}
