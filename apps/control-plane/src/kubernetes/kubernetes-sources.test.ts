// The Kubernetes sources with the real @kubernetes/client-node against a small API-server
// stand-in that speaks the documented list/watch protocol over HTTP: paged lists (limit/continue)
// with a collection resourceVersion, `?watch=true&resourceVersion=N` streams of JSON lines
// ({"type":"ADDED|MODIFIED|DELETED|ERROR","object":...}), 410 Gone as an ERROR event once the
// history before N is compacted, bearer-token auth. What it does not prove: the real API server's
// timing (watch timeouts, bookmarks), RBAC, HTTP/2, TLS and client-certificate auth, or
// conversion between served versions.
import type { CatalogInstance } from "@meshwork/proxy-core";
import { afterEach, describe, expect, it } from "vitest";
import { ApiServerStandIn, type K8sObject, standInKubeConfig } from "../../tests/support/api-server-stand-in.ts";
import { startKubernetesSources, type KubernetesSources } from "./kubernetes-sources.ts";
import type { ConfigEntryText } from "./to-config-entry.ts";

const vsPath = "/apis/networking.istio.io/v1/virtualservices";
const drPath = "/apis/networking.istio.io/v1/destinationrules";
const servicesPath = "/api/v1/services";
const slicesPath = "/apis/discovery.k8s.io/v1/endpointslices";
const podsPath = "/api/v1/pods";

const virtualService = (name: string, host: string): K8sObject => ({
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  metadata: { name, namespace: "bookinfo" },
  spec: { hosts: [host], http: [{ route: [{ destination: { host, subset: "v1" } }] }] },
});
const reviewsService: K8sObject = { apiVersion: "v1", kind: "Service", metadata: { name: "reviews", namespace: "bookinfo" }, spec: { ports: [{ name: "http", port: 9080 }] } };
const reviewsSlice = (ready: boolean[]): K8sObject => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: "reviews-abc12", namespace: "bookinfo", labels: { "kubernetes.io/service-name": "reviews" } },
  addressType: "IPv4",
  ports: [{ name: "http", port: 9080, protocol: "TCP" }],
  endpoints: ready.map((r, i) => ({ addresses: [`10.1.0.${i + 1}`], conditions: { ready: r }, nodeName: "node-a", targetRef: { kind: "Pod", name: `reviews-v1-${i}` } })),
});

