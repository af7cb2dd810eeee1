// findRoute against a deliberately simple reference matcher written from Istio's VirtualService
// docs ("HTTPRoute: ... the first rule matching an incoming request is used"; "match: ... all
// conditions inside a single match block have AND semantics, while the list of match blocks have
// OR semantics"), on generated VirtualServices and requests over a small alphabet so that
// matches, near misses and fall-throughs all occur.
import type { MeshResource } from "@meshwork/config";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileRouteTable } from "./compile-route-table.ts";
import { findRoute, queryParam, type RouteRequest } from "./find-route.ts";

type Vs = MeshResource<"VirtualService">;
type HttpRoute = NonNullable<Vs["spec"]["http"]>[number];
type Match = NonNullable<HttpRoute["match"]>[number];
type StringMatch = NonNullable<Match["uri"]>;

// ---- the reference: straight from the docs, no precompilation, no cleverness ----

function refString(m: StringMatch, value: string | undefined, ignoreCase = false): boolean {
  if (value === undefined) return false;
  const v = ignoreCase ? value.toLowerCase() : value;
  if (m.exact !== undefined) return v === (ignoreCase ? m.exact.toLowerCase() : m.exact);
  if (m.prefix !== undefined) return v.startsWith(ignoreCase ? m.prefix.toLowerCase() : m.prefix);
  if (m.regex !== undefined) return new RegExp(`^(?:${m.regex})$`, ignoreCase ? "i" : "").test(value);
  return true; // `{}`: the header is present
}

function refMatch(m: Match, vsGateways: readonly string[], req: RouteRequest): boolean {
  const gateways = m.gateways ?? vsGateways;
  if (!gateways.includes(req.gateway)) return false;
  if (m.uri && !refString(m.uri, req.path, m.ignoreUriCase ?? false)) return false;
  if (m.method && !refString(m.method, req.method)) return false;
  if (m.scheme && !refString(m.scheme, req.scheme)) return false;
  if (m.authority && !refString(m.authority, req.authority, true)) return false;
  if (m.port !== undefined && m.port !== req.port) return false;
  for (const [name, hm] of Object.entries(m.headers ?? {})) if (!refString(hm, req.headers[name])) return false;
  for (const [name, hm] of Object.entries(m.withoutHeaders ?? {})) if (refString(hm, req.headers[name])) return false;
  const params = new URLSearchParams(req.query);
  for (const [name, qm] of Object.entries(m.queryParams ?? {})) if (!refString(qm, params.get(name) ?? undefined)) return false;
  for (const [name, value] of Object.entries(m.sourceLabels ?? {})) if (req.sourceLabels[name] !== value) return false;
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== req.sourceNamespace) return false;
  return true;
}

/** Index of the first HTTPRoute any of whose matches holds (no match list: all requests), or -1. */
function refFindRoute(vs: Vs, req: RouteRequest): number {
  const vsGateways = vs.spec.gateways ?? ["mesh"];
  const routes = vs.spec.http ?? [];
  for (let i = 0; i < routes.length; i++) {
    const matches = (routes[i] as HttpRoute).match ?? [];
    if (matches.length === 0 ? vsGateways.includes(req.gateway) : matches.some((m) => refMatch(m, vsGateways, req))) return i;
  }
  return -1;
}

// ---- generators over a small alphabet ----

const segment = fc.constantFrom("a", "b", "A", "ab");
const pathArb = fc.array(segment, { minLength: 0, maxLength: 3 }).map((s) => `/${s.join("/")}`);
const stringMatchOf = (values: fc.Arbitrary<string>, regexes: readonly string[]): fc.Arbitrary<StringMatch> =>
  fc.oneof(
    values.map((exact) => ({ exact })),
    values.map((prefix) => ({ prefix })),
    fc.constantFrom(...regexes).map((regex) => ({ regex })),
  );
const uriMatch = stringMatchOf(pathArb, ["/a.*", "/[ab]+", "/(a|b)/.*", ".*b"]);
const headerValue = fc.constantFrom("x", "y", "xy");
const headerMatch = fc.oneof(stringMatchOf(headerValue, ["x.*", "y"]), fc.constant({}));
const gatewayName = fc.constantFrom("mesh", "default/gw");

