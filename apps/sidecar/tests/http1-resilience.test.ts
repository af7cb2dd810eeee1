// Istio resilience semantics on the HTTP/1.1 data path against real upstreams: outlier detection
// (ejection and return), circuit breaking (connectionPool limits → 503 UO), fault injection
// (abort, delay, percentages).
import { describe, expect, it } from "vitest";
import { eventually, flagsOf, lastCluster, lastRecord, useHarness } from "./support/harness.ts";
import { keepAliveAgent, send, type ClientResponse } from "./support/http-client.ts";
import { destinationRuleYaml, docs, routeYaml } from "./support/mesh-yaml.ts";
import { serviceEntryYaml } from "./support/upstream-server.ts";

const h = useHarness();

describe("outlier detection", () => {
  const outlierPolicy = `outlierDetection: { consecutive5xxErrors: 2, interval: 1s, baseEjectionTime: 2s, maxEjectionPercent: 100 }
loadBalancer: { simple: ROUND_ROBIN }`;

  it("ejects an endpoint after consecutive 5xx, then sends everything to the healthy one", async () => {
    const good = await h.upstream("good");
    const bad = await h.upstream("bad");
    bad.handle((_req, res) => {
      res.statusCode = 500;
      res.end("bad");
    });
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [good, bad]), destinationRuleYaml("svc.test", outlierPolicy)));
    const agent = keepAliveAgent();
    // Round robin alternates until the second consecutive 500 ejects `bad`.
    for (let i = 0; i < 10 && bad.requests.length < 2; i++) await send(proxy.port, { host: "svc.test", agent });
    expect(bad.requests).toHaveLength(2);
    const after: string[] = [];
    for (let i = 0; i < 20; i++) after.push((await send(proxy.port, { host: "svc.test", agent })).body);
    agent.destroy();
    expect(after).toEqual(Array(20).fill("good"));
    expect(lastCluster(proxy).stats.ejections).toBe(1);
  });

  it("returns the ejected endpoint to balancing after baseEjectionTime", async () => {
    const good = await h.upstream("good");
    const flaky = await h.upstream("flaky");
    let failing = true;
    flaky.handle((_req, res) => {
      res.statusCode = failing ? 500 : 200;
      res.end("flaky");
    });
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [good, flaky]), destinationRuleYaml("svc.test", outlierPolicy)));
    for (let i = 0; i < 10 && flaky.requests.length < 2; i++) await send(proxy.port, { host: "svc.test" });
    expect(flaky.requests).toHaveLength(2);
    failing = false;
    const ejectedSeen = flaky.requests.length;
    // Envoy un-ejects on the interval timer once baseEjectionTime (2 s) has passed, with or without traffic.
    await eventually(
      "the ejected endpoint gets requests again",
      async () => {
        await send(proxy.port, { host: "svc.test" });
        return flaky.requests.length > ejectedSeen;
      },
      8000,
      100,
    );
  }, 15_000);

  it("never ejects more than maxEjectionPercent of the endpoints", async () => {
    const a = await h.upstream("a");
    const b = await h.upstream("b");
    for (const u of [a, b]) {
      u.handle((_req, res) => {
        res.statusCode = 500;
        res.end(u.name);
      });
    }
    const policy = `outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 50 }
loadBalancer: { simple: ROUND_ROBIN }`;
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a, b]), routeYaml("svc.test", "retries: { attempts: 0 }"), destinationRuleYaml("svc.test", policy)));
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await send(proxy.port, { host: "svc.test" })).status);
    // One endpoint is ejected (50 %), the other keeps serving (no 503 UH).
    expect(statuses).toEqual(Array(10).fill(500));
    expect(a.requests.length + b.requests.length).toBe(10);
    expect(Math.min(a.requests.length, b.requests.length)).toBe(1);
  });
});

