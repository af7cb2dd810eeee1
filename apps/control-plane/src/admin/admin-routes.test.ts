// The admin and config API in-process: handlers through AdminRouter.handle, with a ConfigStore,
// a DiscoveryServer without connections and an in-memory KV standing in for the registry.
import { createLogger } from "@meshwork/telemetry";
import { FakeClock } from "@meshwork/testing";
import { describe, expect, it } from "vitest";
import type { RegistryKv } from "../adapters/registry-kv.ts";
import { ConfigStore } from "../config-store/config-store.ts";
import { DiscoveryServer } from "../push/discovery-server.ts";
import { buildAdminServer } from "./admin-router.ts";
import { adminRoutes } from "./admin-routes.ts";
import { ControlPlaneMetrics } from "./control-plane-metrics.ts";

const vs = (timeout: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - timeout: ${timeout}
    route:
    - destination: {host: reviews}
`;

function setup(withKv = true) {
  const store = new ConfigStore({ mesh: { domainSuffix: "cluster.local", rootNamespace: "istio-system", trustDomain: "cluster.local" }, defaultNamespace: "default", sources: ["registry"], needsCatalog: false });
  const metrics = new ControlPlaneMetrics();
  const discovery = new DiscoveryServer({
    controlPlaneId: "cp-test",
    compute: () => {
      throw new Error("no proxies in this test");
    },
    isReady: () => store.isReady,
    timers: new FakeClock(),
    debounce: { quietMs: 100, maxMs: 10_000 },
    logger: createLogger({ name: "test", write: () => undefined }),
    metrics,
  });
  const written = new Map<string, string>();
  const kv: RegistryKv = {
    put: async (key, value) => void written.set(key, value),
    delete: async (key) => written.delete(key),
    get: async (key) => written.get(key),
  };
  let serving = true;
  const router = adminRoutes({ store, discovery, metrics, kv: withKv ? kv : undefined, isServing: () => serving, defaultNamespace: "default", controlPlaneId: "cp-test" });
  return { router, store, written, stop: () => (serving = false) };
}

describe("admin routes", () => {
  it("answers /ready 503 until the sources delivered, 200 then, 503 again once stopping", async () => {
    const { router, store, stop } = setup();
    expect((await router.handle("GET", "/ready", "")).status).toBe(503);
    store.setEntries("registry", []);
    expect((await router.handle("GET", "/ready", "")).status).toBe(200);
    stop();
    expect((await router.handle("GET", "/readyz", "")).status).toBe(503);
    expect((await router.handle("GET", "/healthz", "")).status).toBe(200);
  });

  it("writes a valid resource to its KV key, and nothing for an invalid one", async () => {
    const { router, written } = setup();
    const ok = await router.handle("POST", "/api/v1/config", vs("2s"));
    expect(ok.status).toBe(200);
    expect([...written.keys()]).toEqual(["meshwork/config/VirtualService/default/reviews"]);
    written.clear();
    const bad = await router.handle("POST", "/api/v1/config", vs("soon"));
    expect(bad.status).toBe(400);
    expect(written.size).toBe(0);
    expect((bad.body as { messages: string[] }).messages[0]).toMatch(/^<request>:7:\d+: .*soon/);
  });

  it("validates without writing on dryRun, and refuses writes without a registry", async () => {
    const { router, written } = setup();
    expect((await router.handle("POST", "/api/v1/config?dryRun=true", vs("2s"))).status).toBe(200);
    expect(written.size).toBe(0);
    const noKv = setup(false);
    expect((await noKv.router.handle("POST", "/api/v1/config", vs("2s"))).status).toBe(409);
  });

  it("deletes a key, 404 for one that is not there", async () => {
    const { router } = setup();
    await router.handle("PUT", "/api/v1/config", vs("2s"));
    expect((await router.handle("DELETE", "/api/v1/config/VirtualService/default/reviews", "")).status).toBe(200);
    expect((await router.handle("DELETE", "/api/v1/config/VirtualService/default/reviews", "")).status).toBe(404);
  });

  it("lists the serving config, and says how to find a proxy that is not connected", async () => {
    const { router, store } = setup();
    store.setEntries("registry", [{ key: "meshwork/config/VirtualService/default/reviews", text: vs("2s") }]);
    const listed = await router.handle("GET", "/api/v1/config/VirtualService", "");
    expect((listed.body as { resources: { metadata: { name: string } }[] }).resources.map((r) => r.metadata.name)).toEqual(["reviews"]);
    const dump = await router.handle("GET", "/debug/config_dump?proxy=nobody", "");
    expect(dump.status).toBe(404);
    expect((dump.body as { error: string }).error).toContain("/debug/syncz");
    expect((await router.handle("POST", "/debug/syncz", "")).status).toBe(405);
    expect((await router.handle("GET", "/nope", "")).status).toBe(404);
  });

  it("serves the same routes over fastify: YAML bodies of any content type, params, 404 naming the pages", async () => {
    const { router, written } = setup();
    const app = buildAdminServer(router);
    const applied = await app.inject({ method: "POST", url: "/api/v1/config?namespace=shop", payload: vs("2s"), headers: { "content-type": "application/yaml" } });
    expect(applied.statusCode).toBe(200);
    expect([...written.keys()]).toEqual(["meshwork/config/VirtualService/shop/reviews"]);
    const deleted = await app.inject({ method: "DELETE", url: "/api/v1/config/VirtualService/shop/reviews" });
    expect(deleted.statusCode).toBe(200);
    const missing = await app.inject({ method: "GET", url: "/debug/nothing" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json<{ error: string }>().error).toContain("/debug/syncz");
    await app.close();
  });

  it("serves Prometheus text on /metrics", async () => {
    const { router } = setup();
    const metrics = await router.handle("GET", "/metrics", "");
    expect(String(metrics.body)).toContain("# TYPE pilot_proxy_convergence_time histogram");
  });
});
