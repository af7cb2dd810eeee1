import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import type { HTTPMatchRequest } from "../schema/virtual-service.ts";
import { buildMeshIndex } from "./mesh-index.ts";
import { covers, findShadowedRoutes } from "./shadowed-route-analyzer.ts";

function analyze(text: string) {
  const { resources, issues } = loadResources([{ path: "in.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return findShadowedRoutes(buildMeshIndex(resources));
}

/** A VirtualService whose HTTP routes have the given `match:` YAML (flow style), or none when "". */
const routes = (...matches: string[]) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: web
spec:
  hosts:
  - web
  http:
${matches.map((m, i) => `  - ${m ? `match: ${m}\n    ` : ""}route:\n    - destination: {host: web, subset: s${i}}\n`).join("")}`;

describe("findShadowedRoutes", () => {
  it("accepts routes ordered from specific to general (bookinfo's jason route)", () => {
    expect(analyze(routes("[{headers: {end-user: {exact: jason}}}]", ""))).toEqual([]);
    expect(analyze(routes("[{uri: {prefix: /api/v1}}]", "[{uri: {prefix: /api}}]", ""))).toEqual([]);
  });

  it("reports a route after a catch-all route, at the shadowed route's line", () => {
    expect(analyze(routes("", "[{headers: {end-user: {exact: jason}}}]"))).toEqual([
      expect.objectContaining({
        code: "MW0105",
        severity: "warning",
        line: 11,
        field: "spec.http[1]",
        message: 'route can never match; spec.http[0], which has no match conditions, already takes every request it would match',
      }),
    ]);
  });

  it("reports a route after prefix / and a catch-all after a catch-all", () => {
    const findings = analyze(routes("[{uri: {prefix: /}}]", "[{uri: {exact: /login}}]", ""));
    expect(findings.map((f) => `${f.field}: ${f.message.split("; ")[1]}`)).toEqual([
      'spec.http[1]: spec.http[0].match[0] (uri prefix "/") already takes every request it would match',
      'spec.http[2]: spec.http[0].match[0] (uri prefix "/") already takes every request it would match',
    ]);
  });

  it("reports a route whose every match is covered by earlier, broader matches", () => {
    const findings = analyze(routes("[{uri: {prefix: /api}}, {headers: {x-canary: {}}}]", "[{uri: {prefix: /api/v2}}, {uri: {exact: /x}, headers: {x-canary: {exact: 'yes'}}}]"));
    expect(findings.map((f) => f.message)).toEqual([
      'route can never match; spec.http[0].match[0] (uri prefix "/api") and spec.http[0].match[1] (header x-canary present) already take every request it would match',
    ]);
  });

  it("does not report a route that one of its matches can still reach", () => {
    expect(analyze(routes("[{uri: {prefix: /api}}]", "[{uri: {prefix: /api/v2}}, {uri: {prefix: /web}}]"))).toEqual([]);
    expect(analyze(routes("[{uri: {regex: '/a.*'}}]", "[{uri: {prefix: /a}}]"))).toEqual([]);
  });
});

describe("covers", () => {
  const m = (value: HTTPMatchRequest) => value;
  it("compares prefixes, exact values and case", () => {
    expect(covers(m({ uri: { prefix: "/a" } }), m({ uri: { exact: "/a/b" } }))).toBe(true);
    expect(covers(m({ uri: { exact: "/a" } }), m({ uri: { prefix: "/a" } }))).toBe(false);
    expect(covers(m({ uri: { prefix: "/a" }, ignoreUriCase: true }), m({ uri: { prefix: "/A/b" } }))).toBe(true);
    expect(covers(m({ uri: { prefix: "/a" } }), m({ uri: { prefix: "/a/b" }, ignoreUriCase: true }))).toBe(false);
  });
  it("needs every header, query parameter, port, label and gateway of the broader match", () => {
    expect(covers(m({ headers: { a: { exact: "1" } } }), m({ headers: { a: { exact: "1" }, b: {} } }))).toBe(true);
    expect(covers(m({ headers: { a: {} } }), m({ headers: { a: { regex: "x+" } } }))).toBe(true);
    expect(covers(m({ headers: { a: { exact: "1" } } }), m({ uri: { prefix: "/" } }))).toBe(false);
    expect(covers(m({ queryParams: { q: { exact: "1" } } }), m({ queryParams: { q: { exact: "2" } } }))).toBe(false);
    expect(covers(m({ port: 80 }), m({ port: 8080 }))).toBe(false);
    expect(covers(m({ sourceLabels: { app: "a" } }), m({ sourceLabels: { app: "a", v: "1" } }))).toBe(true);
    expect(covers(m({ gateways: ["g1", "g2"] }), m({ gateways: ["g1"] }))).toBe(true);
    expect(covers(m({ gateways: ["g1"] }), m({}))).toBe(false);
  });
  it("treats withoutHeaders as exclusions the narrower match must share", () => {
    expect(covers(m({ withoutHeaders: { a: { exact: "1" } } }), m({ withoutHeaders: { a: {} } }))).toBe(true);
    expect(covers(m({ withoutHeaders: { a: {} } }), m({ withoutHeaders: { a: { exact: "1" } } }))).toBe(false);
  });
});
