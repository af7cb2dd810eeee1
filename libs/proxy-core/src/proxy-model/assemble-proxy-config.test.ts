import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadResources } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { buildProxyConfig } from "../build-proxy-config.ts";
import { findRoute } from "../find-route.ts";
import { assembleProxyConfig } from "./assemble-proxy-config.ts";
import { computeProxyConfig, type ConfigSnapshot } from "./compute-proxy-config.ts";
import { decodeResourceBody, encodeResourceBody } from "./encode-resources.ts";
import { pushOrder, type NamedResource, type ProxyNode, type ProxyResources, type ResourceType } from "./proxy-resources.ts";

const mesh = { domainSuffix: "cluster.local", rootNamespace: "istio-system", trustDomain: "cluster.local" };

/** Every `config` block of a proxy-config testdata file, as one YAML text. */
function testdataConfig(file: string): string {
  const text = readFileSync(join(import.meta.dirname, "../../testdata/proxy-config", file), "utf8");
  const blocks = text.split(/^config.*$/m).slice(1);
  return blocks.map((b) => b.split(/^----$/m)[0] ?? "").join("\n---\n");
}

/** The resources after a trip through the wire form (JSON), as a proxy receives them. */
function overTheWire(resources: ProxyResources): ProxyResources {
  const out: Partial<Record<ResourceType, NamedResource[]>> = {};
  for (const type of pushOrder) {
    out[type] = resources[type].map((r) => {
      const decoded = decodeResourceBody(type, r.name, encodeResourceBody(r));
      if (!decoded.ok) throw new Error(decoded.error);
      return decoded.resource;
    });
  }
  return out as ProxyResources;
}

const proxy: ProxyNode = { id: "p1", workload: "", namespace: "default", serviceAccount: "default", labels: {}, version: "test", kind: "sidecar" };

