// Protocol tests of StreamConfig over real gRPC on loopback: DiscoveryServer (the debouncer on a
// fake clock, so coalescing is decided by the test, not by timing) against DiscoveryClient.
import { credentials, Server, ServerCredentials } from "@grpc/grpc-js";
import { loadResources, type MeshResource } from "@meshwork/config";
import { DiscoveryServiceClient, DiscoveryServiceService } from "@meshwork/protocol";
import { computeProxyConfig, type CatalogInstance, type MeshCatalog, type NamedResource, type ProxyNode, type ResourceType } from "@meshwork/proxy-core";
import { createLogger } from "@meshwork/telemetry";
import { FakeClock } from "@meshwork/testing";
import { afterEach, describe, expect, it } from "vitest";
import { ControlPlaneMetrics } from "../admin/control-plane-metrics.ts";
import { DiscoveryClient, type DiscoveryClientEvent } from "@meshwork/protocol";
import { DiscoveryServer } from "./discovery-server.ts";

const mesh = { domainSuffix: "cluster.local", rootNamespace: "istio-system", trustDomain: "cluster.local" };

function vs(name: string, subset: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: ${subset}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;
}

function load(text: string): MeshResource[] {
  const loaded = loadResources([{ path: "test.yaml", text }]);
  if (loaded.issues.some((i) => i.severity === "error")) throw new Error(JSON.stringify(loaded.issues));
  return loaded.resources;
}

function instance(id: string, version: string, address: string): CatalogInstance {
  return { node: "n1", nodeAddress: "10.0.0.1", serviceId: id, serviceName: "reviews", address, port: 9080, tags: [], meta: { app: "reviews", version }, health: "passing" };
}

const node: ProxyNode = { id: "productpage-1.default", workload: "", namespace: "default", serviceAccount: "bookinfo-productpage", labels: { app: "productpage" }, version: "test", kind: "sidecar" };

/** A replica: the state the compiler reads, the server on a loopback port, a fake clock for its debouncer. */
async function startReplica(id: string) {
  const clock = new FakeClock(1_000);
  const state = { resources: load(vs("reviews", "v1")), catalog: { instances: [instance("reviews-v1", "v1", "10.0.1.1")] } as MeshCatalog, revision: 1 };
  const metrics = new ControlPlaneMetrics();
  const discovery = new DiscoveryServer({
    controlPlaneId: id,
    compute: (proxy) => computeProxyConfig({ revision: String(state.revision), resources: state.resources, mesh, trustBundles: [] }, state.catalog, proxy),
    revision: () => String(state.revision),
    isReady: () => true,
    timers: clock,
    debounce: { quietMs: 100, maxMs: 10_000 },
    logger: createLogger({ name: "test", write: () => undefined }),
    metrics,
  });
  const server = new Server();
  server.addService(DiscoveryServiceService, discovery.service);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { id, clock, state, metrics, discovery, server, address: `127.0.0.1:${port}` };
}

type Replica = Awaited<ReturnType<typeof startReplica>>;

/** A DiscoveryClient recording its events, with a way to wait for one. */
function startProxy(addresses: string[], reject?: (type: ResourceType, names: string[]) => string | undefined) {
  const events: DiscoveryClientEvent[] = [];
  const waiters: { predicate: () => boolean; resolve: () => void }[] = [];
  const client = new DiscoveryClient({
    addresses,
    node,
    backoff: { initialMs: 10, maxMs: 50 },
    apply: (type, resources) => reject?.(type, resources.map((r) => r.name)),
    onEvent: (event) => {
      events.push(event);
      for (const w of waiters.splice(0)) {
        if (w.predicate()) w.resolve();
        else waiters.push(w);
      }
    },
  });
  client.start();
  const waitFor = (predicate: () => boolean): Promise<void> =>
    predicate() ? Promise.resolve() : new Promise((resolve) => waiters.push({ predicate, resolve }));
  const answered = () => events.filter((e): e is Extract<DiscoveryClientEvent, { type: "accepted" | "rejected" }> => e.type === "accepted" || e.type === "rejected");
  return { client, events, waitFor, answered };
}

