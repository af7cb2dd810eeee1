// Secure naming and auto mutual TLS inputs (Istio semantics): which SPIFFE identities may serve a
// service, and which endpoints run a sidecar that accepts Istio mutual TLS. Computed once per
// config from ServiceEntries, WorkloadEntries and PeerAuthentications.
import type { MeshResource } from "@meshwork/config";
import type { ClusterSpec, ServicePort } from "../proxy-config.ts";
import { mtlsModeForPort, resolvePeerAuthentication } from "./resolve-peer-authentication.ts";

/** The endpoint label Istio's injector sets on workloads with a sidecar (`istio`) or without (`disabled`). */
export const tlsModeLabel = "security.istio.io/tlsMode";

/**
 * Whether an endpoint has a sidecar for auto mTLS: its `security.istio.io/tlsMode` label is
 * `istio`, exactly what Envoy's transport socket match reads in Istio. A WorkloadEntry's
 * serviceAccount alone does not count: a VM with an identity may still run without a proxy.
 */
export function hasSidecar(endpoint: { readonly labels: Readonly<Record<string, string>> }): boolean {
  return endpoint.labels[tlsModeLabel] === "istio";
}

/** `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`. */
export function workloadSpiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/**
 * The identities that may serve each service host (lowercase): the ServiceEntry's
 * `subjectAltNames`, then the SPIFFE ID of every workload behind it with a `serviceAccount` (its
 * inline `endpoints`, or the WorkloadEntries of its namespace its workloadSelector matches), in
 * that order without duplicates. A host no entry gives an identity for is absent: the client then
 * accepts any SVID of the trust bundle, as Envoy does with an empty SAN list.
 */
export function serviceIdentities(
  serviceEntries: readonly MeshResource<"ServiceEntry">[],
  workloadEntries: readonly MeshResource<"WorkloadEntry">[],
  options: { readonly namespace: string; readonly trustDomain: string },
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const se of serviceEntries) {
    const ns = se.metadata.namespace ?? options.namespace;
    const ids: string[] = [...(se.spec.subjectAltNames ?? [])];
    const accounts: string[] = [];
    if (se.spec.endpoints) {
      for (const e of se.spec.endpoints) if (e.serviceAccount) accounts.push(e.serviceAccount);
    } else if (se.spec.workloadSelector?.labels) {
      const selector = se.spec.workloadSelector.labels;
      for (const we of workloadEntries) {
        if ((we.metadata.namespace ?? options.namespace) !== ns || !we.spec.serviceAccount) continue;
        if (Object.entries(selector).every(([k, v]) => we.spec.labels?.[k] === v)) accounts.push(we.spec.serviceAccount);
      }
    }
    for (const sa of accounts) ids.push(workloadSpiffeId(options.trustDomain, ns, sa));
    if (ids.length === 0) continue;
    for (const rawHost of se.spec.hosts) {
      const host = rawHost.toLowerCase();
      const list = out.get(host) ?? [];
      for (const id of ids) if (!list.includes(id)) list.push(id);
      out.set(host, list);
    }
  }
  return out;
}

/**
 * Auto mTLS per cluster endpoint (clusters whose DestinationRule sets no `tls`): true when the
 * endpoint has a sidecar and its own PeerAuthentication (resolved in the namespace of the
 * ServiceEntry that defines the cluster's port, for the endpoint's labels and port) is not
 * DISABLE. Clusters with a DestinationRule `tls` are absent.
 */
export function autoMtlsEndpoints(
  clusters: ReadonlyMap<string, ClusterSpec>,
  services: readonly ServicePort[],
  peerAuthentications: readonly MeshResource<"PeerAuthentication">[],
  rootNamespace: string,
): Map<string, boolean[]> {
  const namespaceOf = new Map<string, string>();
  for (const s of services) namespaceOf.set(`${s.host}:${s.port}`, s.serviceEntry.slice(0, s.serviceEntry.indexOf("/")));
  const out = new Map<string, boolean[]>();
  // Equal lists are one list: most clusters of a mesh have the same few (all true, all false).
  const lists = new Map<string, boolean[]>();
  for (const cluster of clusters.values()) {
    if (cluster.tls !== undefined) continue;
    const namespace = namespaceOf.get(`${cluster.host}:${cluster.port}`) ?? "";
    const list = cluster.endpoints.map((e) => hasSidecar(e) && mtlsModeForPort(resolvePeerAuthentication(peerAuthentications, { namespace, labels: e.labels }, rootNamespace), e.port) !== "DISABLE");
    const key = list.map((on) => (on ? "1" : "0")).join("");
    let shared = lists.get(key);
    if (!shared) lists.set(key, (shared = list));
    out.set(cluster.name, shared);
  }
  return out;
}