const matchArb: fc.Arbitrary<Match> = fc.record(
  {
    uri: uriMatch,
    ignoreUriCase: fc.boolean(),
    method: stringMatchOf(fc.constantFrom("GET", "POST"), ["GET|PUT"]),
    scheme: fc.constant({ exact: "https" }),
    authority: stringMatchOf(fc.constantFrom("svc", "SVC:80"), ["svc(:80)?"]),
    headers: fc.dictionary(fc.constantFrom("h1", "h2"), headerMatch, { maxKeys: 2 }),
    withoutHeaders: fc.dictionary(fc.constantFrom("h1", "h2"), headerMatch, { maxKeys: 1 }),
    queryParams: fc.dictionary(fc.constantFrom("q", "r"), stringMatchOf(headerValue, ["x.*"]), { maxKeys: 2 }),
    port: fc.constantFrom(80, 8080),
    sourceLabels: fc.dictionary(fc.constantFrom("app", "version"), fc.constantFrom("p", "q"), { maxKeys: 2 }),
    sourceNamespace: fc.constantFrom("default", "other"),
    gateways: fc.array(gatewayName, { minLength: 1, maxLength: 2 }),
  },
  { requiredKeys: [] },
);

const routeArb: fc.Arbitrary<HttpRoute> = fc
  .record({ match: fc.option(fc.array(matchArb, { minLength: 1, maxLength: 3 }), { nil: undefined }) })
  .map(({ match }) => ({ ...(match ? { match } : {}), route: [{ destination: { host: "svc" } }] }));

const vsArb: fc.Arbitrary<Vs> = fc
  .record({
    http: fc.array(routeArb, { minLength: 1, maxLength: 6 }),
    gateways: fc.option(fc.array(gatewayName, { minLength: 1, maxLength: 2 }), { nil: undefined }),
  })
  .map(({ http, gateways }) => ({
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "svc", namespace: "default" },
    spec: { hosts: ["svc"], http, ...(gateways ? { gateways: [...new Set(gateways)] } : {}) },
  }));

const requestArb: fc.Arbitrary<RouteRequest> = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT"),
  authority: fc.constantFrom("svc", "svc:80", "SVC:80"),
  path: pathArb,
  query: fc.constantFrom("", "q=x", "q=xy&r=y", "r=x", "q"),
  scheme: fc.constantFrom("http", "https"),
  port: fc.constantFrom(80, 8080),
  headers: fc.dictionary(fc.constantFrom("h1", "h2"), headerValue, { maxKeys: 2 }),
  sourceLabels: fc.dictionary(fc.constantFrom("app", "version"), fc.constantFrom("p", "q"), { maxKeys: 2 }),
  sourceNamespace: fc.constantFrom(undefined, "default", "other"),
  gateway: gatewayName,
});

describe("findRoute", () => {
  it("chooses the same route as the reference matcher built from Istio's docs", () => {
    fc.assert(
      fc.property(vsArb, fc.array(requestArb, { minLength: 1, maxLength: 20 }), (vs, requests) => {
        const table = compileRouteTable([vs], [], { namespace: "default", domainSuffix: "cluster.local" });
        for (const req of requests) {
          const decision = findRoute(table, req);
          const expected = refFindRoute(vs, req);
          const actual = decision.type === "route" ? decision.routeIndex : -1;
          if (actual !== expected) {
            throw new Error(`request ${JSON.stringify(req)}: findRoute chose http[${actual}], reference http[${expected}]`);
          }
          if (expected < 0 && decision.type === "route") throw new Error("unexpected route");
        }
      }),
      { seed: 20261122, numRuns: 400 },
    );
  });

  it("answers no-virtual-host for an unknown authority or gateway, no-route when nothing matches", () => {
    const vs: Vs = {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "svc", namespace: "default" },
      spec: { hosts: ["svc"], http: [{ match: [{ uri: { exact: "/only" } }], route: [{ destination: { host: "svc" } }] }] },
    };
    const table = compileRouteTable([vs], [], { namespace: "default", domainSuffix: "cluster.local" });
    const base: RouteRequest = {
      method: "GET",
      authority: "svc",
      path: "/other",
      query: "",
      scheme: "http",
      port: 80,
      headers: {},
      sourceLabels: {},
      sourceNamespace: undefined,
      gateway: "mesh",
    };
    expect(findRoute(table, base).type).toBe("no-route");
    expect(findRoute(table, { ...base, path: "/only" }).type).toBe("route");
    expect(findRoute(table, { ...base, authority: "elsewhere" }).type).toBe("no-virtual-host");
    expect(findRoute(table, { ...base, path: "/only", gateway: "default/gw" }).type).toBe("no-virtual-host");
    expect(findRoute(table, { ...base, path: "/only", authority: "[::1]:80" }).type).toBe("no-virtual-host");
  });
});

describe("queryParam", () => {
  it("finds the first value of a parameter without splitting the query into a map", () => {
    expect(queryParam("a=1&b=2&a=3", "a")).toBe("1");
    expect(queryParam("a=1&b=2", "b")).toBe("2");
    expect(queryParam("ab=1&b", "b")).toBe("");
    expect(queryParam("ab=1", "a")).toBeUndefined();
    expect(queryParam("", "a")).toBeUndefined();
    expect(queryParam("q=a%20b+c", "q")).toBe("a b c");
  });
});
