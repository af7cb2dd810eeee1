// The Kubernetes sources with the real @kubernetes/client-node against a small API-server
// stand-in that speaks the documented list/watch protocol over HTTP: paged lists (limit/continue)
// with a collection resourceVersion, `?watch=true&resourceVersion=N` streams of JSON lines
// ({"type":"ADDED|MODIFIED|DELETED|ERROR","object":...}), 410 Gone as an ERROR event once the
// history before N is compacted, bearer-token auth. What it does not prove: the real API server's
// timing (watch timeouts, bookmarks), RBAC, HTTP/2, TLS and client-certificate auth, or
// conversion between served versions.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { KubeConfig } from "@kubernetes/client-node";
import type { CatalogInstance } from "@meshwork/proxy-core";
import { afterEach, describe, expect, it } from "vitest";
import { startKubernetesSources, type KubernetesSources } from "./kubernetes-sources.ts";
import type { ConfigEntryText } from "./to-config-entry.ts";

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> }; [field: string]: unknown };
interface Collection {
  readonly objects: Map<string, K8sObject>;
  readonly events: { rv: number; type: string; object: K8sObject }[];
}

/** The API server stand-in: an in-memory store with a global resourceVersion, lists and watches. */
class ApiServerStandIn {
  readonly requests: { path: string; watch: boolean; resourceVersion: string | null; continue: string | null }[] = [];
  readonly #collections = new Map<string, Collection>();
  readonly #watchers = new Set<{ path: string; res: ServerResponse }>();
  readonly #failures = new Map<string, number>();
  #rv = 100;
  #compactedBelow = 0;
  server: Server | undefined;

  async listen(): Promise<string> {
    this.server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    const address = this.server.address() as { port: number };
    return `http://127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    for (const watcher of this.#watchers) watcher.res.destroy();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  /** Creates or updates an object; open watches get the event unless `silently` (as if they had been disconnected). */
  put(path: string, object: K8sObject, silently = false): void {
    const collection = this.#collection(path);
    const key = `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
    const type = collection.objects.has(key) ? "MODIFIED" : "ADDED";
    this.#rv += 1;
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(this.#rv) } };
    collection.objects.set(key, stored);
    this.#emit(path, { rv: this.#rv, type, object: stored }, silently);
  }

  remove(path: string, namespace: string, name: string, silently = false): void {
    const collection = this.#collection(path);
    const existing = collection.objects.get(`${namespace}/${name}`);
    if (!existing) throw new Error(`stand-in: no ${path} ${namespace}/${name}`);
    collection.objects.delete(`${namespace}/${name}`);
    this.#rv += 1;
    this.#emit(path, { rv: this.#rv, type: "DELETED", object: { ...existing, metadata: { ...existing.metadata, resourceVersion: String(this.#rv) } } }, silently);
  }

  /** Forgets the event history (etcd compaction) and ends every open watch, as an API server restart does. */
  compactAndDisconnect(): void {
    this.#compactedBelow = this.#rv + 1;
    for (const collection of this.#collections.values()) collection.events.length = 0;
    this.endWatches();
  }

  /** Ends every open watch normally (the server's watch timeout). */
  endWatches(): void {
    for (const watcher of this.#watchers) watcher.res.end();
    this.#watchers.clear();
  }

  /** The next `count` list (or watch) requests on `path` answer 500. */
  failNext(path: string, count: number, kind: "list" | "watch"): void {
    this.#failures.set(`${kind} ${path}`, count);
  }

  #collection(path: string): Collection {
    let collection = this.#collections.get(path);
    if (!collection) {
      collection = { objects: new Map(), events: [] };
      this.#collections.set(path, collection);
    }
    return collection;
  }

  #emit(path: string, event: { rv: number; type: string; object: K8sObject }, silently: boolean): void {
    this.#collection(path).events.push(event);
    if (silently) return;
    for (const watcher of this.#watchers) if (watcher.path === path) watcher.res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const watch = url.searchParams.get("watch") === "true";
    this.requests.push({ path: url.pathname, watch, resourceVersion: url.searchParams.get("resourceVersion"), continue: url.searchParams.get("continue") });
    if (req.headers.authorization !== "Bearer test-token") return this.#status(res, 401, "Unauthorized", "Unauthorized");
    const failureKey = `${watch ? "watch" : "list"} ${url.pathname}`;
    const failures = this.#failures.get(failureKey) ?? 0;
    if (failures > 0) {
      this.#failures.set(failureKey, failures - 1);
      return this.#status(res, 500, "InternalError", "stand-in failure");
    }
    const collection = this.#collection(url.pathname);
    if (watch) {
      const from = Number(url.searchParams.get("resourceVersion") ?? "0");
      res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
      res.flushHeaders(); // as the API server does: the client's watch() resolves on the headers
      if (from < this.#compactedBelow) {
        // The API server's answer to a resourceVersion it no longer has: an ERROR event with a 410 Status, then the end.
        res.end(`${JSON.stringify({ type: "ERROR", object: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `too old resource version: ${from} (${this.#compactedBelow})`, reason: "Expired", code: 410 } })}\n`);
        return;
      }
      for (const event of collection.events) if (event.rv > from) res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
      const watcher = { path: url.pathname, res };
      this.#watchers.add(watcher);
      req.on("close", () => this.#watchers.delete(watcher));
      return;
    }
    const all = [...collection.objects.values()].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
    const limit = Number(url.searchParams.get("limit") ?? "0") || all.length;
    const offset = Number(url.searchParams.get("continue") ?? "0");
    const items = all.slice(offset, offset + limit);
    const more = offset + limit < all.length;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "List", apiVersion: "v1", metadata: { resourceVersion: String(this.#rv), ...(more ? { continue: String(offset + limit) } : {}) }, items }));
  }

  #status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code }));
  }
}

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
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "stand-in", server, skipTLSVerify: true }],
    users: [{ name: "control-plane", token: "test-token" }],
    contexts: [{ name: "stand-in", cluster: "stand-in", user: "control-plane" }],
    currentContext: "stand-in",
  });
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
    expect(listed).toEqual(new Set([vsPath, drPath, servicesPath, slicesPath, podsPath, "/apis/networking.istio.io/v1/gateways", "/apis/networking.istio.io/v1/serviceentries", "/apis/networking.istio.io/v1/sidecars", "/apis/networking.istio.io/v1/workloadentries", "/apis/security.istio.io/v1/peerauthentications", "/apis/security.istio.io/v1/requestauthentications", "/apis/security.istio.io/v1/authorizationpolicies", expect.stringMatching(/^\/apis\/policy\.meshwork\.io\/v[a-z0-9]+\/httplocalratelimitpolicies$/)]));
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
