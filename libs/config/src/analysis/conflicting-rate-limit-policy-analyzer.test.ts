import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import type { MeshCatalog } from "./analyze-resources.ts";
import { findConflictingRateLimitPolicies } from "./conflicting-rate-limit-policy-analyzer.ts";
import { buildMeshIndex } from "./mesh-index.ts";

function analyze(text: string, catalog?: MeshCatalog) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findConflictingRateLimitPolicies(buildMeshIndex(resources, { catalog }));
}

const policy = (name: string, targetRef: string, extra = "") => `apiVersion: policy.meshwork.io/v1alpha1
kind: HTTPLocalRateLimitPolicy
metadata:
  name: ${name}
  namespace: shop
spec:
  targetRef: ${targetRef}
  total: {requestsPerSecond: 10}
${extra}---
`;

const catalog: MeshCatalog = { services: [{ name: "reviews", namespace: "shop", instances: [{ labels: { app: "reviews", version: "v1" }, address: "10.0.0.7" }] }] };

describe("findConflictingRateLimitPolicies", () => {
  it("reports two policies with the same selector and port, at targetRef", () => {
    const findings = analyze(policy("a", "{workloadSelector: {matchLabels: {app: reviews}}}") + policy("b", "{workloadSelector: {matchLabels: {app: reviews}}}"));
    expect(findings.map((f) => `${f.code} ${f.resource?.name} ${f.line} ${f.field}`)).toEqual(["MW0122 a 7 spec.targetRef", "MW0122 b 16 spec.targetRef"]);
    expect(findings[0]?.message).toBe(
      "HTTPLocalRateLimitPolicy shop/b (every port, same selector {app: reviews}) also applies to the same workloads; only one policy is enforced per listener and route, chosen by name",
    );
  });

  it("accepts layered policies: a port over a port-less one, labels over namespace-wide, disjoint routes", () => {
    expect(analyze(policy("a", "{workloadSelector: {matchLabels: {app: reviews}}}") + policy("b", "{workloadSelector: {matchLabels: {app: reviews}}, port: 9080}"))).toEqual([]);
    expect(analyze(policy("a", "{}") + policy("b", "{workloadSelector: {matchLabels: {app: reviews}}}"))).toEqual([]);
    expect(analyze(policy("a", "{}", "  routes: [x]\n") + policy("b", "{}", "  routes: [y]\n") + policy("c", "{}"))).toEqual([]);
    expect(analyze(policy("a", "{}", "  routes: [x, y]\n") + policy("b", "{}", "  routes: [y]\n")).map((f) => f.resource?.name)).toEqual(["a", "b"]);
  });

  it("with a catalog, reports different selectors that pick the same workload", () => {
    const text = policy("a", "{workloadSelector: {matchLabels: {app: reviews}}}") + policy("b", "{workloadSelector: {matchLabels: {version: v1}}}");
    expect(analyze(text)).toEqual([]);
    const findings = analyze(text, catalog);
    expect(findings.map((f) => f.resource?.name)).toEqual(["a", "b"]);
    expect(findings[0]?.message).toContain("(every port, e.g. service shop/reviews (10.0.0.7))");
  });
});
