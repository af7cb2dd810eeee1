import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import { buildMeshIndex } from "./mesh-index.ts";
import { findUnusedDelegates } from "./unused-delegate-analyzer.ts";

function analyze(text: string) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findUnusedDelegates(buildMeshIndex(resources));
}

const orphan = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews-routes
  namespace: team
spec:
  http:
  - route:
    - destination: {host: reviews}
`;

describe("findUnusedDelegates", () => {
  it("warns about a VirtualService without hosts that no route delegates to", () => {
    expect(analyze(orphan)).toEqual([
      expect.objectContaining({
        code: "MW0120",
        severity: "warning",
        line: 7,
        field: "spec",
        message: 'it has no hosts, so it is a delegate, but no route delegates to team/reviews-routes; its routes apply nowhere',
      }),
    ]);
  });

  it("accepts a delegate some route uses", () => {
    const root = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: root
spec:
  hosts: [reviews]
  http:
  - delegate: {name: reviews-routes, namespace: team}
---
`;
    expect(analyze(root + orphan)).toEqual([]);
  });
});
