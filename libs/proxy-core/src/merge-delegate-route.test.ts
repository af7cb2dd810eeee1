// Delegation merge rules: Istio's stringMatchConflict/hasConflict cases as a table, the fields a
// merged route takes from the root, and — as a property — the merged routes against a reference
// that knows only sets: a delegate match fits a root match when every path it accepts, the root's
// accepts too (Istio's docs: "the delegate's HTTPMatchRequest must be a strict subset of the
// root's"), checked by enumerating paths.
import type { MeshResource } from "@meshwork/config";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileRouteTable } from "./compile-route-table.ts";
import { findRoute } from "./find-route.ts";
import { matchConflict, mergeDelegateRoute } from "./merge-delegate-route.ts";

type Vs = MeshResource<"VirtualService">;
type HttpRoute = NonNullable<Vs["spec"]["http"]>[number];
type Match = NonNullable<HttpRoute["match"]>[number];
type StringMatch = NonNullable<Match["uri"]>;

describe("matchConflict", () => {
  it.each<[string, Match, Match, string | undefined]>([
    ["prefix within prefix", { uri: { prefix: "/a" } }, { uri: { prefix: "/a/b" } }, undefined],
    ["the same prefix", { uri: { prefix: "/a" } }, { uri: { prefix: "/a" } }, undefined],
    ["exact within prefix", { uri: { prefix: "/a" } }, { uri: { exact: "/a/x" } }, undefined],
    ["the same exact", { uri: { exact: "/a" } }, { uri: { exact: "/a" } }, undefined],
    ["no uri in the delegate", { uri: { prefix: "/a" } }, { method: { exact: "GET" } }, undefined],
    ["no uri in the root", { method: { exact: "GET" } }, { uri: { regex: "/a.*" } }, undefined],
    ["a shorter prefix", { uri: { prefix: "/a/b" } }, { uri: { prefix: "/a" } }, 'uri: the delegate\'s prefix "/a" is not within the root\'s prefix "/a/b"'],
    ["a prefix under an exact", { uri: { exact: "/a" } }, { uri: { prefix: "/a" } }, 'uri: the delegate\'s prefix "/a" is not the root\'s exact "/a"'],
    ["another exact", { uri: { exact: "/a" } }, { uri: { exact: "/b" } }, 'uri: the delegate\'s exact "/b" is not the root\'s exact "/a"'],
    ["an exact outside the prefix", { uri: { prefix: "/a" } }, { uri: { exact: "/b" } }, 'uri: the delegate\'s exact "/b" is not within the root\'s prefix "/a"'],
    ["regex under a prefix", { uri: { prefix: "/a" } }, { uri: { regex: "/a/.*" } }, 'uri: a regex match cannot be combined with another (root prefix "/a", delegate regex "/a/.*")'],
    ["regex under the same regex", { uri: { regex: "/a.*" } }, { uri: { regex: "/a.*" } }, 'uri: a regex match cannot be combined with another (root regex "/a.*", delegate regex "/a.*")'],
    ["an empty root prefix", { uri: { prefix: "" } }, { uri: { prefix: "/a" } }, 'uri: the delegate\'s prefix "/a" cannot be narrowed from the root\'s {} (any value)'],
    ["method", { method: { exact: "GET" } }, { method: { exact: "POST" } }, 'method: the delegate\'s exact "POST" is not the root\'s exact "GET"'],
    ["authority within", { authority: { prefix: "shop." } }, { authority: { exact: "shop.example.com" } }, undefined],
    ["a header both set the same", { headers: { x: { exact: "1" } } }, { headers: { x: { exact: "1" } } }, undefined],
    ["a header only the root sets", { headers: { x: { exact: "1" } } }, { headers: { y: { exact: "2" } } }, undefined],
    ["a header set differently", { headers: { x: { exact: "1" } } }, { headers: { x: { exact: "2" } } }, 'header "x": the delegate\'s exact "2" is not the root\'s exact "1"'],
    ["presence under a value", { headers: { x: { exact: "1" } } }, { headers: { x: {} } }, 'header "x": the delegate\'s {} (any value) is not the root\'s exact "1"'],
    ["a value under presence", { headers: { x: {} } }, { headers: { x: { exact: "1" } } }, 'header "x": the delegate\'s exact "1" cannot be narrowed from the root\'s {} (any value)'],
    ["withoutHeaders", { withoutHeaders: { x: { prefix: "a" } } }, { withoutHeaders: { x: { prefix: "b" } } }, 'withoutHeaders "x": the delegate\'s prefix "b" is not within the root\'s prefix "a"'],
    ["query parameter", { queryParams: { q: { exact: "1" } } }, { queryParams: { q: { exact: "2" } } }, 'query parameter "q": the delegate\'s exact "2" is not the root\'s exact "1"'],
    ["ignoreUriCase set on one side", { ignoreUriCase: true }, {}, "ignoreUriCase is false but the root's is true (they must be equal)"],
    ["ports", { port: 80 }, { port: 8080 }, "port 8080 is not the root's port 80"],
    ["one port", { port: 80 }, {}, undefined],
    ["sourceNamespace unset under a set one", { sourceNamespace: "a" }, {}, 'sourceNamespace is unset but the root\'s is "a" (Istio requires the same)'],
    ["sourceNamespace set under none", {}, { sourceNamespace: "a" }, undefined],
    ["sourceLabels", { sourceLabels: { app: "a" } }, { sourceLabels: { app: "b" } }, "sourceLabels app=b contradicts the root's app=a"],
    ["sourceLabels added", { sourceLabels: { app: "a" } }, { sourceLabels: { version: "v1" } }, undefined],
    ["gateways within", { gateways: ["ns/a", "ns/b"] }, { gateways: ["ns/b"] }, undefined],
    ["gateways outside", { gateways: ["ns/a"] }, { gateways: ["ns/b"] }, "gateways [ns/b] are not among the root's [ns/a]"],
  ])("%s", (_name, root, leaf, expected) => {
    expect(matchConflict(root, leaf)).toBe(expected);
  });
});

