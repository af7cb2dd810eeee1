import { loadResources, type MeshResource } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { buildProxyConfig } from "../build-proxy-config.ts";
import { compileClusters } from "../compile-clusters.ts";
import { compileClusterPiece, mergeClusterPieces, type PieceContext } from "./cluster-pieces.ts";

function load(text: string): MeshResource[] {
  const loaded = loadResources([{ path: "t.yaml", text }]);
  const errors = loaded.issues.filter((i) => i.severity === "error");
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
  return loaded.resources;
}

// Two entries defining reviews:9080 (the second loses), one listing a host twice, one exported to
// its own namespace only, a selector entry whose WorkloadEntries carry service accounts, subsets,
// a rule for no service, a PeerAuthentication turning mTLS off for one workload.
const resources = load(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  ports: [{number: 9080, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
  - {address: 10.0.0.1, labels: {version: v1, security.istio.io/tlsMode: istio}, serviceAccount: reviews}
  - {address: 10.0.0.2, labels: {version: v2, security.istio.io/tlsMode: istio}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews-again, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local, ratings.default.svc.cluster.local, ratings.default.svc.cluster.local]
  ports: [{number: 9080, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.9}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: private, namespace: other}
spec:
  hosts: [private.other.svc.cluster.local]
  exportTo: ["."]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.1.1}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: details, namespace: default}
spec:
  hosts: [details.default.svc.cluster.local]
  ports: [{number: 9080, name: http, protocol: HTTP}]
  resolution: STATIC
  workloadSelector: {labels: {app: details}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: details-1, namespace: default}
spec: {address: 10.0.2.1, labels: {app: details, security.istio.io/tlsMode: istio}, serviceAccount: details}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: nothing, namespace: default}
spec: {host: nothing}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: off, namespace: default}
spec:
  selector: {matchLabels: {version: v2}}
  mtls: {mode: DISABLE}
`);
const of = <K extends MeshResource["kind"]>(kind: K) => resources.filter((r) => r.kind === kind) as unknown as MeshResource<K>[];

function reference(namespace: string) {
  const built = buildProxyConfig(resources, { namespace, domainSuffix: "cluster.local", proxyLabels: {}, version: "r" });
  const config = built.config;
  return {
    clusters: [...config.clusters.values()].map(({ endpoints, ...body }) => ({ body, endpoints, autoMtls: config.autoMtls?.get(body.name) })),
    services: config.services,
    identities: [...(config.serviceIdentities ?? [])],
    issues: compileClusters({ serviceEntries: of("ServiceEntry"), workloadEntries: of("WorkloadEntry"), destinationRules: of("DestinationRule") }, { namespace, domainSuffix: "cluster.local", proxyLabels: {} }).issues,
  };
}

function merged(namespace: string, entries = of("ServiceEntry")) {
  const context: PieceContext = {
    namespace,
    domainSuffix: "cluster.local",
    proxyLabels: {},
    rootNamespace: "istio-system",
    trustDomain: "cluster.local",
    workloadEntries: of("WorkloadEntry"),
    destinationRules: of("DestinationRule"),
    peerAuthentications: of("PeerAuthentication"),
  };
  const result = mergeClusterPieces(entries, entries.map((se) => compileClusterPiece(se, context)), namespace, () =>
    compileClusters({ serviceEntries: [], workloadEntries: [], destinationRules: of("DestinationRule") }, { namespace, domainSuffix: "cluster.local", proxyLabels: {} }).issues,
  );
  return {
    clusters: result.cluster.map((c, i) => ({ body: c.body, endpoints: result.endpoints[i]?.body.endpoints, autoMtls: result.endpoints[i]?.body.autoMtls })),
    services: result.services,
    identities: [...result.serviceIdentities],
    issues: result.issues,
  };
}

describe("mergeClusterPieces", () => {
  it.each(["default", "other"])("gives what compiling the whole list gives, in namespace %s", (namespace) => {
    const expected = reference(namespace);
    expect(expected.issues.some((i) => i.includes("already defined"))).toBe(true);
    expect(expected.issues.some((i) => i.includes("applies to no service"))).toBe(true);
    expect(merged(namespace)).toEqual(expected);
  });

  it("reports every visible rule as unused when there is no ServiceEntry", () => {
    expect(merged("default", []).issues).toEqual([expect.stringContaining('DestinationRule "default/reviews"'), expect.stringContaining('DestinationRule "default/nothing"')]);
  });

  it("marks the pieces built from WorkloadEntries", () => {
    const context = { namespace: "default", domainSuffix: "cluster.local", proxyLabels: {}, rootNamespace: "istio-system", trustDomain: "cluster.local", workloadEntries: of("WorkloadEntry"), destinationRules: [], peerAuthentications: [] };
    expect(of("ServiceEntry").map((se) => compileClusterPiece(se, context).usesWorkloadEntries)).toEqual([false, false, false, true]);
  });
});
