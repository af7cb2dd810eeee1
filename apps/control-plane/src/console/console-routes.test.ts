// The console's API in-process: AdminRouter.handle with a ConfigStore, a DiscoveryServer without
// connections and a fixed traffic reading.
import { createLogger } from "@meshwork/telemetry";
import { FakeClock } from "@meshwork/testing";
import { describe, expect, it } from "vitest";
import { AdminRouter, buildAdminServer } from "../admin/admin-router.ts";
import { ControlPlaneMetrics } from "../admin/control-plane-metrics.ts";
import { ConfigStore } from "../config-store/config-store.ts";
import { DiscoveryServer } from "../push/discovery-server.ts";
import { registerConsoleRoutes, isLoopback } from "./console-routes.ts";
import type { TrafficSource } from "./traffic-source.ts";

const config = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v9}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: default}
spec:
  host: ratings.default.svc.cluster.local
`;

const traffic: TrafficSource = {
  describe: () => "fixed test reading",
  readSeries: () => Promise.resolve({ points: [], errors: [] }),
  read: async (windowSeconds) => ({
    windowSeconds,
    errors: [],
    durationBuckets: [],
    requests: [
      {
        name: "istio_requests_total",
        labels: { reporter: "source", source_workload: "productpage-v1", source_workload_namespace: "default", destination_workload: "reviews-v1", destination_workload_namespace: "default", destination_service_name: "reviews", destination_service_namespace: "default", response_code: "200" },
        value: 30,
      },
    ],
  }),
};

function setup(options: { bind?: string; token?: string; registry?: Record<string, unknown> } = {}) {
  const store = new ConfigStore({ mesh: { domainSuffix: "cluster.local", rootNamespace: "istio-system", trustDomain: "cluster.local" }, defaultNamespace: "default", sources: ["directory"], needsCatalog: false });
  store.setEntries("directory", [{ key: "bookinfo.yaml", text: config }]);
  store.setCatalog([
    { node: "n1", nodeAddress: "127.0.0.1", serviceId: "reviews-v1", serviceName: "reviews", address: "127.0.0.1", port: 9080, tags: [], meta: { namespace: "default", version: "v1", app: "reviews" }, health: "passing" },
    { node: "n1", nodeAddress: "127.0.0.1", serviceId: "reviews-v2", serviceName: "reviews", address: "127.0.0.1", port: 9081, tags: [], meta: { namespace: "default", version: "v2", app: "reviews" }, health: "critical" },
  ]);
  const discovery = new DiscoveryServer({
    controlPlaneId: "cp-test",
    compute: () => {
      throw new Error("no proxies in this test");
    },
    isReady: () => store.isReady,
    timers: new FakeClock(),
    debounce: { quietMs: 100, maxMs: 10_000 },
    logger: createLogger({ name: "test", write: () => undefined }),
    metrics: new ControlPlaneMetrics(),
  });
  const router = registerConsoleRoutes(new AdminRouter(), {
    store,
    discovery,
    traffic,
    registryHttp: options.registry === undefined ? [] : ["http://registry.test:8500"],
    fetch: (url) => {
      const path = new URL(url).pathname;
      const body = options.registry?.[path];
      return body === undefined ? Promise.reject(new Error(`no ${path} in this test`)) : Promise.resolve(Response.json(body));
    },
    now: () => 1_000,
    controlPlaneId: "cp-test",
    trustDomain: "cluster.local",
    domainSuffix: "cluster.local",
    bind: options.bind ?? "127.0.0.1",
    token: options.token,
  });
  return { router };
}

const get = async (router: AdminRouter, url: string) => {
  const reply = await router.handle("GET", url, "");
  return { status: reply.status, body: reply.body as Record<string, unknown> & { error?: string } };
};

describe("console API", () => {
  it("answers the graph for a window and refuses a window it does not offer", async () => {
    const { router } = setup();
    const graph = await get(router, "/console/api/graph?window=60");
    expect(graph.status).toBe(200);
    expect(graph.body["edges"]).toEqual(expect.arrayContaining([expect.objectContaining({ source: "wl:default/productpage-v1", target: "svc:default/reviews", requestsPerSecond: 0.5 })]));
    expect(graph.body["source"]).toBe("fixed test reading");
    const bad = await get(router, "/console/api/graph?window=7");
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain("60, 300, 600, 1800, 3600");
  });

  it("shows a service's instances, versions, health and the VirtualService/DestinationRule that apply", async () => {
    const { router } = setup();
    const reviews = await get(router, "/console/api/services/default/reviews");
    expect(reviews.status).toBe(200);
    expect(reviews.body).toMatchObject({ versions: ["v1", "v2"], health: { catalog: { passing: 1, critical: 1 }, requests: "healthy" } });
    expect((reviews.body["config"] as { kind: string; name: string }[]).map((c) => `${c.kind}/${c.name}`)).toEqual(["VirtualService/reviews"]);
    const ratings = await get(router, "/console/api/services/default/ratings");
    expect((ratings.body["config"] as { kind: string }[]).map((c) => c.kind)).toEqual(["DestinationRule"]);
    expect((await get(router, "/console/api/services/default/nothing")).status).toBe(404);
    expect((await get(router, "/console/api/services")).body["services"]).toEqual([{ namespace: "default", name: "reviews", instances: 2, versions: ["v1", "v2"], health: { passing: 1, critical: 1 } }]);
  });

  it("lists config with its validation findings and YAML", async () => {
    const { router } = setup();
    const body = (await get(router, "/console/api/config")).body as { resources: { kind: string; findings: { message: string }[]; yaml: string }[] };
    const vs = body.resources.find((r) => r.kind === "VirtualService");
    expect(vs?.findings.map((f) => f.message).join("\n")).toContain("v9");
    expect(vs?.yaml).toContain("kind: VirtualService");
  });

  it("answers proxies, identities and registry pages without proxies or registry", async () => {
    const { router } = setup();
    expect((await get(router, "/console/api/proxies")).body).toEqual({ controlPlane: "cp-test", proxies: [] });
    expect((await get(router, "/console/api/identities")).body["identities"]).toEqual([]);
    const registry = await get(router, "/console/api/registry");
    expect(registry.body["errors"]).toEqual(["the control plane runs without --registry-http, so it cannot ask the registry"]);
  });

  it("shows the registry's Raft leader and members beside its gossip members", async () => {
    const { router } = setup({
      registry: {
        "/v1/status/leader": "127.0.0.1:8300",
        "/v1/operator/raft/configuration": { Servers: [{ ID: "r1", Address: "127.0.0.1:8300", Leader: true, Voter: true }, { ID: "r2", Address: "127.0.0.2:8300", Leader: false, Voter: true }] },
        "/v1/agent/members": [
          { Name: "r2", Addr: "127.0.0.2", Port: 8301, Tags: { role: "server", dc: "dc1" }, Status: 4, ProtocolCur: 1 },
          { Name: "r1", Addr: "127.0.0.1", Port: 8301, Tags: { role: "server", dc: "dc1" }, Status: 1, ProtocolCur: 1 },
          { Name: "node-a", Addr: "::1", Port: 8301, Tags: { role: "client" }, Status: 3, ProtocolCur: 1 },
        ],
      },
    });
    const body = (await get(router, "/console/api/registry")).body;
    expect(body["leader"]).toBe("127.0.0.1:8300");
    expect(body["servers"]).toEqual([
      { id: "r1", address: "127.0.0.1:8300", leader: true, voter: true },
      { id: "r2", address: "127.0.0.2:8300", leader: false, voter: true },
    ]);
    expect(body["members"]).toEqual([
      { name: "node-a", address: "[::1]:8301", status: "left", role: "client", datacenter: "", protocol: 1 },
      { name: "r1", address: "127.0.0.1:8301", status: "alive", role: "server", datacenter: "dc1", protocol: 1 },
      { name: "r2", address: "127.0.0.2:8301", status: "failed", role: "server", datacenter: "dc1", protocol: 1 },
    ]);
    expect(body["errors"]).toEqual([]);
  });

  it("still shows Raft when the registry answers no gossip members, and says why", async () => {
    const { router } = setup({ registry: { "/v1/status/leader": "127.0.0.1:8300", "/v1/operator/raft/configuration": { Servers: [{ ID: "r1", Address: "127.0.0.1:8300", Leader: true }] } } });
    const body = (await get(router, "/console/api/registry")).body;
    expect(body["servers"]).toHaveLength(1);
    expect(body["members"]).toEqual([]);
    expect(body["errors"]).toEqual(["http://registry.test:8500/v1/agent/members: no /v1/agent/members in this test"]);
  });

  it("requires the token when one is set, and refuses the API beyond loopback without one", async () => {
    const withToken = setup({ token: "s3cret" }).router;
    expect((await get(withToken, "/console/api/overview")).status).toBe(401);
    expect((await get(withToken, "/console/api/overview?token=wrong")).status).toBe(401);
    expect((await get(withToken, "/console/api/overview?token=s3cret")).status).toBe(200);
    const exposed = setup({ bind: "0.0.0.0" }).router;
    const refused = await get(exposed, "/console/api/overview");
    expect(refused.status).toBe(403);
    expect(refused.body.error).toContain("--console-token");
    expect(isLoopback("127.0.0.1")).toBe(true);
    expect(isLoopback("10.0.0.1")).toBe(false);
  });

  it("serves the page, the compiled app and Cytoscape.js from node_modules through fastify", async () => {
    const app = buildAdminServer(setup().router);
    const page = await app.inject({ method: "GET", url: "/console/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.body).toContain('src="/console/vendor/cytoscape.min.js"');
    const script = await app.inject({ method: "GET", url: "/console/console-app.js" });
    expect(script.statusCode).toBe(200);
    expect(script.body).toContain("/console/api/");
    expect(script.body).not.toContain("import ");
    const cytoscape = await app.inject({ method: "GET", url: "/console/vendor/cytoscape.min.js" });
    expect(cytoscape.body.length).toBeGreaterThan(100_000);
    await app.close();
  });
});