/** Collects deliveries; waitFor resolves on the first (current or future) delivery matching. */
class Deliveries<T> {
  readonly all: T[] = [];
  readonly #waiters: { match: (value: T) => boolean; resolve: (value: T) => void }[] = [];
  push = (value: T): void => {
    this.all.push(value);
    for (const waiter of [...this.#waiters]) {
      if (waiter.match(value)) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(value);
      }
    }
  };
  waitFor(match: (value: T) => boolean): Promise<T> {
    const latest = this.all.at(-1);
    if (latest !== undefined && match(latest)) return Promise.resolve(latest);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
}

const names = (entries: readonly ConfigEntryText[]) => entries.map((e) => e.key);
let standIn: ApiServerStandIn;
let sources: KubernetesSources | undefined;

async function start(options: { pageSize?: number; resyncMs?: number } = {}) {
  standIn = new ApiServerStandIn();
  const server = await standIn.listen();
  standIn.put(vsPath, virtualService("reviews", "reviews"));
  standIn.put(drPath, { apiVersion: "networking.istio.io/v1", kind: "DestinationRule", metadata: { name: "reviews", namespace: "bookinfo" }, spec: { host: "reviews", subsets: [{ name: "v1", labels: { version: "v1" } }] } });
  standIn.put(servicesPath, reviewsService);
  standIn.put(slicesPath, reviewsSlice([true, false]));
  standIn.put(podsPath, { apiVersion: "v1", kind: "Pod", metadata: { name: "reviews-v1-0", namespace: "bookinfo", labels: { app: "reviews", version: "v1", "pod-template-hash": "7d8f9c6b5" } }, spec: { serviceAccountName: "bookinfo-reviews" } });
  const kubeConfig = standInKubeConfig(server);
  const config = new Deliveries<readonly ConfigEntryText[]>();
  const catalog = new Deliveries<readonly CatalogInstance[]>();
  sources = startKubernetesSources({ kubeConfig, onConfig: config.push, onCatalog: catalog.push, retryMs: 20, resyncMs: options.resyncMs ?? 0, pageSize: options.pageSize });
  await sources.synced;
  return { config, catalog };
}

afterEach(async () => {
  await sources?.stop();
  sources = undefined;
  await standIn.close();
});

describe("Kubernetes config and discovery sources (client-node against an API-server stand-in)", () => {
  it("lists every mesh kind and Services + EndpointSlices, then delivers config entries and catalog instances", async () => {
    const { config, catalog } = await start();
    const listed = new Set(standIn.requests.filter((r) => !r.watch).map((r) => r.path));
    expect(listed).toEqual(new Set([vsPath, drPath, servicesPath, slicesPath, podsPath, "/apis/networking.istio.io/v1/gateways", "/apis/networking.istio.io/v1/serviceentries", "/apis/networking.istio.io/v1/sidecars", "/apis/networking.istio.io/v1/workloadentries", "/apis/security.istio.io/v1/peerauthentications", "/apis/security.istio.io/v1/requestauthentications", "/apis/security.istio.io/v1/authorizationpolicies", "/apis/telemetry.istio.io/v1/telemetries", expect.stringMatching(/^\/apis\/policy\.meshwork\.io\/v[a-z0-9]+\/httplocalratelimitpolicies$/), "/apis/gateway.networking.k8s.io/v1/gateways", "/apis/gateway.networking.k8s.io/v1/httproutes", "/apis/gateway.networking.k8s.io/v1/grpcroutes", "/apis/gateway.networking.k8s.io/v1alpha2/tcproutes", "/apis/gateway.networking.k8s.io/v1alpha2/tlsroutes", "/apis/gateway.networking.k8s.io/v1beta1/referencegrants", "/apis/gateway.networking.k8s.io/v1/gatewayclasses", "/api/v1/namespaces"]));
    const entries = config.all.at(-1) ?? [];
    expect(names(entries)).toEqual(["kubernetes/networking.istio.io/DestinationRule/bookinfo/reviews", "kubernetes/networking.istio.io/VirtualService/bookinfo/reviews"]);
    expect(JSON.parse(entries[1]?.text ?? "{}")).toEqual({ apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata: { name: "reviews", namespace: "bookinfo" }, spec: virtualService("reviews", "reviews")["spec"] });
    expect(catalog.all.at(-1)).toEqual([
      { node: "node-a", nodeAddress: "10.1.0.1", serviceId: "bookinfo/reviews-v1-0/9080", serviceName: "reviews", address: "10.1.0.1", port: 9080, tags: [], meta: { app: "reviews", version: "v1", "service-account": "bookinfo-reviews", namespace: "bookinfo", protocol: "http" }, health: "passing" },
      { node: "node-a", nodeAddress: "10.1.0.2", serviceId: "bookinfo/reviews-v1-1/9080", serviceName: "reviews", address: "10.1.0.2", port: 9080, tags: [], meta: { namespace: "bookinfo", protocol: "http" }, health: "critical" },
    ]);
  });

  it("follows watch events from the listed resourceVersion", async () => {
    const { config, catalog } = await start();
    const listRv = Number(sources?.resourceVersions()[vsPath]);
    expect(standIn.requests.find((r) => r.watch && r.path === vsPath)?.resourceVersion).toBe(String(listRv));
    standIn.put(vsPath, virtualService("ratings", "ratings"));
    await config.waitFor((e) => names(e).includes("kubernetes/networking.istio.io/VirtualService/bookinfo/ratings"));
    standIn.remove(vsPath, "bookinfo", "reviews");
    await config.waitFor((e) => !names(e).includes("kubernetes/networking.istio.io/VirtualService/bookinfo/reviews"));
    standIn.put(slicesPath, reviewsSlice([true, true]));
    const instances = await catalog.waitFor((c) => c.length === 2 && c.every((i) => i.health === "passing"));
    expect(instances.map((i) => i.address)).toEqual(["10.1.0.1", "10.1.0.2"]);
    standIn.put(podsPath, { apiVersion: "v1", kind: "Pod", metadata: { name: "reviews-v1-1", namespace: "bookinfo", labels: { app: "reviews", version: "v1" } }, spec: {} });
    const labelled = await catalog.waitFor((c) => c[1]?.meta["version"] === "v1");
    expect(labelled[1]?.meta).toEqual({ app: "reviews", version: "v1", namespace: "bookinfo", protocol: "http" });
    expect(Number(sources?.resourceVersions()[slicesPath])).toBeGreaterThan(listRv);
  });

  it("delivers Namespaces (core v1, listed with the core API) as config entries with their labels, without status", async () => {
    const { config } = await start();
    const namespacesPath = "/api/v1/namespaces";
    standIn.put(namespacesPath, { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop", labels: { "kubernetes.io/metadata.name": "shop", "shared-gateway": "true" } }, spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } });
    const entries = await config.waitFor((e) => names(e).includes("kubernetes/core/Namespace//shop"));
    const entry = entries.find((e) => e.key === "kubernetes/core/Namespace//shop");
    expect(JSON.parse(entry?.text ?? "{}")).toEqual({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop", labels: { "kubernetes.io/metadata.name": "shop", "shared-gateway": "true" } }, spec: { finalizers: ["kubernetes"] } });
  });

  it("re-opens an ended watch from the last resourceVersion without re-listing", async () => {
    const { config } = await start();
    standIn.put(vsPath, virtualService("ratings", "ratings"));
    await config.waitFor((e) => names(e).includes("kubernetes/networking.istio.io/VirtualService/bookinfo/ratings"));
    const seen = sources?.resourceVersions()[vsPath];
    const listsBefore = standIn.requests.filter((r) => !r.watch && r.path === vsPath).length;
    standIn.endWatches();
    standIn.put(vsPath, virtualService("details", "details"));
    await config.waitFor((e) => names(e).includes("kubernetes/networking.istio.io/VirtualService/bookinfo/details"));
    const watches = standIn.requests.filter((r) => r.watch && r.path === vsPath);
    expect(watches.at(-1)?.resourceVersion).toBe(seen);
    expect(standIn.requests.filter((r) => !r.watch && r.path === vsPath)).toHaveLength(listsBefore);
  });

  it("re-lists after 410 Gone, dropping what was deleted while it was away", async () => {
    const { config } = await start();
    // While the control plane is disconnected: reviews is deleted and ratings created, and the history compacted.
    standIn.remove(vsPath, "bookinfo", "reviews", true);
    standIn.put(vsPath, virtualService("ratings", "ratings"), true);
    const listsBefore = standIn.requests.filter((r) => !r.watch && r.path === vsPath).length;
    standIn.compactAndDisconnect();
    const entries = await config.waitFor((e) => names(e).includes("kubernetes/networking.istio.io/VirtualService/bookinfo/ratings"));
    expect(names(entries)).not.toContain("kubernetes/networking.istio.io/VirtualService/bookinfo/reviews");
    expect(standIn.requests.filter((r) => !r.watch && r.path === vsPath).length).toBe(listsBefore + 1);
  });

  it("restarts a collection whose watch failed, resuming from its resourceVersion", async () => {
    const { config } = await start();
    const seen = sources?.resourceVersions()[vsPath];
    const before = standIn.requests.length;
    standIn.failNext(vsPath, 2, "watch");
    standIn.endWatches();
    standIn.put(vsPath, virtualService("details", "details"));
    await config.waitFor((e) => names(e).includes("kubernetes/networking.istio.io/VirtualService/bookinfo/details"));
    const after = standIn.requests.slice(before).filter((r) => r.path === vsPath);
    // Two failed watches (500), then one that resumes where the list left off and gets the event.
    expect(after.map((r) => [r.watch, r.resourceVersion])).toEqual([
      [true, seen],
      [true, seen],
      [true, seen],
    ]);
  });

  it("restarts a collection whose list failed, listing again", async () => {
    const { config } = await start();
    standIn.failNext(vsPath, 1, "list");
    standIn.compactAndDisconnect(); // 410 on re-watch, then the re-list fails once, then succeeds
    standIn.put(vsPath, virtualService("details", "details"));
    await config.waitFor((e) => names(e).includes("kubernetes/networking.istio.io/VirtualService/bookinfo/details"));
    expect(standIn.requests.filter((r) => !r.watch && r.path === vsPath).length).toBeGreaterThanOrEqual(3);
  });

  it("reads lists page by page (limit/continue)", async () => {
    const { config } = await start({ pageSize: 1 });
    expect(standIn.requests.some((r) => !r.watch && r.path === slicesPath)).toBe(true);
    standIn.put(vsPath, virtualService("a", "a"), true);
    standIn.put(vsPath, virtualService("b", "b"), true);
    standIn.compactAndDisconnect(); // re-list: three VirtualServices, one per page
    const entries = await config.waitFor((e) => e.filter((x) => x.key.includes("/VirtualService/")).length === 3);
    expect(names(entries).filter((k) => k.includes("/VirtualService/"))).toHaveLength(3);
    expect(standIn.requests.filter((r) => !r.watch && r.path === vsPath && r.continue !== null).length).toBeGreaterThanOrEqual(2);
  });

  it("re-delivers the cached state at each resync", async () => {
    const { config } = await start({ resyncMs: 5 });
    const count = config.all.length;
    await config.waitFor(() => config.all.length >= count + 2);
    expect(config.all.at(-1)).toEqual(config.all.at(-2));
  });

  it("rejects requests without the bearer token (the stand-in checks auth)", async () => {
    await start();
    const response = await fetch(`http://127.0.0.1:${(standIn.server?.address() as { port: number }).port}${vsPath}`);
    expect(response.status).toBe(401);
  });
});
