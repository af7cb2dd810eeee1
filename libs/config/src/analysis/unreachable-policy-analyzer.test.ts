import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import type { MeshCatalog } from "./analyze-resources.ts";
import { buildMeshIndex } from "./mesh-index.ts";
import { findUnreachablePolicies } from "./unreachable-policy-analyzer.ts";

function analyze(text: string, catalog?: MeshCatalog) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findUnreachablePolicies(buildMeshIndex(resources, { catalog }));
}

// From Istio's "Authorization with JWT" task.
const requireJwt = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: require-jwt
  namespace: foo
spec:
  selector:
    matchLabels:
      app: httpbin
  action: ALLOW
  rules:
  - from:
    - source:
       requestPrincipals: ["testing@secure.istio.io/testing@secure.istio.io"]
---
`;

const jwtExample = (namespace: string, labels?: string) => `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: jwt-example
  namespace: ${namespace}
spec:
${labels ? `  selector:\n    matchLabels: ${labels}\n` : ""}  jwtRules:
  - issuer: "testing@secure.istio.io"
    jwksUri: "https://raw.githubusercontent.com/istio/istio/master/security/tools/jwt/samples/jwks.json"
---
`;

describe("findUnreachablePolicies", () => {
  it("reports a policy on request principals with no RequestAuthentication in scope", () => {
    expect(analyze(requireJwt)).toEqual([
      expect.objectContaining({
        code: "MW0114",
        severity: "info",
        line: 14,
        field: "spec.rules[0].from[0].source.requestPrincipals",
        message:
          'no RequestAuthentication applies to the workloads this policy selects in namespace "foo", so rules on them never match and those requests are denied',
      }),
    ]);
  });

  it("accepts a RequestAuthentication in the namespace or the root namespace that can select the same workloads", () => {
    expect(analyze(requireJwt + jwtExample("foo", "{app: httpbin}"))).toEqual([]);
    expect(analyze(requireJwt + jwtExample("foo"))).toEqual([]);
    expect(analyze(requireJwt + jwtExample("istio-system"))).toEqual([]);
    expect(analyze(requireJwt + jwtExample("bar"))).toHaveLength(1);
    expect(analyze(requireJwt + jwtExample("foo", "{app: productpage}"))).toHaveLength(1);
  });

  it("with a catalog, needs a workload both select", () => {
    const catalog: MeshCatalog = { services: [{ name: "httpbin", namespace: "foo", instances: [{ labels: { app: "httpbin", version: "v1" } }] }] };
    expect(analyze(requireJwt + jwtExample("foo", "{version: v1}"), catalog)).toEqual([]);
    expect(analyze(requireJwt + jwtExample("foo", "{version: v2}"), catalog)).toHaveLength(1);
  });

  it("also sees request.auth conditions", () => {
    const claims = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: groups
  namespace: foo
spec:
  action: DENY
  rules:
  - when:
    - key: request.auth.claims[groups]
      notValues: ["group1"]
`;
    expect(analyze(claims).map((f) => `${f.line} ${f.field}`)).toEqual(["10 spec.rules[0].when[0].key"]);
  });
});
