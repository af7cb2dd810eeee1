import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import { buildMeshIndex } from "./mesh-index.ts";
import { findUnknownDelegates } from "./unknown-delegate-analyzer.ts";

function analyze(text: string) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findUnknownDelegates(buildMeshIndex(resources));
}

const root = (delegate: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: root
spec:
  hosts: [shop.example.com]
  http:
  - match: [{uri: {prefix: /reviews}}]
    delegate: ${delegate}
  - route:
    - destination: {host: web}
---
`;

const delegate = (name: string, namespace: string, extra = "") => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
${extra}  http:
  - route:
    - destination: {host: reviews}
---
`;

describe("findUnknownDelegates", () => {
  it("accepts a delegate in the root's namespace or another one", () => {
    expect(analyze(root("{name: reviews}") + delegate("reviews", "default"))).toEqual([]);
    expect(analyze(root("{name: reviews, namespace: team}") + delegate("reviews", "team"))).toEqual([]);
  });

  it("reports a delegate that does not exist, at its name, with a near name", () => {
    expect(analyze(root("{name: review}") + delegate("reviews", "default"))).toEqual([
      expect.objectContaining({
        code: "MW0112",
        line: 9,
        field: "spec.http[0].delegate.name",
        message: 'delegate VirtualService "default/review" does not exist',
        hint: 'did you mean "reviews"?',
      }),
    ]);
  });

  it("reports a target with hosts and a target not exported to the root's namespace", () => {
    expect(analyze(root("{name: reviews}") + delegate("reviews", "default", "  hosts: [reviews]\n")).map((f) => f.message)).toEqual([
      'VirtualService "default/reviews" has hosts, so it is not a delegate and Istio ignores the delegation',
    ]);
    expect(analyze(root("{name: reviews, namespace: team}") + delegate("reviews", "team", '  exportTo: ["."]\n')).map((f) => f.hint)).toEqual([
      'add "default" to the exportTo of team/reviews',
    ]);
  });
});
