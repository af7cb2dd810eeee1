import { loadResources } from "@meshwork/config";
import { computeProxyConfig, pushOrder, type NamedResource, type ProxyNode } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { HeldResources } from "./managed-config.ts";

const yaml = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 10.0.0.1, labels: { version: v1 } }, { address: 10.0.0.2, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: v2 } }] }]
`;
const node: ProxyNode = { id: "p", workload: "", namespace: "default", serviceAccount: "default", labels: { app: "productpage" }, version: "t", kind: "sidecar" };
// What the control plane computes, through JSON as on the wire.
const pushed = JSON.parse(
  JSON.stringify(
    computeProxyConfig({ revision: "1", resources: loadResources([{ path: "mesh.yaml", text: yaml }]).resources, mesh: { domainSuffix: "cluster.local", rootNamespace: "istio-system", trustDomain: "cluster.local" }, trustBundles: [] }, { instances: [] }, node).resources,
  ),
) as Record<string, NamedResource[]>;

describe("HeldResources", () => {
  it("assembles a config only once every type has arrived, versioned by the types' versions", () => {
    const held = new HeldResources({ namespace: "default", domainSuffix: "cluster.local" });
    const results = pushOrder.map((type, i) => held.offer(type, pushed[type] ?? [], `v${i}`));
    expect(results.slice(0, -1).map((r) => r.ok && r.assembled === undefined)).toEqual([true, true, true, true]);
    const last = results.at(-1);
    if (!last?.ok || !last.assembled) throw new Error("the complete set did not assemble");
    expect(last.assembled.config.version).toBe("v0/v1/v2/v3/v4");
    expect([...last.assembled.config.clusters.keys()]).toContain("outbound|9080|v2|reviews.default.svc.cluster.local");
    expect(last.assembled.config.clusters.get("outbound|9080|v2|reviews.default.svc.cluster.local")?.endpoints.map((e) => e.address)).toEqual(["10.0.0.2:9080"]);
  });

  it("auto-allocates addresses for pushed services without any when asked (--dns-auto-allocate), not otherwise", () => {
    const assembled = (autoAllocateAddresses: boolean) => {
      const held = new HeldResources({ namespace: "default", domainSuffix: "cluster.local", autoAllocateAddresses });
      const results = pushOrder.map((type) => held.offer(type, pushed[type] ?? [], "1"));
      const last = results.at(-1);
      if (!last?.ok || !last.assembled) throw new Error("the complete set did not assemble");
      return last.assembled.config;
    };
    const reviews = assembled(true).services.find((s) => s.host === "reviews.default.svc.cluster.local");
    expect(reviews?.autoAllocated).toBe(true);
    expect(reviews?.addresses?.[0]).toMatch(/^240\.240\.\d+\.\d+$/);
    expect(assembled(true).tcpRoutes.addresses?.get(reviews?.addresses?.[0] ?? "")?.name).toBe("reviews.default.svc.cluster.local");
    expect(assembled(false).services.find((s) => s.host === "reviews.default.svc.cluster.local")?.addresses).toBeUndefined();
  });

  it("refuses a set that does not assemble with the held others and keeps the held one", () => {
    const held = new HeldResources({ namespace: "default", domainSuffix: "cluster.local" });
    for (const type of pushOrder) held.offer(type, pushed[type] ?? [], "1");
    const broken = [{ name: "mesh", body: { gateway: "mesh", virtualServices: [{ kind: "VirtualService" }], destinationRules: [] } }] as unknown as NamedResource[];
    const refused = held.offer("routeTable", broken, "2");
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error).toMatch(/^routeTable version 2 does not assemble with the held config: /);
    // The held route table is still the good one: offering a type again assembles with it.
    const again = held.offer("trustBundle", [], "3");
    expect(again.ok && again.assembled?.config.version).toBe("1/1/1/1/3");
  });

  it("drops the endpoints of clusters a new cluster set no longer has", () => {
    const held = new HeldResources({ namespace: "default", domainSuffix: "cluster.local" });
    for (const type of pushOrder) held.offer(type, pushed[type] ?? [], "1");
    const kept = (pushed["cluster"] ?? []).filter((c) => !c.name.includes("|v1|"));
    const result = held.offer("cluster", kept, "2");
    if (!result.ok || !result.assembled) throw new Error("the smaller cluster set did not assemble");
    expect([...result.assembled.config.clusters.keys()].some((name) => name.includes("|v1|"))).toBe(false);
    expect(held.get("endpoints")?.map((e) => e.name)).toEqual(kept.map((c) => c.name));
  });
});
