import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import type { MeshCatalog } from "./analyze-resources.ts";
import { buildMeshIndex } from "./mesh-index.ts";
import { findEmptySubsets } from "./subset-selects-nothing-analyzer.ts";

function analyze(text: string, catalog?: MeshCatalog) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findEmptySubsets(buildMeshIndex(resources, { catalog }));
}

const rule = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v3
    labels:
      version: v3
`;

const catalog = (instances?: { labels: Record<string, string> }[]): MeshCatalog => ({ services: [{ name: "reviews", namespace: "default", ...(instances ? { instances } : {}) }] });

describe("findEmptySubsets", () => {
  it("warns about a subset no instance of the service has, at its labels", () => {
    expect(analyze(rule, catalog([{ labels: { app: "reviews", version: "v1" } }, { labels: { app: "reviews", version: "v2" } }]))).toEqual([
      expect.objectContaining({
        code: "MW0119",
        severity: "warning",
        line: 13,
        field: "spec.subsets[1].labels",
        message: 'subset "v3" selects {version: v3}, which no instance of service "reviews.default.svc.cluster.local" has, so traffic routed to it fails',
      }),
    ]);
  });

  it("needs a catalog with instances", () => {
    expect(analyze(rule)).toEqual([]);
    expect(analyze(rule, catalog())).toEqual([]);
  });
});