describe("assembleProxyConfig", () => {
  for (const file of ["bookinfo.txt", "resolution.txt", "rule-scope.txt", "traffic-policy-merge.txt"]) {
    it(`rebuilds what buildProxyConfig builds from the same resources (${file}), after JSON`, () => {
      const yaml = testdataConfig(file);
      const { resources } = loadResources([{ path: file, text: yaml }]);
      const snapshot: ConfigSnapshot = { revision: "r1", resources, mesh, trustBundles: [] };
      const computed = computeProxyConfig(snapshot, { instances: [] }, proxy);
      const assembled = assembleProxyConfig(overTheWire(computed.resources), { namespace: "default", domainSuffix: "cluster.local", version: "r1" });
      const direct = buildProxyConfig(resources, { namespace: "default", domainSuffix: "cluster.local", proxyLabels: {}, version: "r1", rootNamespace: "istio-system", trustDomain: "cluster.local" }).config;
      const strip = <T extends { source?: unknown }>(r: T) => {
        const { source: _s, ...rest } = r;
        return rest;
      };
      expect([...assembled.config.clusters.keys()]).toEqual([...direct.clusters.keys()]);
      expect(assembled.config.clusters).toEqual(direct.clusters);
      expect(assembled.config.services).toEqual(direct.services);
      expect(assembled.config.inbound).toEqual(direct.inbound);
      expect(assembled.config.routeTable).toEqual(direct.routeTable);
      expect(assembled.config.tcpRoutes).toEqual(direct.tcpRoutes);
      expect(assembled.config.peerAuthentications).toEqual((direct.peerAuthentications ?? []).map(strip));
      expect(assembled.config.autoMtls ?? new Map()).toEqual(direct.autoMtls ?? new Map());
      expect(assembled.config.serviceIdentities ?? new Map()).toEqual(direct.serviceIdentities ?? new Map());
    });
  }

  it("routes requests on the assembled config by the pushed VirtualService (jason to v2, others to v3)", () => {
    const { resources } = loadResources([{ path: "bookinfo.yaml", text: testdataConfig("bookinfo.txt") }]);
    const computed = computeProxyConfig({ revision: "r1", resources, mesh, trustBundles: [] }, { instances: [] }, proxy);
    const config = assembleProxyConfig(overTheWire(computed.resources), { namespace: "default", domainSuffix: "cluster.local", version: "r1" }).config;
    const clusterFor = (headers: Record<string, string>): string | undefined => {
      const decision = findRoute(config.routeTable, {
        method: "GET",
        authority: "reviews:9080",
        path: "/",
        query: "",
        scheme: "http",
        port: 9080,
        headers,
        sourceLabels: {},
        sourceNamespace: undefined,
        gateway: "mesh",
      });
      return decision.type === "route" && decision.action.type === "forward" ? decision.action.destinations[0]?.subset : undefined;
    };
    expect(clusterFor({ "end-user": "jason" })).toBe("v2");
    expect(clusterFor({})).toBe("v3");
  });

  it("carries service addresses through the push, and auto-allocates on the proxy as buildProxyConfig does", () => {
    const text = readFileSync(join(import.meta.dirname, "../../testdata/proxy-config/service-addresses.txt"), "utf8");
    const yaml = (text.split(/^config.*$/m)[1] ?? "").split(/^----$/m)[0] ?? "";
    const { resources } = loadResources([{ path: "service-addresses.yaml", text: yaml }]);
    const computed = computeProxyConfig({ revision: "r1", resources, mesh, trustBundles: [] }, { instances: [] }, proxy);
    const options = { namespace: "default", domainSuffix: "cluster.local", proxyLabels: {}, version: "r1", rootNamespace: "istio-system", trustDomain: "cluster.local" };
    for (const autoAllocateAddresses of [false, true]) {
      const assembled = assembleProxyConfig(overTheWire(computed.resources), { namespace: "default", domainSuffix: "cluster.local", version: "r1", autoAllocateAddresses }).config;
      const direct = buildProxyConfig(resources, { ...options, autoAllocateAddresses }).config;
      expect(assembled.services).toEqual(direct.services);
      expect(assembled.tcpRoutes).toEqual(direct.tcpRoutes);
      expect(assembled.services.find((s) => s.host === "payments.example.com")?.addresses).toEqual(["192.0.2.10", "2001:db8::10"]);
      expect(assembled.services.find((s) => s.host === "db.example.com")?.autoAllocated).toBe(autoAllocateAddresses ? true : undefined);
    }
  });

  it("pushes a registry service's cluster IPs (catalog meta cluster-ip) as its addresses, which route TCP to it", () => {
    const instance = { node: "n1", nodeAddress: "10.0.0.100", serviceId: "reviews-1", serviceName: "reviews", address: "10.1.0.5", port: 9080, tags: [], meta: { app: "reviews", "cluster-ip": "10.96.0.20" }, health: "passing" };
    const computed = computeProxyConfig({ revision: "r1", resources: [], mesh, trustBundles: [] }, { instances: [instance] }, proxy);
    const config = assembleProxyConfig(overTheWire(computed.resources), { namespace: "default", domainSuffix: "cluster.local", version: "r1" }).config;
    expect(config.services.map((s) => [s.host, s.addresses])).toEqual([["reviews.default.svc.cluster.local", ["10.96.0.20"]]]);
    expect(config.tcpRoutes.addresses?.get("10.96.0.20")?.name).toBe("reviews.default.svc.cluster.local");
  });

  it("reports a cluster that has no Endpoints resource and gives it no endpoints", () => {
    const { resources } = loadResources([{ path: "bookinfo.yaml", text: testdataConfig("bookinfo.txt") }]);
    const computed = computeProxyConfig({ revision: "r1", resources, mesh, trustBundles: [] }, { instances: [] }, proxy);
    const first = computed.resources.cluster[0];
    if (!first) throw new Error("bookinfo has clusters");
    const assembled = assembleProxyConfig({ ...computed.resources, endpoints: computed.resources.endpoints.slice(1) }, { namespace: "default", domainSuffix: "cluster.local", version: "r1" });
    expect(assembled.issues).toContain(`cluster "${first.name}" has no Endpoints resource; it has no endpoints`);
    expect(assembled.config.clusters.get(first.name)?.endpoints).toEqual([]);
  });
});

describe("decodeResourceBody", () => {
  it("names the resource when the body is not a JSON object", () => {
    expect(decodeResourceBody("cluster", "outbound|80||a", "[1]")).toEqual({ ok: false, error: 'cluster "outbound|80||a": body is not a JSON object' });
    expect(decodeResourceBody("cluster", "outbound|80||a", "{").ok).toBe(false);
  });
});
