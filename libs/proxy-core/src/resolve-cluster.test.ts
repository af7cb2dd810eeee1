import { loadResources, formatIssue } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { buildProxyConfig } from "./build-proxy-config.ts";
import { findRoute, type RouteRequest } from "./find-route.ts";
import { clusterNameFor, createClusterResolver } from "./resolve-cluster.ts";
import type { RouteDestination } from "./route-table.ts";

const yaml = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: multi, namespace: default }
spec:
  hosts: [multi.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 80, name: http }, { number: 8080, name: http-alt }]
  endpoints: [{ address: 10.0.0.1, labels: { v: "1" } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: multi, namespace: default }
spec:
  hosts: [multi]
  http:
  - match: [{ uri: { prefix: /fixed } }]
    route: [{ destination: { host: multi, port: { number: 8080 } } }]
  - match: [{ uri: { prefix: /ghost } }]
    route: [{ destination: { host: ghost } }]
  - route: [{ destination: { host: multi, subset: one } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: multi, namespace: default }
spec:
  host: multi
  subsets: [{ name: one, labels: { v: "1" } }]
`;

function build() {
  const loaded = loadResources([{ path: "t.yaml", text: yaml }]);
  const errors = loaded.issues.filter((i) => i.severity === "error");
  if (errors.length > 0) throw new Error(errors.map(formatIssue).join("\n"));
  return buildProxyConfig(loaded.resources, { namespace: "default", domainSuffix: "cluster.local", proxyLabels: {}, version: "1" });
}

const request = (path: string, port: number): RouteRequest => ({
  method: "GET",
  authority: "multi",
  path,
  query: "",
  scheme: "http",
  port,
  headers: {},
  sourceLabels: {},
  sourceNamespace: undefined,
  gateway: "mesh",
});

function firstDestination(config: ReturnType<typeof build>["config"], path: string, port: number): RouteDestination {
  const decision = findRoute(config.routeTable, request(path, port));
  if (decision.type !== "route" || decision.action.type !== "forward") throw new Error(`no forward route for ${path}`);
  return decision.action.destinations[0] as RouteDestination;
}

describe("clusterNameFor", () => {
  it("uses the destination port, else the host's only port, else the listener port", () => {
    expect(clusterNameFor({ host: "h", subset: "a", port: 1 }, 9, [1, 2])).toBe("outbound|1|a|h");
    expect(clusterNameFor({ host: "h", subset: undefined, port: undefined }, 9, [5])).toBe("outbound|5||h");
    expect(clusterNameFor({ host: "h", subset: undefined, port: undefined }, 9, [5, 6])).toBe("outbound|9||h");
    expect(clusterNameFor({ host: "h", subset: undefined, port: undefined }, 9, undefined)).toBe("outbound|9||h");
  });
});

describe("createClusterResolver", () => {
  it("resolves a port-less destination of a multi-port service by the listener port", () => {
    const { config } = build();
    const resolver = createClusterResolver(config);
    const d = firstDestination(config, "/", 80);
    expect(d.cluster).toBe("outbound||one|multi.default.svc.cluster.local");
    expect(resolver.clusterFor(d, 80)?.name).toBe("outbound|80|one|multi.default.svc.cluster.local");
    expect(resolver.clusterFor(d, 8080)?.name).toBe("outbound|8080|one|multi.default.svc.cluster.local");
    expect(resolver.clusterFor(d, 9999)).toBeUndefined();
  });

  it("returns the very ClusterSpec objects of the config, the same for every call", () => {
    const { config } = build();
    const resolver = createClusterResolver(config);
    const d = firstDestination(config, "/fixed", 80);
    const a = resolver.clusterFor(d, 80);
    expect(a).toBe(config.clusters.get("outbound|8080||multi.default.svc.cluster.local"));
    expect(resolver.clusterFor(d, 1234)).toBe(a);
  });

  it("answers destinations outside the table by name, and reports table destinations without a cluster", () => {
    const { config, issues } = build();
    const resolver = createClusterResolver(config);
    expect(resolver.clusterFor({ host: "multi.default.svc.cluster.local", subset: undefined, port: 80 }, 1)?.name).toBe("outbound|80||multi.default.svc.cluster.local");
    expect(resolver.clusterFor(firstDestination(config, "/ghost", 80), 80)).toBeUndefined();
    expect(resolver.issues).toEqual([
      'route "default/multi[1]": no cluster for "outbound|||ghost.default.svc.cluster.local" (host "ghost.default.svc.cluster.local" is not defined by any ServiceEntry)',
    ]);
    expect(issues).toContain(resolver.issues[0]);
  });
});

describe("createClusterResolver({ lazy: true })", () => {
  it("answers every destination as the eager resolver does, on every port, the same objects", () => {
    const { config } = build();
    const eager = createClusterResolver(config);
    const lazy = createClusterResolver(config, { lazy: true });
    const destinations: RouteDestination[] = [firstDestination(config, "/", 80), firstDestination(config, "/fixed", 80), firstDestination(config, "/ghost", 80)];
    const outside = [
      { host: "multi.default.svc.cluster.local", subset: undefined, port: 80 },
      { host: "multi.default.svc.cluster.local", subset: "one", port: undefined },
      { host: "nowhere", subset: undefined, port: undefined },
    ];
    for (const d of [...destinations, ...outside]) {
      for (const port of [80, 8080, 9999]) {
        const expected = eager.clusterFor(d, port);
        expect(lazy.clusterFor(d, port)).toBe(expected);
        expect(lazy.clusterFor(d, port)).toBe(expected);
      }
    }
    expect(lazy.issues).toEqual([]);
  });
});
