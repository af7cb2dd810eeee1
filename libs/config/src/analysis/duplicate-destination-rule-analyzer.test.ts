import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import { findDuplicateDestinationRules } from "./duplicate-destination-rule-analyzer.ts";
import { buildMeshIndex } from "./mesh-index.ts";

function analyze(text: string) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findDuplicateDestinationRules(buildMeshIndex(resources));
}

const dr = (name: string, host: string, extra = "") => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ${name}
spec:
  host: ${host}
${extra}  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
---
`;

describe("findDuplicateDestinationRules", () => {
  it("warns on each rule for the same host in one namespace, short or full name", () => {
    const findings = analyze(dr("a", "reviews") + dr("b", "reviews.default.svc.cluster.local"));
    expect(findings.map((f) => `${f.line} ${f.severity} ${f.field} ${f.message}`)).toEqual([
      '6 warning spec.host DestinationRule default/b also applies to host "reviews.default.svc.cluster.local" in namespace "default"; Istio merges them and only the oldest one\'s trafficPolicy counts',
      '15 warning spec.host DestinationRule default/a also applies to host "reviews.default.svc.cluster.local" in namespace "default"; Istio merges them and only the oldest one\'s trafficPolicy counts',
    ]);
  });

  it("accepts rules in different namespaces, for different hosts, or with a workloadSelector", () => {
    expect(analyze(dr("a", "reviews") + dr("b", "reviews").replace("name: b", "name: b\n  namespace: other"))).toEqual([]);
    expect(analyze(dr("a", "reviews") + dr("b", "ratings"))).toEqual([]);
    expect(analyze(dr("a", "reviews") + dr("b", "reviews", "  workloadSelector:\n    matchLabels: {app: productpage}\n"))).toEqual([]);
  });
});
