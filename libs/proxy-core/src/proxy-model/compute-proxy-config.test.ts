// Golden cases for the compiler live in apps/control-plane/testdata/compute; these check the
// properties the push server relies on.
import { loadResources } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import type { CatalogInstance } from "./catalog-resources.ts";
import { computeProxyConfig, createProxyCompiler, ProxyCompiler, type ConfigSnapshot } from "./compute-proxy-config.ts";
import type { ProxyNode } from "./proxy-resources.ts";

const snapshot: ConfigSnapshot = { revision: "1", resources: [], mesh: { domainSuffix: "cluster.local", rootNamespace: "istio-system", trustDomain: "cluster.local" }, trustBundles: [] };
const instance = (id: string, app: string, version: string, health = "passing"): CatalogInstance => ({
  node: "n1",
  nodeAddress: "10.0.0.1",
  serviceId: id,
  serviceName: app,
  address: `10.1.0.${id.length}`,
  port: 9080,
  tags: [],
  meta: { app, version },
  health,
});
const catalog = { instances: [instance("reviews-1", "reviews", "v1"), instance("reviews-22", "reviews", "v2"), instance("ratings-1", "ratings", "v1")] };
const proxy = (id: string, workload: string, labels: Record<string, string>): ProxyNode => ({ id, workload, namespace: "default", serviceAccount: "default", labels, version: "t", kind: "sidecar" });

describe("createProxyCompiler", () => {
  it("shares the outbound resources of a namespace's proxies, not their inbound listener", () => {
    const compile = createProxyCompiler(snapshot, catalog);
    const a = compile(proxy("a", "reviews-1", { app: "reviews", version: "v1" }));
    const b = compile(proxy("b", "reviews-1", { app: "reviews", version: "v1" }));
    const c = compile(proxy("c", "", { app: "productpage" }));
    const d = compile({ ...proxy("d", "", { app: "productpage" }), namespace: "other" });
    expect(b.resources.cluster).toBe(a.resources.cluster);
    expect(c.resources.cluster).toBe(a.resources.cluster);
    expect(c.resources.routeTable).toBe(a.resources.routeTable);
    expect(d.resources.cluster).not.toBe(a.resources.cluster);
    expect(a.resources.listener.find((l) => l.name === "inbound")?.body).toMatchObject({ ports: [{ port: 9080, targetPort: 9080 }] });
    expect(c.resources.listener.find((l) => l.name === "inbound")?.body).toMatchObject({ ports: [] });
  });

  it("computes apart the proxies a workload-scoped DestinationRule selects", () => {
    const rule = loadResources([
      {
        path: "dr.yaml",
        text: "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r, namespace: default}\nspec:\n  host: ratings\n  workloadSelector: {matchLabels: {app: reviews}}\n  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}\n",
      },
    ]).resources;
    const compile = createProxyCompiler({ ...snapshot, resources: rule }, catalog);
    const reviews = compile(proxy("a", "", { app: "reviews" }));
    const other = compile(proxy("b", "", { app: "productpage" }));
    const lb = (c: typeof reviews) => c.resources.cluster.find((x) => x.name === "outbound|9080||ratings.default.svc.cluster.local")?.body.balancer.type;
    expect(lb(reviews)).toBe("round-robin");
    expect(lb(other)).toBe("least-request");
  });

  it("given the previous compiler, recomputes only routes after a VirtualService change and only clusters after a catalog change", () => {
    const vs = (timeout: string) =>
      loadResources([{ path: "vs.yaml", text: `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews, namespace: default}\nspec:\n  hosts: [reviews]\n  http:\n  - timeout: ${timeout}\n    route:\n    - destination: {host: reviews}\n` }]).resources;
    const node = proxy("a", "reviews-1", { app: "reviews" });
    const first = new ProxyCompiler({ ...snapshot, resources: vs("1s") }, catalog);
    const a = first.compile(node).resources;
    const edited = vs("2s");
    const afterRoute = new ProxyCompiler({ ...snapshot, resources: edited }, catalog, first);
    const b = afterRoute.compile(node).resources;
    expect(b.cluster).toBe(a.cluster);
    expect(b.listener).toBe(a.listener);
    expect(b.routeTable).not.toBe(a.routeTable);
    expect(b.routeTable[0]?.body.virtualServices[0]?.spec.http?.[0]?.timeout).toBe(2_000);
    const afterCatalog = new ProxyCompiler({ ...snapshot, resources: edited }, { instances: catalog.instances.slice(1) }, afterRoute);
    const c = afterCatalog.compile(node).resources;
    expect(c.routeTable).toBe(b.routeTable);
    expect(c.cluster).not.toBe(b.cluster);
    const reviews = (r: typeof a) => r.endpoints.find((e) => e.name === "outbound|9080||reviews.default.svc.cluster.local")?.body.endpoints.length;
    expect([reviews(a), reviews(c)]).toEqual([2, 1]);
  });

  it("is deterministic: the same inputs give equal resources", () => {
    const node = proxy("a", "reviews-1", { app: "reviews" });
    expect(JSON.stringify(computeProxyConfig(snapshot, catalog, node))).toBe(JSON.stringify(computeProxyConfig(snapshot, { instances: [...catalog.instances] }, node)));
  });

  it("reports a proxy whose workload is not in the catalog or config", () => {
    expect(computeProxyConfig(snapshot, catalog, proxy("x", "ghost", {})).issues).toContain('WorkloadEntry "default/ghost" (the proxy\'s own workload) is not defined; no inbound ports from it');
  });

  it("leaves critical instances out of the endpoints but keeps their service", () => {
    const computed = computeProxyConfig(snapshot, { instances: [instance("ratings-1", "ratings", "v1", "critical")] }, proxy("p", "", {}));
    expect(computed.resources.cluster.map((c) => c.name)).toEqual(["outbound|9080||ratings.default.svc.cluster.local"]);
    expect(computed.resources.endpoints[0]?.body.endpoints).toEqual([]);
  });
});