describe("circuit breaking", () => {
  it("maxConnections 1 + http1MaxPendingRequests 1: concurrent requests overflow with 503 UO and x-envoy-overloaded", async () => {
    const slow = await h.upstream("slow");
    slow.handle((_req, res) => setTimeout(() => res.end("slow"), 400));
    const policy = "connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 } }";
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [slow]), destinationRuleYaml("svc.test", policy)));
    const results: ClientResponse[] = await Promise.all(Array.from({ length: 10 }, () => send(proxy.port, { host: "svc.test" })));
    const ok = results.filter((r) => r.status === 200);
    const overflowed = results.filter((r) => r.status === 503);
    expect(ok.length + overflowed.length).toBe(10);
    // Istio's circuit-breaking task: with one connection and one pending request, most of a burst
    // is refused; at most the active one and the queued one get through while the upstream is slow.
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(ok.length).toBeLessThanOrEqual(2);
    for (const r of overflowed) {
      expect(r.headers["x-envoy-overloaded"]).toBe("true");
      expect(r.body).toBe("upstream connect error or disconnect/reset before headers. reset reason: overflow");
    }
    const records = proxy.finished.map((f) => f.record).filter((r) => r.responseCode === 503);
    expect(records).toHaveLength(overflowed.length);
    for (const r of records) expect(flagsOf(r)).toEqual(["UO"]);
    // The upstream never saw more than one connection's worth of requests at a time.
    expect(slow.requests.length).toBe(ok.length);
  });

  it("recovers once the burst is over: the breaker counts are released", async () => {
    const slow = await h.upstream("slow");
    slow.handle((_req, res) => setTimeout(() => res.end("slow"), 200));
    const policy = "connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } }";
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [slow]), destinationRuleYaml("svc.test", policy)));
    await Promise.all(Array.from({ length: 10 }, () => send(proxy.port, { host: "svc.test" })));
    const agent = keepAliveAgent();
    for (let i = 0; i < 5; i++) expect((await send(proxy.port, { host: "svc.test", agent })).status).toBe(200);
    agent.destroy();
    const breaker = lastCluster(proxy).breaker;
    expect(breaker.inUse("requests")).toBe(0);
    expect(breaker.inUse("pending-requests")).toBe(0);
    expect(breaker.inUse("connections")).toBeLessThanOrEqual(1);
  });

  it("maxRequestsPerConnection 2: each upstream connection carries two requests, then a new one is opened", async () => {
    const a = await h.upstream("a");
    const ports: number[] = [];
    a.handle((req, res) => {
      ports.push(req.socket.remotePort ?? 0);
      res.end("a");
    });
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), destinationRuleYaml("svc.test", "connectionPool: { http: { maxRequestsPerConnection: 2 } }")));
    const agent = keepAliveAgent();
    for (let i = 0; i < 6; i++) expect((await send(proxy.port, { host: "svc.test", agent })).status).toBe(200);
    agent.destroy();
    expect(new Set(ports).size).toBe(3);
    expect([ports[0] === ports[1], ports[2] === ports[3], ports[4] === ports[5], ports[1] === ports[2], ports[3] === ports[4]]).toEqual([true, true, true, false, false]);
  });

  it("http2MaxRequests bounds requests in flight on HTTP/1.1 too (Envoy max_requests)", async () => {
    const slow = await h.upstream("slow");
    slow.handle((_req, res) => setTimeout(() => res.end("slow"), 300));
    const policy = "connectionPool: { http: { http2MaxRequests: 2 } }";
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [slow]), destinationRuleYaml("svc.test", policy)));
    const results = await Promise.all(Array.from({ length: 6 }, () => send(proxy.port, { host: "svc.test" })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(2);
    expect(results.filter((r) => r.status === 503 && r.headers["x-envoy-overloaded"] === "true")).toHaveLength(4);
  });
});

describe("circuit breaking with timeouts", () => {
  // maxConnections 1: request A holds the only connection for 800 ms; B queues (the one pending
  // slot) and hits the 150 ms route timeout. Envoy removes a timed-out request from the pending
  // queue at once, so C, sent after B's 504, queues too (and times out: UT, not overflow UO).
  it("a queued request that times out gives its pending slot back at once", async () => {
    const slow = await h.upstream("slow");
    slow.handle((_req, res) => setTimeout(() => res.end("slow"), 800));
    const policy = "connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } }";
    const proxy = await h.proxy(
      docs(serviceEntryYaml("svc.test", 80, [slow]), routeYaml("svc.test", "timeout: 150ms\nretries: { attempts: 0 }"), destinationRuleYaml("svc.test", policy)),
    );
    const a = send(proxy.port, { host: "svc.test", headers: { "x-envoy-upstream-rq-timeout-ms": "0" } });
    await eventually("A reached the upstream", () => slow.requests.length === 1);
    const b = await send(proxy.port, { host: "svc.test" });
    expect(b.status).toBe(504);
    expect(flagsOf(lastRecord(proxy))).toEqual(["UT"]);
    const c = await send(proxy.port, { host: "svc.test" });
    expect(c.status).toBe(504);
    expect(flagsOf(lastRecord(proxy))).toEqual(["UT"]);
    expect((await a).status).toBe(200);
  });

  it("in-flight counts return to zero after queued requests time out (LEAST_REQUEST reads them)", async () => {
    const slow = await h.upstream("slow");
    slow.handle((_req, res) => setTimeout(() => res.end("slow"), 500));
    const policy = "connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 10 } }";
    const proxy = await h.proxy(
      docs(serviceEntryYaml("svc.test", 80, [slow]), routeYaml("svc.test", "timeout: 150ms\nretries: { attempts: 0 }"), destinationRuleYaml("svc.test", policy)),
    );
    const results = await Promise.all(Array.from({ length: 4 }, () => send(proxy.port, { host: "svc.test" })));
    expect(results.map((r) => r.status)).toEqual([504, 504, 504, 504]);
    const cluster = lastCluster(proxy);
    await eventually("the upstream answered the request it got", () => cluster.breaker.inUse("pending-requests") === 0, 3000);
    expect(cluster.endpoints.map((e) => e.active)).toEqual([0]);
    expect(cluster.breaker.inUse("requests")).toBe(0);
  });
});

