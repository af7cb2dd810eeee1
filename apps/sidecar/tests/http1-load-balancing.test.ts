// DestinationRule load balancing on the HTTP/1.1 data path against real upstreams:
// ROUND_ROBIN spreads evenly, consistentHash on a header sticks each value to one endpoint,
// LEAST_REQUEST avoids an endpoint that is busy with slow requests.
import type { ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { useHarness } from "./support/harness.ts";
import { keepAliveAgent, send, type ClientResponse } from "./support/http-client.ts";
import { destinationRuleYaml, docs } from "./support/mesh-yaml.ts";
import { serviceEntryYaml } from "./support/upstream-server.ts";

const h = useHarness();

describe("load balancing", () => {
  it("ROUND_ROBIN spreads requests evenly over 3 endpoints (chi-square)", async () => {
    const ups = [await h.upstream("e0"), await h.upstream("e1"), await h.upstream("e2")];
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, ups), destinationRuleYaml("svc.test", "loadBalancer: { simple: ROUND_ROBIN }")));
    const agent = keepAliveAgent();
    const n = 300;
    const counts: Record<string, number> = { e0: 0, e1: 0, e2: 0 };
    for (let i = 0; i < n; i++) {
      const res = await send(proxy.port, { host: "svc.test", agent });
      counts[res.body] = (counts[res.body] ?? 0) + 1;
    }
    agent.destroy();
    const expected = n / 3;
    const chiSquare = Object.values(counts).reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(Object.keys(counts).sort()).toEqual(["e0", "e1", "e2"]);
    expect(chiSquare).toBeLessThan(13.82); // p = 0.001, 2 degrees of freedom
  });

  it("consistentHash on httpHeaderName sticks each header value to one endpoint", async () => {
    const ups = [await h.upstream("e0"), await h.upstream("e1"), await h.upstream("e2")];
    const proxy = await h.proxy(
      docs(serviceEntryYaml("svc.test", 80, ups), destinationRuleYaml("svc.test", "loadBalancer: { consistentHash: { httpHeaderName: x-user } }")),
    );
    const agent = keepAliveAgent();
    const landed = new Map<string, Set<string>>();
    for (let round = 0; round < 5; round++) {
      for (let user = 0; user < 20; user++) {
        const res = await send(proxy.port, { host: "svc.test", agent, headers: { "x-user": `user-${user}` } });
        const set = landed.get(`user-${user}`) ?? new Set<string>();
        set.add(res.body);
        landed.set(`user-${user}`, set);
      }
    }
    agent.destroy();
    for (const [user, endpoints] of landed) expect([user, endpoints.size]).toEqual([user, 1]);
    // 20 users over 3 endpoints: all on one would have probability 3 × 3^-20.
    const used = new Set([...landed.values()].map((s) => [...s][0]));
    expect(used.size).toBeGreaterThan(1);
  });

  it("consistentHash: the same value sticks across connections and after a config push that keeps the cluster", async () => {
    const ups = [await h.upstream("e0"), await h.upstream("e1"), await h.upstream("e2")];
    const yaml = docs(serviceEntryYaml("svc.test", 80, ups), destinationRuleYaml("svc.test", "loadBalancer: { consistentHash: { httpHeaderName: x-user } }"));
    const proxy = await h.proxy(yaml);
    const first = await send(proxy.port, { host: "svc.test", headers: { "x-user": "alice" } });
    proxy.apply(yaml);
    for (let i = 0; i < 10; i++) expect((await send(proxy.port, { host: "svc.test", headers: { "x-user": "alice" } })).body).toBe(first.body);
  });

  it("LEAST_REQUEST prefers the idle endpoint while the other one is busy", async () => {
    const fast = await h.upstream("fast");
    const slow = await h.upstream("slow");
    const held: ServerResponse[] = [];
    slow.handle((_req, res) => held.push(res));
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [fast, slow]), destinationRuleYaml("svc.test", "loadBalancer: { simple: LEAST_REQUEST }")));
    const pending: Promise<ClientResponse>[] = [];
    // Park one request on `slow` (it answers nothing until released).
    for (let i = 0; i < 50 && held.length === 0; i++) {
      const p = send(proxy.port, { host: "svc.test" });
      pending.push(p);
      await Promise.race([p, new Promise((r) => setTimeout(r, 30))]);
    }
    expect(held.length).toBe(1);
    const n = 100;
    const measured: Promise<ClientResponse>[] = [];
    for (let i = 0; i < n; i++) {
      const p = send(proxy.port, { host: "svc.test" });
      measured.push(p);
      await Promise.race([p, new Promise((r) => setTimeout(r, 30))]);
    }
    slow.handle((_req, res) => res.end("slow"));
    for (const res of held.splice(0)) res.end("slow");
    await Promise.all(pending);
    // Counted by who answered (a request still on its way to `fast` when the loop ended counts too).
    const toFast = (await Promise.all(measured)).filter((response) => response.body === "fast").length;
    // Power of two choices (with replacement, as Envoy draws): the busy endpoint (whose requests are
    // held, so it only gets busier) wins only when drawn twice, p ≤ 1/4: about 75 of 100 go to
    // `fast` (σ ≈ 4.3), where round robin or random would send about 50 (σ = 5). 62 is 3σ below the
    // one and 2.4σ above the other.
    expect(toFast).toBeGreaterThanOrEqual(62);
  });
});

describe("locality-aware load balancing", () => {
  const h = useHarness();

  it("keeps traffic in the proxy's zone and fails over to the other zone when the local endpoint is ejected", async () => {
    const local = await h.upstream("local");
    const remote = await h.upstream("remote");
    const yaml = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: geo, namespace: default }
spec:
  hosts: [geo.test]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints:
    - { address: 127.0.0.1, ports: { http: ${local.port} }, locality: us-east/zone-a }
    - { address: 127.0.0.1, ports: { http: ${remote.port} }, locality: us-east/zone-b }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: geo, namespace: default }
spec:
  host: geo.test
  trafficPolicy:
    outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100 }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: geo, namespace: default }
spec:
  hosts: [geo.test]
  http: [{ route: [{ destination: { host: geo.test } }], retries: { attempts: 0 } }]
`;
    const proxy = await h.proxy(yaml, { locality: { region: "us-east", zone: "zone-a", subZone: "" } });
    for (let i = 0; i < 20; i++) expect((await send(proxy.port, { host: "geo.test" })).body).toBe("local");
    local.handle((_req, res) => {
      res.statusCode = 503;
      res.end("local down");
    });
    // The first 503 ejects the only local endpoint; then everything fails over to zone-b.
    expect((await send(proxy.port, { host: "geo.test" })).status).toBe(503);
    for (let i = 0; i < 10; i++) expect((await send(proxy.port, { host: "geo.test" })).body).toBe("remote");
  });
});
