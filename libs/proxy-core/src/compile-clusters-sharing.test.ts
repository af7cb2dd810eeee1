import { loadResources, formatIssue, type MeshResource } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { buildProxyConfig } from "./build-proxy-config.ts";
import type { ClusterSpec, ProxyConfig } from "./proxy-config.ts";
import type { CompiledRoute } from "./route-table.ts";

// The compiled model shares the parts many clusters and routes have equal (one object each per
// build, bench/proxy/README.md "Idle memory"); these tests pin the sharing and that the shared
// values are the ones each cluster had on its own.

const yaml = (count: number): string =>
  Array.from(
    { length: count },
    (_, i) => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: svc-${i}, namespace: team-${i % 2} }
spec:
  hosts: [svc-${i}.team-${i % 2}.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 8080, name: http }, { number: 9090, name: grpc }]
  endpoints:
  - { address: 10.0.${i}.1, locality: region-a/zone-1, labels: { app: svc-${i}, version: v1 } }
  - { address: 10.0.${i}.2, locality: region-a/zone-2, labels: { app: svc-${i}, version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc-${i}, namespace: team-${i % 2} }
spec:
  host: svc-${i}.team-${i % 2}.svc.cluster.local
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
    connectionPool: { tcp: { maxConnections: 100 }, http: { http1MaxPendingRequests: 64 } }
    outlierDetection: { consecutive5xxErrors: 5, interval: 10s }
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
`,
  ).join("---\n");

function build(text: string): ProxyConfig {
  const loaded = loadResources([{ path: "mesh.yaml", text }]);
  const errors = loaded.issues.filter((i) => i.severity === "error");
  if (errors.length > 0) throw new Error(errors.map(formatIssue).join("\n"));
  return buildProxyConfig(loaded.resources as MeshResource[], { namespace: "team-0", domainSuffix: "cluster.local", proxyLabels: {}, version: "v" }).config;
}

const cluster = (config: ProxyConfig, name: string): ClusterSpec => {
  const c = config.clusters.get(name);
  if (!c) throw new Error(`no cluster ${name}`);
  return c;
};

describe("compiled model sharing", () => {
  const config = build(yaml(3));
  const a = cluster(config, "outbound|8080||svc-0.team-0.svc.cluster.local");
  const aGrpc = cluster(config, "outbound|9090|v1|svc-0.team-0.svc.cluster.local");
  const b = cluster(config, "outbound|8080|v2|svc-1.team-1.svc.cluster.local");

  it("gives every endpoint of one locality the same Locality object, with the values parsed", () => {
    const zone1 = [...config.clusters.values()].flatMap((c) => c.endpoints).filter((e) => e.locality.zone === "zone-1");
    expect(zone1.length).toBeGreaterThan(3);
    for (const e of zone1) expect(e.locality).toBe(zone1[0]?.locality);
    expect(zone1[0]?.locality).toEqual({ region: "region-a", zone: "zone-1", subZone: "" });
  });

  it("shares the balancer, limits, outlier and locality settings compiled from one policy across ports and subsets", () => {
    expect(aGrpc.connectionPool).toBe(a.connectionPool);
    expect(aGrpc.outlier).toBe(a.outlier);
    expect(aGrpc.balancer).toBe(a.balancer);
    expect(aGrpc.locality).toBe(a.locality);
    expect(a.balancer).toEqual({ type: "round-robin" });
    expect(a.connectionPool).toEqual({ tcp: { maxConnections: 100 }, http: { http1MaxPendingRequests: 64, http2MaxRequests: undefined, maxRetries: undefined, maxRequestsPerConnection: undefined } });
    expect(a.outlier).toEqual({ consecutive5xx: 5, consecutiveGatewayErrors: 0, intervalMs: 10_000, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 10 });
    expect(a.locality).toEqual({ failover: [], distribute: [], failoverPriority: [] });
    // Another rule's equal policy is another source object: equal values, not necessarily shared.
    expect(b.connectionPool).toEqual(a.connectionPool);
  });

  it("names clusters, addresses and origins as before, and the service list and clusters use one name string", () => {
    expect(a.name).toBe(`outbound|${8080}||svc-0.team-0.svc.cluster.local`);
    expect(aGrpc.endpoints.map((e) => [e.address, e.origin])).toEqual([["10.0.0.1:9090", "ServiceEntry team-0/svc-0 endpoints[0]"]]);
    expect(config.services.find((s) => s.cluster === a.name)?.cluster).toBe(a.name);
  });

  it("shares one retry policy and the empty lists among the default routes, and one auto-mTLS list among equal clusters", () => {
    const mesh = config.routeTable.gateways.get("mesh");
    const routes = [...new Set(mesh?.exact.values())].flatMap((h) => h.routes) as CompiledRoute[];
    expect(routes.length).toBe(3);
    const hosts = [...new Set(mesh?.exact.values())];
    for (const h of hosts) expect(h.matches).toBe(hosts[0]?.matches);
    for (const r of routes) {
      expect(r.match).toBe(hosts[0]?.matches[0]);
      expect(r.retries).toBe(routes[0]?.retries);
      expect(r.mirrors).toBe(routes[0]?.mirrors);
      expect(r.match.headers).toBe(routes[0]?.match.headers);
    }
    expect(routes[0]?.retries).toMatchObject({ attempts: 2, retriableStatusCodes: [503] });
    expect(routes[0]?.mirrors).toEqual([]);
    const lists = [...(config.autoMtls?.values() ?? [])];
    expect(lists.length).toBe(config.clusters.size);
    const twoEndpoints = lists.filter((l) => l.length === 2);
    for (const l of twoEndpoints) expect(l).toBe(twoEndpoints[0]);
  });
});
