import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import type { MeshCatalog } from "./analyze-resources.ts";
import { buildMeshIndex } from "./mesh-index.ts";
import { findSelectorsMatchingNothing } from "./selector-matches-nothing-analyzer.ts";

function analyze(text: string, catalog?: MeshCatalog) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findSelectorsMatchingNothing(buildMeshIndex(resources, { catalog }));
}

const catalog: MeshCatalog = {
  services: [
    { name: "reviews", namespace: "shop", instances: [{ labels: { app: "reviews", version: "v1" } }, { labels: { app: "reviews", version: "v2" } }] },
    { name: "ratings", namespace: "shop", instances: [{ labels: { app: "ratings" } }] },
    { name: "istio-ingressgateway", namespace: "istio-system", instances: [{ labels: { istio: "ingressgateway" } }] },
  ],
};

const policy = (kind: string, namespace: string, labels: string) => `apiVersion: security.istio.io/v1
kind: ${kind}
metadata:
  name: p
  namespace: ${namespace}
spec:
  selector:
    matchLabels: ${labels}
${kind === "RequestAuthentication" ? "  jwtRules:\n  - issuer: https://issuer.example\n" : kind === "PeerAuthentication" ? "  mtls: {mode: STRICT}\n" : ""}`;

describe("findSelectorsMatchingNothing", () => {
  it("does nothing without a catalog", () => {
    expect(analyze(policy("AuthorizationPolicy", "shop", "{app: nothing}"))).toEqual([]);
  });

  it("accepts selectors matching a workload in the namespace", () => {
    expect(analyze(policy("AuthorizationPolicy", "shop", "{app: reviews, version: v2}"), catalog)).toEqual([]);
    expect(analyze(policy("PeerAuthentication", "shop", "{app: ratings}"), catalog)).toEqual([]);
  });

  it("reports a policy selector matching nothing, at the selector, with the values that exist", () => {
    expect(analyze(policy("AuthorizationPolicy", "shop", "{app: reviews, version: v3}"), catalog)).toEqual([
      expect.objectContaining({
        code: "MW0109",
        severity: "warning",
        line: 8,
        field: "spec.selector.matchLabels",
        message: 'selector {app: reviews, version: v3} matches no workload in namespace "shop", so it applies to nothing',
        hint: 'no workload has version=v3; version is one of "v1", "v2"',
      }),
    ]);
    expect(analyze(policy("RequestAuthentication", "web", "{app: reviews}"), catalog)[0]?.hint).toBe('no workload in namespace "web" has a label "app"');
  });

  it("matches Gateway selectors and root-namespace policies in every namespace", () => {
    const gateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: public
  namespace: shop
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`;
    expect(analyze(gateway, catalog)).toEqual([]);
    expect(analyze(gateway.replace("istio: ingressgateway", "istio: ingress"), catalog).map((f) => `${f.line} ${f.field} ${f.hint}`)).toEqual([
      '7 spec.selector no workload has istio=ingress; istio is "ingressgateway"',
    ]);
    expect(analyze(policy("AuthorizationPolicy", "istio-system", "{app: reviews}"), catalog)).toEqual([]);
  });

  it("checks Sidecar, DestinationRule and ServiceEntry selectors, and counts WorkloadEntries", () => {
    const text = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: s
  namespace: shop
spec:
  workloadSelector:
    labels: {app: review}
  egress:
  - hosts: ["./*"]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: d
  namespace: shop
spec:
  host: ratings
  workloadSelector:
    matchLabels: {app: reviews}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: vms
  namespace: shop
spec:
  hosts: [vm.shop.internal]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  workloadSelector:
    labels: {app: vm}
`;
    expect(analyze(text, catalog).map((f) => `${f.resource?.kind} ${f.line}`)).toEqual(["Sidecar 8", "ServiceEntry 32"]);
    const entry = `---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: vm-1
  namespace: shop
spec:
  address: 10.1.0.1
  labels: {app: vm}
`;
    expect(analyze(text + entry, catalog).map((f) => f.resource?.kind)).toEqual(["Sidecar"]);
  });
});

describe("findSelectorsMatchingNothing for HTTPLocalRateLimitPolicy", () => {
  it("reports a rate limit policy whose targetRef selects no workload", () => {
    const text = (labels: string) => `apiVersion: policy.meshwork.io/v1alpha1
kind: HTTPLocalRateLimitPolicy
metadata:
  name: rl
  namespace: shop
spec:
  targetRef:
    workloadSelector:
      matchLabels: ${labels}
  total: {requestsPerSecond: 100}
`;
    expect(analyze(text("{app: reviews}"), catalog)).toEqual([]);
    expect(analyze(text("{app: review}"), catalog).map((f) => `${f.code} ${f.line} ${f.field}`)).toEqual([
      "MW0109 9 spec.targetRef.workloadSelector.matchLabels",
    ]);
  });
});

describe("findSelectorsMatchingNothing with a catalog without instances", () => {
  it("reports nothing: the catalog says nothing about workloads", () => {
    const { resources } = loadResources([{ path: "in.yaml", text: policy("AuthorizationPolicy", "shop", "{app: reviews}") }]);
    expect(findSelectorsMatchingNothing(buildMeshIndex(resources, { catalog: { services: [{ name: "reviews", namespace: "shop" }] } }))).toEqual([]);
  });
});
