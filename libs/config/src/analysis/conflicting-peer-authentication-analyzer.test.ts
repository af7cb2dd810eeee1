import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import type { MeshCatalog } from "./analyze-resources.ts";
import { findConflictingPeerAuthentications } from "./conflicting-peer-authentication-analyzer.ts";
import { buildMeshIndex } from "./mesh-index.ts";

function analyze(text: string, catalog?: MeshCatalog) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findConflictingPeerAuthentications(buildMeshIndex(resources, { catalog }));
}

const pa = (name: string, namespace: string, selector?: string, mode = "STRICT") => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
${selector ? `  selector:\n    matchLabels: ${selector}\n` : ""}  mtls:
    mode: ${mode}
---
`;

const catalog: MeshCatalog = {
  services: [{ name: "reviews", namespace: "shop", instances: [{ labels: { app: "reviews", version: "v1" }, address: "10.0.0.1" }, { labels: { app: "reviews", version: "v2" } }] }],
};

describe("findConflictingPeerAuthentications", () => {
  it("reports two mesh-wide policies, naming each other", () => {
    expect(analyze(pa("default", "istio-system") + pa("strict", "istio-system", undefined, "PERMISSIVE")).map((f) => `${f.line} ${f.message}`)).toEqual([
      '4 PeerAuthentication istio-system/strict is also mesh-wide (root namespace, no selector); Istio applies only the oldest one',
      '13 PeerAuthentication istio-system/default is also mesh-wide (root namespace, no selector); Istio applies only the oldest one',
    ]);
  });

  it("reports two namespace-wide policies in one namespace, not in different ones", () => {
    expect(analyze(pa("a", "shop") + pa("b", "shop")).map((f) => f.message.split(";")[0])).toEqual([
      'PeerAuthentication shop/b is also namespace-wide in "shop" (no selector)',
      'PeerAuthentication shop/a is also namespace-wide in "shop" (no selector)',
    ]);
    expect(analyze(pa("a", "shop") + pa("a", "web") + pa("default", "istio-system"))).toEqual([]);
  });

  it("with a catalog, reports workload policies selecting the same workload", () => {
    const findings = analyze(pa("all-reviews", "shop", "{app: reviews}") + pa("reviews-v1", "shop", "{version: v1}") + pa("reviews-v2", "web", "{version: v2}"), catalog);
    expect(findings.map((f) => `${f.line} ${f.field} ${f.message}`)).toEqual([
      '8 spec.selector.matchLabels selector {app: reviews} selects the same workloads as PeerAuthentication shop/reviews-v1 (e.g. service shop/reviews (10.0.0.1)); Istio applies only the oldest policy to a workload',
      '19 spec.selector.matchLabels selector {version: v1} selects the same workloads as PeerAuthentication shop/all-reviews (e.g. service shop/reviews (10.0.0.1)); Istio applies only the oldest policy to a workload',
    ]);
    expect(analyze(pa("v1", "shop", "{version: v1}") + pa("v2", "shop", "{version: v2}"), catalog)).toEqual([]);
  });

  it("without a catalog, reports only identical selectors", () => {
    expect(analyze(pa("a", "shop", "{app: reviews}") + pa("b", "shop", "{app: reviews}"))).toHaveLength(2);
    expect(analyze(pa("a", "shop", "{app: reviews}") + pa("b", "shop", "{version: v1}"))).toEqual([]);
  });
});