describe("mergeDelegateRoute", () => {
  const root: HttpRoute = {
    name: "reviews",
    match: [{ name: "r", uri: { prefix: "/reviews" }, headers: { x: { exact: "1" } } }],
    timeout: 5000,
    retries: { attempts: 1 },
    rewrite: { uri: "/" },
    headers: { request: { set: { a: "root" } } },
    corsPolicy: { allowOrigins: [{ exact: "https://a" }] },
    fault: { abort: { httpStatus: 500, percentage: { value: 1 } } },
    mirror: { host: "shadow" },
    mirrorPercentage: { value: 5 },
    delegate: { name: "d" },
  };

  it("takes the root's filters the delegate route leaves unset, and joins names", () => {
    const merged = mergeDelegateRoute({ route: root, namespace: "shop" }, { route: { name: "v2", route: [{ destination: { host: "reviews" } }] }, namespace: "team" });
    expect(merged).toEqual({
      ok: true,
      route: {
        name: "reviews-v2",
        match: [{ name: "r", uri: { prefix: "/reviews" }, headers: { x: { exact: "1" } } }],
        route: [{ destination: { host: "reviews" } }],
        timeout: 5000,
        retries: { attempts: 1 },
        rewrite: { uri: "/" },
        headers: { request: { set: { a: "root" } } },
        corsPolicy: { allowOrigins: [{ exact: "https://a" }] },
        fault: { abort: { httpStatus: 500, percentage: { value: 1 } } },
        mirror: { host: "shadow" },
        mirrorPercentage: { value: 5 },
      },
    });
    // The root's `delegate` never reaches the merged route.
    expect(merged.ok && "delegate" in merged.route).toBe(false);
  });

  it("keeps what the delegate route sets, field by field (a delegate mirror keeps the root's percentage, as in Istio)", () => {
    const delegate: HttpRoute = {
      match: [{ name: "m", uri: { prefix: "/reviews/v2" }, headers: { y: { exact: "2" } } }],
      timeout: 1000,
      headers: { response: { remove: ["b"] } },
      mirror: { host: "other-shadow" },
      redirect: { uri: "/elsewhere" },
    };
    const merged = mergeDelegateRoute({ route: root, namespace: "shop" }, { route: delegate, namespace: "team" });
    if (!merged.ok) throw new Error(merged.reason);
    expect(merged.route).toMatchObject({
      name: "reviews",
      match: [{ name: "r-m", uri: { prefix: "/reviews/v2" }, headers: { x: { exact: "1" }, y: { exact: "2" } } }],
      timeout: 1000,
      headers: { response: { remove: ["b"] } },
      mirror: { host: "other-shadow" },
      mirrorPercentage: { value: 5 },
      redirect: { uri: "/elsewhere" },
      retries: { attempts: 1 },
    });
  });

  it("merges each delegate match with every root match it fits, delegate match first", () => {
    const merged = mergeDelegateRoute(
      { route: { match: [{ uri: { prefix: "/a" } }, { uri: { prefix: "/a/b" } }, { uri: { exact: "/c" } }] }, namespace: "shop" },
      { route: { match: [{ uri: { prefix: "/a/b/c" } }, { uri: { exact: "/a/x" } }] }, namespace: "team" },
    );
    expect(merged.ok && merged.route.match?.map((m) => m.uri)).toEqual([{ prefix: "/a/b/c" }, { prefix: "/a/b/c" }, { exact: "/a/x" }]);
  });

  it("refuses a route one of whose matches fits no root match, naming the reasons", () => {
    const merged = mergeDelegateRoute(
      { route: { match: [{ uri: { prefix: "/a" } }, { uri: { exact: "/c" } }] }, namespace: "shop" },
      { route: { match: [{ uri: { prefix: "/a/1" } }, { uri: { prefix: "/b" } }] }, namespace: "team" },
    );
    expect(merged).toEqual({
      ok: false,
      reason:
        'its match[1] fits none of the root route\'s matches (root match[0]: uri: the delegate\'s prefix "/b" is not within the root\'s prefix "/a"; root match[1]: uri: the delegate\'s prefix "/b" is not the root\'s exact "/c")',
    });
  });

  it("resolves gateway names where each side is written before comparing them", () => {
    const merged = mergeDelegateRoute(
      { route: { match: [{ gateways: ["gw", "mesh"] }] }, namespace: "shop" },
      { route: { match: [{ gateways: ["shop/gw"] }, {}] }, namespace: "team" },
    );
    expect(merged.ok && merged.route.match?.map((m) => m.gateways)).toEqual([["shop/gw"], ["shop/gw", "mesh"]]);
    const refused = mergeDelegateRoute({ route: { match: [{ gateways: ["gw"] }] }, namespace: "shop" }, { route: { match: [{ gateways: ["gw"] }] }, namespace: "team" });
    expect(refused.ok).toBe(false);
  });

  it("gives a delegate route without matches the root's, and a root without matches the delegate's", () => {
    const rootMatch: Match = { uri: { prefix: "/a" } };
    expect(mergeDelegateRoute({ route: { match: [rootMatch] }, namespace: "n" }, { route: {}, namespace: "n" })).toEqual({ ok: true, route: { match: [rootMatch] } });
    expect(mergeDelegateRoute({ route: {}, namespace: "n" }, { route: { match: [rootMatch] }, namespace: "n" })).toEqual({ ok: true, route: { match: [rootMatch] } });
    expect(mergeDelegateRoute({ route: {}, namespace: "n" }, { route: {}, namespace: "n" })).toEqual({ ok: true, route: {} });
  });
});

