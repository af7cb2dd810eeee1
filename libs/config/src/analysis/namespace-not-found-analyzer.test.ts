import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import type { MeshCatalog } from "./analyze-resources.ts";
import { buildMeshIndex } from "./mesh-index.ts";
import { findUnknownNamespaces, namespaceMatches } from "./namespace-not-found-analyzer.ts";

function analyze(text: string, catalog?: MeshCatalog) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findUnknownNamespaces(buildMeshIndex(resources, { catalog }));
}

const policy = (...namespaces: string[]) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: from-frontends
  namespace: shop
spec:
  rules:
  - from:
    - source:
        namespaces: [${namespaces.map((n) => `"${n}"`).join(", ")}]
`;

const catalog: MeshCatalog = { services: [{ name: "web", namespace: "frontend" }, { name: "api", namespace: "prod-api" }] };

describe("findUnknownNamespaces", () => {
  it("accepts namespaces with services, and wildcards matching one", () => {
    expect(analyze(policy("frontend", "prod-*", "*-api", "*"), catalog)).toEqual([]);
    expect(analyze(policy("nowhere"))).toEqual([]);
  });

  it("warns about a namespace without workloads, suggesting the near one", () => {
    expect(analyze(policy("frontend", "fronted", "staging-*"), catalog).map((f) => `${f.line}:${f.column} ${f.code} ${f.field} ${f.hint}`)).toEqual([
      '10:34 MW0113 spec.rules[0].from[0].source.namespaces[1] did you mean "frontend"?',
      "10:45 MW0113 spec.rules[0].from[0].source.namespaces[2] namespaces with workloads: frontend, prod-api",
    ]);
  });

  it("namespaceMatches reads Istio's prefix and suffix wildcards", () => {
    expect(namespaceMatches("prod-*", "prod-api")).toBe(true);
    expect(namespaceMatches("*-api", "prod-api")).toBe(true);
    expect(namespaceMatches("prod", "prod-api")).toBe(false);
  });
});
