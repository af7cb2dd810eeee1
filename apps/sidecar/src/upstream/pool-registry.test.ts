import type { ClusterSpec } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { applicationClusterSpec, singleEndpointClusterSpec } from "../proxy/single-endpoint-cluster.ts";
import { PoolRegistry } from "./pool-registry.ts";

const cluster = (name: string, hosts: readonly string[], connectTimeoutMs = 10_000): ClusterSpec => {
  const one = singleEndpointClusterSpec({ name, host: "svc", addressHost: "svc", port: 80, portName: "http", protocol: "http", discovery: "static", origin: "test" });
  const endpoint = one.endpoints[0] as ClusterSpec["endpoints"][number];
  return { ...one, connectTimeoutMs, endpoints: hosts.map((host) => ({ ...endpoint, host, address: `${host}:80` })) };
};

describe("PoolRegistry.retainClusters", () => {
  it("keeps the pools whose cluster still has the endpoint with the same settings, and closes the others", () => {
    const registry = new PoolRegistry();
    const a = cluster("outbound|80||a", ["10.0.0.1", "10.0.0.2"]);
    const b = cluster("outbound|80||b", ["10.0.1.1"]);
    const gone = cluster("outbound|80||gone", ["10.0.2.1"]);
    const inbound = applicationClusterSpec("127.0.0.1", 8080, "http", "http");
    const [a1, a2, b1, g1, in1] = [
      registry.pool(a, "10.0.0.1", 80),
      registry.pool(a, "10.0.0.2", 80),
      registry.pool(b, "10.0.1.1", 80),
      registry.pool(gone, "10.0.2.1", 80),
      registry.pool(inbound, "127.0.0.1", 8080),
    ];
    // a lost one endpoint, b's connect timeout changed (its pool is keyed by it), gone is gone, inbound comes as extra.
    const next = new Map<string, ClusterSpec>([
      [a.name, cluster(a.name, ["10.0.0.1"])],
      [b.name, cluster(b.name, ["10.0.1.1"], 1_000)],
    ]);
    registry.retainClusters(next, [inbound]);
    expect(registry.all()).toEqual(new Set([a1, in1]));
    for (const closed of [a2, b1, g1]) expect(registry.all().has(closed)).toBe(false);
    // The kept pool is the one a cluster with the same settings gets again.
    expect(registry.pool(next.get(a.name) as ClusterSpec, "10.0.0.1", 80)).toBe(a1);
    registry.retainClusters(new Map());
    expect(registry.all().size).toBe(0);
  });

  it("gives a cluster whose connection-pool limits changed a new pool, and closes the old one (its connections counted against the old limits)", () => {
    const registry = new PoolRegistry();
    const before = cluster("outbound|9080||productpage", ["10.0.3.1"]);
    const old = registry.pool(before, "10.0.3.1", 80);
    const limited: ClusterSpec = { ...before, connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 } } };
    const fresh = registry.pool(limited, "10.0.3.1", 80);
    expect(fresh).not.toBe(old);
    expect(registry.pool({ ...limited, connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 } } }, "10.0.3.1", 80)).toBe(fresh);
    registry.retainClusters(new Map([[limited.name, limited]]));
    expect(registry.all()).toEqual(new Set([fresh]));
  });
});