// ---- the property: delegation against a reference that reasons about sets of paths ----

const alphabet = ["/", "a", "b"];
/** Every path of up to 5 characters over the alphabet that starts with "/": longer than any pattern, so inclusion over it is inclusion. */
const universe: readonly string[] = (() => {
  const out = ["/"];
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as string;
    if (p.length < 5) for (const c of alphabet) out.push(p + c);
  }
  return out;
})();
const pattern = fc.array(fc.constantFrom(...alphabet), { minLength: 0, maxLength: 3 }).map((s) => `/${s.join("")}`);
const uriArb: fc.Arbitrary<StringMatch | undefined> = fc.oneof(
  pattern.map((exact) => ({ exact })),
  pattern.map((prefix) => ({ prefix })),
  fc.constant(undefined),
);
const matchesArb = fc.option(fc.array(uriArb, { minLength: 1, maxLength: 2 }), { nil: undefined });

const accepts = (m: StringMatch | undefined, path: string): boolean =>
  m === undefined || (m.exact !== undefined ? path === m.exact : path.startsWith(m.prefix as string));
/** The reference's notion of "fits": every path the delegate's match accepts, the root's accepts; a delegate match without uri takes the root's. */
const within = (root: StringMatch | undefined, leaf: StringMatch | undefined): boolean => leaf === undefined || universe.every((p) => !accepts(leaf, p) || accepts(root, p));

describe("delegation", () => {
  it("routes like the reference: a delegate route serves a request when one of its matches fits a root match and both accept it", () => {
    fc.assert(
      fc.property(matchesArb, fc.array(matchesArb, { minLength: 1, maxLength: 3 }), (rootUris, delegateRoutes) => {
        const toMatches = (uris: readonly (StringMatch | undefined)[] | undefined): Match[] | undefined => uris?.map((uri) => (uri ? { uri } : {}));
        const rootVs: Vs = {
          apiVersion: "networking.istio.io/v1",
          kind: "VirtualService",
          metadata: { name: "root", namespace: "shop" },
          spec: { hosts: ["shop"], http: [{ match: toMatches(rootUris), delegate: { name: "d", namespace: "team" } }] },
        };
        const delegateVs: Vs = {
          apiVersion: "networking.istio.io/v1",
          kind: "VirtualService",
          metadata: { name: "d", namespace: "team" },
          spec: { http: delegateRoutes.map((uris) => ({ match: toMatches(uris), route: [{ destination: { host: "svc" } }] })) },
        };
        const table = compileRouteTable([rootVs, delegateVs], [], { namespace: "shop", domainSuffix: "cluster.local" });
        // The reference: a delegate route is used when each of its matches fits some root match;
        // it then accepts a path when some (fitting root match, its match) pair both accept it.
        const roots = rootUris ?? [undefined];
        const expectedRoute = (path: string): number =>
          delegateRoutes.findIndex((uris) => {
            const leaves = uris ?? [undefined];
            if (!leaves.every((l) => roots.some((r) => within(r, l)))) return false;
            return leaves.some((l) => roots.some((r) => within(r, l) && accepts(r, path) && accepts(l, path)));
          });
        for (const path of universe) {
          const decision = findRoute(table, { method: "GET", authority: "shop", path, query: "", scheme: "http", port: 80, headers: {}, sourceLabels: {}, sourceNamespace: undefined, gateway: "mesh" });
          const actual = decision.type === "route" ? (decision.delegate?.routeIndex ?? -2) : -1;
          if (actual !== expectedRoute(path)) throw new Error(`path ${path}: routed by delegate http[${actual}], reference http[${expectedRoute(path)}]; issues: ${table.issues.join(" | ")}`);
        }
      }),
      { seed: 20260611, numRuns: 500 },
    );
  });
});
