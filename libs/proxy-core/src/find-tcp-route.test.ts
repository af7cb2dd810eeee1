// findTcpRoute against a reference written from Istio's matchTCP (pilot
// networking/core/listener.go: gateway, sourceLabels ⊆ proxy labels, port, sourceNamespace) and
// the TcpLoop of buildSidecarOutboundTCPFilterChainOpts (first route with a holding match wins,
// no match list = catch-all, nothing = the service's default cluster); and pickTcpDestination's
// split against the weights.
import type { MeshResource } from "@meshwork/config";
import { createSeededRandom } from "@meshwork/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectDistribution } from "../tests/chi-square.ts";
import { compileTcpRouteTable } from "./compile-tcp-route-table.ts";
import { findTcpRoute, pickTcpDestination, tcpClusterName, type TcpRouteRequest } from "./find-tcp-route.ts";

type Vs = MeshResource<"VirtualService">;
type TcpRoute = NonNullable<Vs["spec"]["tcp"]>[number];
type L4Match = NonNullable<TcpRoute["match"]>[number];

function refMatch(m: L4Match, req: TcpRouteRequest): boolean {
  const gatewayOk = m.gateways === undefined || m.gateways.includes("mesh");
  const labelsOk = Object.entries(m.sourceLabels ?? {}).every(([k, v]) => req.sourceLabels[k] === v);
  const portOk = m.port === undefined || m.port === req.port;
  const nsOk = m.sourceNamespace === undefined || m.sourceNamespace === req.sourceNamespace;
  return gatewayOk && labelsOk && portOk && nsOk;
}

/** Index of the tcp route that takes the connection, or -1 for the default cluster. */
function refFind(vs: Vs, req: TcpRouteRequest): number {
  const routes = vs.spec.tcp ?? [];
  for (let i = 0; i < routes.length; i++) {
    const matches = (routes[i] as TcpRoute).match ?? [];
    if (matches.length === 0 || matches.some((m) => refMatch(m, req))) return i;
  }
  return -1;
}

const matchArb: fc.Arbitrary<L4Match> = fc.record(
  {
    port: fc.constantFrom(5432, 6432),
    sourceLabels: fc.dictionary(fc.constantFrom("app", "version"), fc.constantFrom("p", "q"), { maxKeys: 2 }),
    sourceNamespace: fc.constantFrom("default", "ops"),
    gateways: fc.array(fc.constantFrom("mesh", "default/gw"), { minLength: 1, maxLength: 2 }),
  },
  { requiredKeys: [] },
);
const routeArb: fc.Arbitrary<TcpRoute> = fc
  .option(fc.array(matchArb, { minLength: 1, maxLength: 3 }), { nil: undefined })
  .map((match) => ({ ...(match ? { match } : {}), route: [{ destination: { host: "db" } }] }));
const vsArb: fc.Arbitrary<Vs> = fc.array(routeArb, { minLength: 1, maxLength: 5 }).map((tcp) => ({
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  metadata: { name: "db", namespace: "default" },
  spec: { hosts: ["db"], tcp },
}));
const requestArb: fc.Arbitrary<TcpRouteRequest> = fc.record({
  host: fc.constantFrom("db", "db.default", "db.default.svc.cluster.local"),
  port: fc.constantFrom(5432, 6432),
  sourceLabels: fc.dictionary(fc.constantFrom("app", "version"), fc.constantFrom("p", "q"), { maxKeys: 2 }),
  sourceNamespace: fc.constantFrom(undefined, "default", "ops"),
});

describe("findTcpRoute", () => {
  it("chooses the same route as the reference built from Istio's matchTCP", () => {
    fc.assert(
      fc.property(vsArb, fc.array(requestArb, { minLength: 1, maxLength: 10 }), (vs, requests) => {
        const table = compileTcpRouteTable([vs], [], { namespace: "default", domainSuffix: "cluster.local" });
        for (const req of requests) {
          const decision = findTcpRoute(table, req);
          const actual = decision.type === "route" ? decision.route.routeIndex : -1;
          const expected = refFind(vs, req);
          if (actual !== expected) throw new Error(`${JSON.stringify(req)}: findTcpRoute chose tcp[${actual}], reference tcp[${expected}]`);
          if (decision.type === "default") expect(decision.cluster).toBe(`outbound|${req.port}||db.default.svc.cluster.local`);
          expect(decision.type).not.toBe("no-host");
        }
      }),
      { seed: 20261122, numRuns: 300 },
    );
  });
});

describe("pickTcpDestination", () => {
  it("splits connections by weight / sum (chi-square, 50k seeded draws)", () => {
    const vs: Vs = {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "db", namespace: "default" },
      spec: {
        hosts: ["db"],
        tcp: [{ route: [60, 30, 10, 0].map((weight, i) => ({ destination: { host: "db", subset: `s${i}` }, weight })) }],
      },
    };
    const table = compileTcpRouteTable([vs], [], { namespace: "default", domainSuffix: "cluster.local" });
    const decision = findTcpRoute(table, { host: "db", port: 5432, sourceLabels: {}, sourceNamespace: undefined });
    if (decision.type !== "route") throw new Error(`expected a route, got ${decision.type}`);
    const random = createSeededRandom(11);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 50_000; i++) {
      const cluster = tcpClusterName(pickTcpDestination(decision.route, random.next()), 5432);
      const index = Number(/\|s(\d)\|/.exec(cluster)?.[1]);
      counts[index] = (counts[index] ?? 0) + 1;
    }
    expect(counts[3]).toBe(0);
    expectDistribution(counts, [60, 30, 10, 0]);
  });
});