describe("fault injection", () => {
  it("abort 100% httpStatus 500 → 500 FI `fault filter abort`, upstream untouched", async () => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(
      docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "fault: { abort: { httpStatus: 500, percentage: { value: 100 } } }")),
    );
    const res = await send(proxy.port, { host: "svc.test" });
    expect([res.status, res.body]).toEqual([500, "fault filter abort"]);
    expect(flagsOf(lastRecord(proxy))).toEqual(["FI"]);
    expect(a.requests).toHaveLength(0);
  });

  it("delay 100% fixedDelay 200ms → DI, the response comes after the delay", async () => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(
      docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "fault: { delay: { fixedDelay: 200ms, percentage: { value: 100 } } }")),
    );
    const started = performance.now();
    const res = await send(proxy.port, { host: "svc.test" });
    const elapsed = performance.now() - started;
    expect([res.status, res.body]).toEqual([200, "a"]);
    expect(flagsOf(lastRecord(proxy))).toEqual(["DI"]);
    expect(elapsed).toBeGreaterThanOrEqual(195);
  });

  it("the route timeout does not include the injected delay (Envoy's router starts it after the fault filter)", async () => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(
      docs(
        serviceEntryYaml("svc.test", 80, [a]),
        routeYaml("svc.test", "timeout: 200ms\nfault: { delay: { fixedDelay: 400ms, percentage: { value: 100 } } }"),
      ),
    );
    const res = await send(proxy.port, { host: "svc.test" });
    expect([res.status, res.body]).toEqual([200, "a"]);
    expect(flagsOf(lastRecord(proxy))).toEqual(["DI"]);
  });

  it("delay and abort together: delayed, then aborted (DI and FI)", async () => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(
      docs(
        serviceEntryYaml("svc.test", 80, [a]),
        routeYaml("svc.test", "fault: { delay: { fixedDelay: 50ms, percentage: { value: 100 } }, abort: { httpStatus: 503, percentage: { value: 100 } } }"),
      ),
    );
    const res = await send(proxy.port, { host: "svc.test" });
    expect(res.status).toBe(503);
    expect(flagsOf(lastRecord(proxy))).toEqual(["DI", "FI"]);
  });

  it("abort percentage 50 aborts about half the requests (binomial bound)", async () => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(
      docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "fault: { abort: { httpStatus: 418, percentage: { value: 50 } } }")),
    );
    const agent = keepAliveAgent();
    const n = 400;
    let aborted = 0;
    for (let i = 0; i < n; i++) if ((await send(proxy.port, { host: "svc.test", agent })).status === 418) aborted += 1;
    agent.destroy();
    // Binomial(400, 0.5): mean 200, sd 10; ±5 sd.
    expect(aborted).toBeGreaterThan(150);
    expect(aborted).toBeLessThan(250);
    expect(a.requests).toHaveLength(n - aborted);
  });

  it("a fault aborts only the matching route", async () => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(
      docs(
        serviceEntryYaml("svc.test", 80, [a]),
        `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc.test]
  http:
    - match: [{ headers: { end-user: { exact: jason } } }]
      fault: { abort: { httpStatus: 500, percentage: { value: 100 } } }
      route: [{ destination: { host: svc.test } }]
    - route: [{ destination: { host: svc.test } }]
`,
      ),
    );
    expect((await send(proxy.port, { host: "svc.test", headers: { "end-user": "jason" } })).status).toBe(500);
    expect((await send(proxy.port, { host: "svc.test", headers: { "end-user": "other" } })).status).toBe(200);
  });
});