const replicas: Replica[] = [];
const proxies: ReturnType<typeof startProxy>[] = [];
afterEach(() => {
  for (const p of proxies.splice(0)) p.client.close();
  for (const r of replicas.splice(0)) {
    r.discovery.close();
    r.server.forceShutdown();
  }
});

async function setup() {
  const replica = await startReplica("cp-a");
  replicas.push(replica);
  const proxy = startProxy([replica.address]);
  proxies.push(proxy);
  await proxy.waitFor(() => proxy.answered().length === 5);
  return { replica, proxy };
}

/** Waits until the server recorded the proxy's answers to everything it sent. */
async function settled(replica: Replica): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const status = replica.discovery.status()[0];
    if (status && Object.values(status.types).every((t) => t.state !== "STALE")) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error("the server did not see the proxy's answers");
}

describe("StreamConfig", { timeout: 20_000 }, () => {
  it("sends every type on subscription in push order, and records the ACKs as SYNCED", async () => {
    const { replica, proxy } = await setup();
    expect(proxy.answered().map((e) => e.resourceType)).toEqual(["cluster", "endpoints", "listener", "routeTable", "trustBundle"]);
    expect(proxy.answered().every((e) => e.type === "accepted")).toBe(true);
    await settled(replica);
    const status = replica.discovery.status();
    expect(status).toHaveLength(1);
    expect(status[0]?.state).toBe("SYNCED");
    expect(status[0]?.types.routeTable?.ackedVersion).toBe(proxy.client.accepted.get("routeTable")?.version);
  });

  it("coalesces a burst of changes into one push that carries only the types that changed", async () => {
    const { replica, proxy } = await setup();
    await settled(replica);
    replica.state.resources = load(vs("reviews", "v2"));
    replica.discovery.changed();
    replica.clock.advance(50);
    replica.state.resources = load(vs("reviews", "v1"));
    replica.discovery.changed();
    replica.clock.advance(50);
    replica.state.resources = load(vs("reviews", "v2"));
    replica.discovery.changed();
    expect(proxy.answered()).toHaveLength(5);
    replica.clock.advance(100);
    await proxy.waitFor(() => proxy.answered().length === 6);
    await settled(replica);
    expect(proxy.answered()[5]?.resourceType).toBe("routeTable");
    expect(await replica.metrics.pushes.get().then((m) => m.values.find((v) => v.labels.type === "routeTable")?.value)).toBe(2);
  });

  it("names in each proxy's status the config revision its last push was computed from, not the store's newest", async () => {
    const { replica } = await setup();
    await settled(replica);
    expect(replica.discovery.status()[0]?.revision).toBe("1");
    replica.state.resources = load(vs("reviews", "v2"));
    replica.state.revision = 2;
    replica.discovery.changed();
    // Debounced: the status still says SYNCED, but at revision 1 (what a waiter must not take for the change).
    expect(replica.discovery.status()[0]).toMatchObject({ revision: "1", state: "SYNCED" });
    replica.clock.advance(100);
    await settled(replica);
    expect(replica.discovery.status()[0]).toMatchObject({ revision: "2", state: "SYNCED" });
  });

  it("sends endpoints only when only an endpoint changed", async () => {
    const { replica, proxy } = await setup();
    replica.state.catalog = { instances: [instance("reviews-v1", "v1", "10.0.1.1"), instance("reviews-v1b", "v1", "10.0.1.2")] };
    replica.discovery.changed();
    replica.clock.advance(100);
    await proxy.waitFor(() => proxy.answered().length > 5);
    await settled(replica);
    expect(proxy.answered().slice(5).map((e) => e.resourceType)).toEqual(["endpoints"]);
    // Only the clusters whose endpoints changed travel (the service cluster and subset v1), and the
    // proxy merges them into the endpoints it holds.
    expect(proxy.answered()[1]?.received).toBe(3);
    expect(proxy.answered()[5]?.received).toBe(2);
    const held = proxy.client.accepted.get("endpoints")?.resources as NamedResource<"endpoints">[];
    expect(held.map((r) => `${r.name}=${r.body.endpoints.length}`)).toEqual([
      "outbound|9080||reviews.default.svc.cluster.local=2",
      "outbound|9080|v1|reviews.default.svc.cluster.local=2",
      "outbound|9080|v2|reviews.default.svc.cluster.local=0",
    ]);
  });

  it("drops a removed cluster's endpoints on the proxy once the Cluster set without it is accepted", async () => {
    const { replica, proxy } = await setup();
    replica.state.resources = load(vs("reviews", "v1").replace("  - {name: v2, labels: {version: v2}}\n", ""));
    replica.discovery.changed();
    replica.clock.advance(100);
    await proxy.waitFor(() => proxy.answered().some((e, i) => i >= 5 && e.resourceType === "routeTable"));
    expect(proxy.client.accepted.get("endpoints")?.resources.map((r) => r.name)).toEqual(["outbound|9080||reviews.default.svc.cluster.local", "outbound|9080|v1|reviews.default.svc.cluster.local"]);
  });

  it("records a NACK with its error; the proxy keeps its last good version until a good config comes", async () => {
    const replica = await startReplica("cp-a");
    replicas.push(replica);
    const proxy = startProxy([replica.address], (type, names) => (type === "cluster" && names.some((n) => n.includes("|v3|")) ? "cluster v3 refused by the test proxy" : undefined));
    proxies.push(proxy);
    await proxy.waitFor(() => proxy.answered().length === 5);
    const good = proxy.client.accepted.get("cluster")?.version;
    replica.state.resources = load(vs("reviews", "v1").replace("{name: v2, labels: {version: v2}}", "{name: v2, labels: {version: v2}}\n  - {name: v3, labels: {version: v3}}"));
    replica.discovery.changed();
    replica.clock.advance(100);
    await proxy.waitFor(() => proxy.events.some((e) => e.type === "rejected"));
    await settled(replica);
    const status = replica.discovery.status()[0];
    expect(status?.state).toBe("NACKED");
    expect(status?.types.cluster?.nackError).toBe("cluster v3 refused by the test proxy");
    expect(status?.types.cluster?.ackedVersion).toBe(good);
    expect(proxy.client.accepted.get("cluster")?.version).toBe(good);
    expect((await replica.metrics.rejects.get()).values[0]?.value).toBe(1);

    replica.state.resources = load(vs("reviews", "v1"));
    replica.discovery.changed();
    replica.clock.advance(100);
    await proxy.waitFor(() => proxy.answered().at(-1)?.type === "accepted" && proxy.answered().at(-1)?.resourceType === "cluster");
    await settled(replica);
    expect(replica.discovery.status()[0]?.state).toBe("SYNCED");
  });

  it("gives a proxy the full state again when it reconnects to another replica, keeping its config meanwhile", async () => {
    const a = await startReplica("cp-a");
    const b = await startReplica("cp-b");
    replicas.push(a, b);
    const proxy = startProxy([a.address, b.address]);
    proxies.push(proxy);
    await proxy.waitFor(() => proxy.answered().length === 5);
    const before = proxy.client.accepted.get("cluster");
    a.discovery.close();
    await proxy.waitFor(() => proxy.events.some((e) => e.type === "disconnected"));
    expect(proxy.client.accepted.get("cluster")).toEqual(before);
    await proxy.waitFor(() => proxy.answered().length === 10);
    expect(proxy.answered().slice(5).map((e) => e.resourceType)).toEqual(["cluster", "endpoints", "listener", "routeTable", "trustBundle"]);
    expect(proxy.client.accepted.get("cluster")?.controlPlaneId).toBe("cp-b");
    // Same config on both replicas: same versions (content hashes).
    expect(proxy.client.accepted.get("cluster")?.version).toBe(before?.version);
    await settled(b);
    expect(b.discovery.status()[0]?.state).toBe("SYNCED");
  });

  it("refuses a stream whose first request has no node id", async () => {
    const replica = await startReplica("cp-a");
    replicas.push(replica);
    const client = new DiscoveryServiceClient(replica.address, credentials.createInsecure());
    const stream = client.streamConfig();
    const error = await new Promise<Error & { code?: number }>((resolve) => {
      stream.on("error", resolve);
      stream.on("data", () => undefined);
      stream.write({ node: undefined, typeUrl: "type.meshwork.io/mesh.discovery.v1.Cluster", versionInfo: "", responseNonce: "", errorDetail: undefined });
    });
    client.close();
    expect(error.code).toBe(3);
    expect(error.message).toContain("must carry node.id");
  });
});
