import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import { buildMeshIndex } from "./mesh-index.ts";
import { findUnknownSubsets } from "./unknown-subset-analyzer.ts";

function analyze(text: string) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findUnknownSubsets(buildMeshIndex(resources));
}

const reviewsRule = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
`;

const routeTo = (subset: string, host = "reviews", namespace?: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews${namespace ? `\n  namespace: ${namespace}` : ""}
spec:
  hosts:
  - reviews
  http:
  - route:
    - destination:
        host: ${host}
        subset: ${subset}
`;

describe("findUnknownSubsets", () => {
  it("accepts a subset the DestinationRule for the host defines", () => {
    expect(analyze(`${reviewsRule}---\n${routeTo("v2")}`)).toEqual([]);
  });

  it("reports a subset no DestinationRule defines, naming the rule checked and pointing at the subset line", () => {
    const findings = analyze(`${reviewsRule}---\n${routeTo("v4")}`);
    expect(findings).toEqual([
      {
        code: "MW0101",
        name: "UnknownSubset",
        severity: "error",
        message: 'subset "v4" is not defined in any DestinationRule for host "reviews"; DestinationRule default/reviews defines "v1", "v2"',
        hint: 'add subset "v4" with its labels to DestinationRule default/reviews, or route to a defined subset',
        file: "in.yaml",
        line: 24,
        column: 17,
        resource: { kind: "VirtualService", namespace: "default", name: "reviews" },
        field: "spec.http[0].route[0].destination.subset",
      },
    ]);
  });

  it("suggests the subset a typo meant", () => {
    expect(analyze(`${reviewsRule}---\n${routeTo("V2")}`)[0]?.hint).toBe('did you mean subset "v2"?');
  });

  it("says when no DestinationRule applies to the host at all", () => {
    const [finding] = analyze(routeTo("v1"));
    expect(finding?.message).toContain('no DestinationRule applies to "reviews.default.svc.cluster.local"');
    expect(finding?.hint).toBe('create a DestinationRule for host "reviews" that defines subset "v1" with its labels');
  });

  it("resolves short names in each resource's namespace", () => {
    // The rule is for reviews.prod; a VirtualService in default naming "reviews" means reviews.default.
    const inProd = reviewsRule.replace("name: reviews\n", "name: reviews\n  namespace: prod\n");
    expect(analyze(`${inProd}---\n${routeTo("v1", "reviews", "prod")}`)).toEqual([]);
    expect(analyze(`${inProd}---\n${routeTo("v1")}`)).toHaveLength(1);
    expect(analyze(`${inProd}---\n${routeTo("v1", "reviews.prod.svc.cluster.local")}`)).toEqual([]);
    expect(analyze(`${inProd}---\n${routeTo("v1", "reviews.prod")}`)).toEqual([]);
  });

  it("uses the most specific rule: an exact host hides a wildcard rule's subsets", () => {
    const wildcard = reviewsRule.replace("name: reviews\nspec:\n  host: reviews", "name: all\nspec:\n  host: \"*.default.svc.cluster.local\"").replace("name: v2", "name: v3");
    const exact = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews-exact
spec:
  host: reviews
  subsets:
  - name: v2
    labels: {version: v2}
`;
    expect(analyze(`${wildcard}---\n${routeTo("v3")}`)).toEqual([]);
    const findings = analyze(`${wildcard}---\n${exact}---\n${routeTo("v3")}`);
    expect(findings.map((f) => f.message)).toEqual([
      'subset "v3" is not defined in any DestinationRule for host "reviews"; DestinationRule default/reviews-exact defines "v2"',
    ]);
  });

  it("looks in the client namespace, then the service namespace, then istio-system, honouring exportTo", () => {
    const inProd = reviewsRule.replace("name: reviews\n", "name: reviews\n  namespace: prod\n");
    const fqdn = "reviews.prod.svc.cluster.local";
    // A client in "web" uses the rule exported by the service's namespace.
    expect(analyze(`${inProd}---\n${routeTo("v1", fqdn, "web")}`)).toEqual([]);
    // ... unless that rule is private to prod.
    const privateRule = inProd.replace("spec:\n", "spec:\n  exportTo: [\".\"]\n");
    expect(analyze(`${privateRule}---\n${routeTo("v1", fqdn, "web")}`)).toHaveLength(1);
    // A root-namespace rule is the fallback.
    const rootRule = reviewsRule.replace("name: reviews\nspec:\n  host: reviews", `name: reviews\n  namespace: istio-system\nspec:\n  host: ${fqdn}`);
    expect(analyze(`${rootRule}---\n${routeTo("v1", fqdn, "web")}`)).toEqual([]);
    // A rule in the client's own namespace takes precedence, even without the subset.
    const local = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews-tls
  namespace: web
spec:
  host: ${fqdn}
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
`;
    const findings = analyze(`${inProd}---\n${local}---\n${routeTo("v1", fqdn, "web")}`);
    expect(findings.map((f) => f.message)).toEqual([
      `subset "v1" is not defined in any DestinationRule for host "${fqdn}"; DestinationRule web/reviews-tls defines no subsets`,
    ]);
  });

  it("checks mirrors, TCP and TLS destinations too", () => {
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: mixed
spec:
  hosts:
  - reviews
  http:
  - route:
    - destination: {host: reviews, subset: v1}
    mirror: {host: reviews, subset: v9}
  tcp:
  - route:
    - destination: {host: reviews, subset: v8, port: {number: 9090}}
`;
    expect(analyze(`${reviewsRule}---\n${vs}`).map((f) => `${f.line} ${f.field}`)).toEqual([
      "23 spec.http[0].mirror.subset",
      "26 spec.tcp[0].route[0].destination.subset",
    ]);
  });
});
