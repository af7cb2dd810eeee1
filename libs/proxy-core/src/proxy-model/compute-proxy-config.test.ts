// Golden cases for the compiler live in apps/control-plane/testdata/compute; these check the
// properties the push server relies on.
import { loadResources } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import type { CatalogInstance } from "./catalog-resources.ts";
import { computeProxyConfig, createProxyCompiler, ProxyCompiler, type ConfigSnapshot } from "./compute-proxy-config.ts";
import type { NamedResource, ProxyNode } from "./proxy-resources.ts";

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
    // One instance fewer: the same clusters (the very list), new endpoints.
    expect(c.cluster).toBe(b.cluster);
    expect(c.endpoints).not.toBe(b.endpoints);
    const reviews = (r: typeof a) => r.endpoints.find((e) => e.name === "outbound|9080||reviews.default.svc.cluster.local")?.body.endpoints.length;
    expect([reviews(a), reviews(c)]).toEqual([2, 1]);
  });

  it("applies MeshConfig's h2UpgradePolicy to HTTP ports, also when a previous compiler had another", () => {
    const entry = loadResources([
      {
        path: "se.yaml",
        text: "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: web, namespace: default}\nspec:\n  hosts: [web.example.com]\n  resolution: DNS\n  ports: [{number: 80, name: http, protocol: HTTP}]\n",
      },
    ]).resources;
    const node = proxy("a", "", { app: "productpage" });
    const upgrades = (c: ProxyCompiler) => c.compile(node).resources.cluster.find((x) => x.name === "outbound|80||web.example.com")?.body.upstreamHttp2;
    const plain = new ProxyCompiler({ ...snapshot, resources: entry }, catalog);
    const upgrade = new ProxyCompiler({ ...snapshot, resources: entry, mesh: { ...snapshot.mesh, h2UpgradePolicy: "UPGRADE" } }, catalog, plain);
    expect([upgrades(plain), upgrades(upgrade)]).toEqual([false, true]);
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

describe("ProxyCompiler given the previous compiler (caches across snapshots)", () => {
  // One object per distinct text, as the config store keeps unchanged resources.
  const loaded = new Map<string, ReturnType<typeof loadResources>["resources"]>();
  const once = (text: string) => {
    let resources = loaded.get(text);
    if (resources === undefined) {
      resources = loadResources([{ path: "c.yaml", text }]).resources;
      loaded.set(text, resources);
    }
    return resources;
  };
  const config = (extra: string, address = "10.9.0.1") => [
    ...once(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: legacy, namespace: default}
spec:
  hosts: [legacy.default.svc.cluster.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  workloadSelector: {labels: {app: legacy}}
`),
    ...once(`apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: legacy-1, namespace: default}
spec: {address: ${address}, labels: {app: legacy}, serviceAccount: legacy}
`),
    ...(extra === "" ? [] : once(extra)),
  ];
  const rule = `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
  subsets: [{name: v2, labels: {version: v2}}]
`;
  const sidecar = `---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress: [{hosts: ["./reviews.default.svc.cluster.local", "./legacy.default.svc.cluster.local"]}]
`;
  const nodes = [proxy("a", "reviews-1", { app: "reviews", version: "v1" }), proxy("b", "ratings-1", { app: "ratings" }), proxy("c", "", { app: "legacy" })];
  const base = catalog.instances;
  // Each step changes one input; the incremental result must equal a fresh compile every time.
  const steps: { name: string; resources: ReturnType<typeof config>; instances: CatalogInstance[] }[] = [
    { name: "start", resources: config(""), instances: base },
    { name: "an instance deregistered", resources: config(""), instances: base.slice(1) },
    { name: "an instance critical", resources: config(""), instances: [instance("reviews-1", "reviews", "v1", "critical"), ...base.slice(1)] },
    { name: "back to healthy, one more", resources: config(""), instances: [...base, instance("ratings-333", "ratings", "v2")] },
    { name: "a WorkloadEntry moved (selector ServiceEntry)", resources: config("", "10.9.0.2"), instances: [...base, instance("ratings-333", "ratings", "v2")] },
    { name: "a DestinationRule added", resources: config(rule, "10.9.0.2"), instances: base },
    { name: "a Sidecar added", resources: config(`${rule}${sidecar}`, "10.9.0.2"), instances: base },
    { name: "an instance of an imported service removed under the Sidecar", resources: config(`${rule}${sidecar}`, "10.9.0.2"), instances: base.slice(1) },
  ];

  it("gives what a fresh compile gives after every change (no stale piece, listener or catalog entry)", () => {
    let previous: ProxyCompiler | undefined;
    let kept = 0;
    for (const step of steps) {
      const stepSnapshot = { ...snapshot, revision: step.name, resources: step.resources };
      const stepCatalog = { instances: step.instances.map((i) => ({ ...i, meta: { ...i.meta } })) };
      const compiler: ProxyCompiler = new ProxyCompiler(stepSnapshot, stepCatalog, previous);
      for (const node of nodes) {
        const incremental = compiler.compile(node);
        const fresh = computeProxyConfig(stepSnapshot, stepCatalog, node);
        expect({ step: step.name, resources: JSON.parse(JSON.stringify(incremental.resources)) as unknown, issues: incremental.issues }).toEqual({
          step: step.name,
          resources: JSON.parse(JSON.stringify(fresh.resources)) as unknown,
          issues: fresh.issues,
        });
        if (previous !== undefined && incremental.resources.listener[0] === previous.compile(node).resources.listener[0]) kept += 1;
      }
      previous = compiler;
    }
    // And it did reuse: most inbound listeners survived the catalog changes.
    expect(kept).toBeGreaterThan(nodes.length);
  });

  it("keeps the resources of the services a catalog change did not touch (same objects), and only those", () => {
    const node = proxy("p", "", { app: "productpage" });
    const first = new ProxyCompiler(snapshot, catalog);
    const a = first.compile(node).resources;
    const second = new ProxyCompiler(snapshot, { instances: [...catalog.instances.slice(0, 2), instance("ratings-1", "ratings", "v1", "critical")] }, first);
    const b = second.compile(node).resources;
    const byName = (list: readonly { name: string }[], name: string) => list.find((r) => r.name === name);
    const reviews = "outbound|9080||reviews.default.svc.cluster.local";
    const ratings = "outbound|9080||ratings.default.svc.cluster.local";
    expect(byName(b.endpoints, reviews)).toBe(byName(a.endpoints, reviews));
    expect(byName(b.cluster, reviews)).toBe(byName(a.cluster, reviews));
    expect(byName(b.endpoints, ratings)).not.toBe(byName(a.endpoints, ratings));
    expect((byName(b.endpoints, ratings) as NamedResource<"endpoints">).body.endpoints).toEqual([]);
  });
});

describe("ProxyCompiler after an endpoint change", () => {
  it("keeps the cluster list, the outbound listener and the changed service's cluster objects; only the endpoints are new, and equal to a fresh compile", () => {
    const node = proxy("p", "", { app: "productpage" });
    const first = new ProxyCompiler(snapshot, catalog);
    const a = first.compile(node).resources;
    const moved = { instances: [catalog.instances[0], { ...instance("reviews-22", "reviews", "v2"), address: "10.9.9.9" }, catalog.instances[2]] as CatalogInstance[] };
    const second = new ProxyCompiler(snapshot, moved, first);
    const b = second.compile(node).resources;
    expect(b.cluster).toBe(a.cluster);
    expect(b.listener).toBe(a.listener);
    expect(b.endpoints).not.toBe(a.endpoints);
    const reviews = "outbound|9080||reviews.default.svc.cluster.local";
    const ratings = "outbound|9080||ratings.default.svc.cluster.local";
    const byName = (list: readonly { name: string }[], name: string) => list.find((r) => r.name === name);
    expect(byName(b.endpoints, ratings)).toBe(byName(a.endpoints, ratings));
    expect(byName(b.endpoints, reviews)).not.toBe(byName(a.endpoints, reviews));
    expect(JSON.stringify(b)).toBe(JSON.stringify(computeProxyConfig(snapshot, moved, node).resources));
  });

  it("builds a new outbound listener when a service's ports change", () => {
    const node = proxy("p", "", { app: "productpage" });
    const first = new ProxyCompiler(snapshot, catalog);
    const a = first.compile(node).resources;
    const ported = { instances: [...catalog.instances, { ...instance("ratings-2", "ratings", "v1"), port: 9443 }] };
    const b = new ProxyCompiler(snapshot, ported, first).compile(node).resources;
    expect(b.listener[1]).not.toBe(a.listener[1]);
    expect(b.cluster).not.toBe(a.cluster);
    expect(JSON.stringify(b)).toBe(JSON.stringify(computeProxyConfig(snapshot, ported, node).resources));
  });
});

describe("ProxyCompiler inbound ports from workloadSelectors", () => {
  it("takes every ServiceEntry whose selector the proxy's labels satisfy, whatever the selector's first label, in config order", () => {
    const entry = (name: string, port: number, labels: string, namespace = "default") =>
      `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n  hosts: [${name}.example]\n  ports: [{number: ${port}, name: http, protocol: HTTP}]\n  resolution: STATIC\n  workloadSelector: {labels: ${labels}}\n`;
    const resources = loadResources([
      { path: "se.yaml", text: [entry("both", 8001, "{version: v1, app: shop}"), entry("app", 8002, "{app: shop}"), entry("other-version", 8003, "{app: shop, version: v2}"), entry("elsewhere", 8004, "{app: shop}", "other")].join("---\n") },
    ]).resources;
    const ports = (labels: Record<string, string>) => {
      const inbound = computeProxyConfig({ ...snapshot, resources }, { instances: [] }, proxy("p", "", labels)).resources.listener.find((l) => l.name === "inbound")?.body;
      return inbound?.type === "inbound" ? inbound.ports.map((p) => p.port) : undefined;
    };
    expect(ports({ app: "shop", version: "v1" })).toEqual([8001, 8002]);
    expect(ports({ version: "v2", app: "shop", team: "x" })).toEqual([8002, 8003]);
    expect(ports({ version: "v1" })).toEqual([]);
  });
});

describe("ProxyCompiler inbound listener cache", () => {
  it("keeps a proxy's inbound listener through unrelated changes, and forgets proxies that were not compiled since", () => {
    const a = proxy("a", "reviews-1", { app: "reviews", version: "v1" });
    const b = proxy("b", "ratings-1", { app: "ratings" });
    const first = new ProxyCompiler(snapshot, catalog);
    const inboundA = first.compile(a).resources.listener[0];
    const inboundB = first.compile(b).resources.listener[0];
    // A catalog change that does not touch the proxies' own services: both listeners survive.
    const second = new ProxyCompiler(snapshot, { instances: [...catalog.instances, instance("details-1", "details", "v1")] }, first);
    expect(second.compile(a).resources.listener[0]).toBe(inboundA);
    // b is not compiled by `second` (it went away): the next compiler rebuilds it; a keeps its own.
    const third = new ProxyCompiler(snapshot, { instances: [...catalog.instances] }, second);
    expect(third.compile(a).resources.listener[0]).toBe(inboundA);
    const rebuilt = third.compile(b).resources.listener[0];
    expect(rebuilt).not.toBe(inboundB);
    expect(rebuilt).toEqual(inboundB);
  });
});
