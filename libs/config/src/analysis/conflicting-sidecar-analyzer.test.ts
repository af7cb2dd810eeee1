import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import type { MeshCatalog } from "./analyze-resources.ts";
import { findConflictingSidecars } from "./conflicting-sidecar-analyzer.ts";
import { buildMeshIndex } from "./mesh-index.ts";

function analyze(text: string, catalog?: MeshCatalog) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findConflictingSidecars(buildMeshIndex(resources, { catalog }));
}

const sidecar = (name: string, labels?: string) => `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: ${name}
  namespace: shop
spec:
${labels ? `  workloadSelector:\n    labels: ${labels}\n` : ""}  egress:
  - hosts: ["./*", "istio-system/*"]
---
`;

const catalog: MeshCatalog = { services: [{ name: "reviews", namespace: "shop", instances: [{ labels: { app: "reviews", version: "v1" } }] }] };

describe("findConflictingSidecars", () => {
  it("reports two Sidecars without workloadSelector in one namespace", () => {
    expect(analyze(sidecar("default") + sidecar("other")).map((f) => `${f.line} ${f.code} ${f.message}`)).toEqual([
      '4 MW0117 Sidecar shop/other also has no workloadSelector in namespace "shop"; only one of them applies',
      '13 MW0117 Sidecar shop/default also has no workloadSelector in namespace "shop"; only one of them applies',
    ]);
  });

  it("with a catalog, reports Sidecars whose selectors pick the same workload", () => {
    expect(analyze(sidecar("default") + sidecar("a", "{app: reviews}") + sidecar("b", "{version: v1}"), catalog).map((f) => `${f.resource?.name} ${f.field}`)).toEqual([
      "a spec.workloadSelector.labels",
      "b spec.workloadSelector.labels",
    ]);
    expect(analyze(sidecar("a", "{app: reviews}") + sidecar("b", "{version: v2}"), catalog)).toEqual([]);
  });
});
