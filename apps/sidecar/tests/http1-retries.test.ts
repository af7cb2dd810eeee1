// Istio retry and timeout semantics on the HTTP/1.1 data path against real upstreams:
// VirtualService retries (attempts, retryOn 5xx / gateway-error / status codes), Istio's default
// policy, perTryTimeout, route timeout, the x-envoy-upstream-rq-timeout-ms override, body replay.
import { describe, expect, it } from "vitest";
import { flagsOf, lastRecord, useHarness } from "./support/harness.ts";
import { rawExchange, send } from "./support/http-client.ts";
import { destinationRuleYaml, docs, routeYaml } from "./support/mesh-yaml.ts";
import { serviceEntryYaml, type UpstreamServer } from "./support/upstream-server.ts";

const h = useHarness();

/** Answers `statuses[i]` to the i-th request, then 200 with the upstream's name. */
function failFirst(u: UpstreamServer, statuses: readonly number[]): void {
  let seen = 0;
  u.handle((_req, res) => {
    const status = statuses[seen++];
    if (status === undefined) {
      res.end(u.name);
      return;
    }
    res.statusCode = status;
    res.end(`failure ${seen}`);
  });
}

describe("retries", () => {
  it("attempts 3, retryOn 5xx: two 500s then 200 → 200 after 3 tries", async () => {
    const a = await h.upstream("a");
    failFirst(a, [500, 500]);
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "retries: { attempts: 3, retryOn: 5xx }")));
    const res = await send(proxy.port, { host: "svc.test" });
    expect([res.status, res.body]).toEqual([200, "a"]);
    expect(a.requests).toHaveLength(3);
    expect(lastRecord(proxy)).toMatchObject({ attempts: 3, responseCode: 200, responseFlags: "" });
  });

  it("attempts 3 means 3 retries: four 503s exhaust them, the last 503 is returned with URX", async () => {
    const a = await h.upstream("a");
    failFirst(a, [503, 503, 503, 503, 503]);
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "retries: { attempts: 3, retryOn: 5xx }")));
    const res = await send(proxy.port, { host: "svc.test" });
    expect([res.status, res.body]).toEqual([503, "failure 4"]);
    expect(a.requests).toHaveLength(4);
    expect(lastRecord(proxy).attempts).toBe(4);
    expect(flagsOf(lastRecord(proxy))).toEqual(["URX"]);
  });

  it("x-envoy-retry-on and x-envoy-max-retries override the route's policy and are not forwarded", async () => {
    const a = await h.upstream("a");
    failFirst(a, [500, 500]);
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "retries: { attempts: 0 }")));
    const res = await send(proxy.port, { host: "svc.test", headers: { "x-envoy-retry-on": "5xx", "x-envoy-max-retries": "2" } });
    expect([res.status, res.body]).toEqual([200, "a"]);
    expect(a.requests).toHaveLength(3);
    expect(a.requests[0]?.headers["x-envoy-retry-on"]).toBeUndefined();
    expect(a.requests[0]?.headers["x-envoy-max-retries"]).toBeUndefined();
  });

  it("retryOn gateway-error retries 502/503/504 but not 500", async () => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "retries: { attempts: 3, retryOn: gateway-error }")));
    failFirst(a, [500]);
    const plain = await send(proxy.port, { host: "svc.test" });
    expect([plain.status, plain.body]).toEqual([500, "failure 1"]);
    expect(a.requests).toHaveLength(1);
    expect(lastRecord(proxy)).toMatchObject({ attempts: 1, responseFlags: "" });

    failFirst(a, [502, 503, 504]);
    const gateway = await send(proxy.port, { host: "svc.test" });
    expect([gateway.status, gateway.body]).toEqual([200, "a"]);
    expect(a.requests).toHaveLength(5);
    expect(lastRecord(proxy).attempts).toBe(4);
  });

  it("a non-retriable 500 after a retried 502 is returned as is, without URX (the retry limit was not reached)", async () => {
    const a = await h.upstream("a");
    failFirst(a, [502, 500]);
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "retries: { attempts: 3, retryOn: gateway-error }")));
    const res = await send(proxy.port, { host: "svc.test" });
    expect([res.status, res.body]).toEqual([500, "failure 2"]);
    expect(lastRecord(proxy).attempts).toBe(2);
    expect(flagsOf(lastRecord(proxy))).toEqual([]);
  });

  it("numeric retryOn tokens are retriable status codes (409 retried, 500 not)", async () => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", 'retries: { attempts: 2, retryOn: "409,503" }')));
    failFirst(a, [409]);
    const conflict = await send(proxy.port, { host: "svc.test" });
    expect([conflict.status, conflict.body]).toEqual([200, "a"]);
    expect(lastRecord(proxy).attempts).toBe(2);

    failFirst(a, [500]);
    const error = await send(proxy.port, { host: "svc.test" });
    expect(error.status).toBe(500);
    expect(lastRecord(proxy).attempts).toBe(1);
  });

  it("Istio's default policy (no retries block) retries a 503 twice", async () => {
    const a = await h.upstream("a");
    a.handle((_req, res) => {
      res.statusCode = 503;
      res.end("unavailable");
    });
    // No VirtualService: the default route Istio builds for a ServiceEntry.
    const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [a]));
    const res = await send(proxy.port, { host: "svc.test" });
    expect([res.status, res.body]).toEqual([503, "unavailable"]);
    expect(a.requests).toHaveLength(3);
    expect(lastRecord(proxy).attempts).toBe(3);
    expect(flagsOf(lastRecord(proxy))).toEqual(["URX"]);
  });

  it("Istio's default policy on a VirtualService route without retries: 503 retried twice, 500 not retried", async () => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test")));
    failFirst(a, [503, 503]);
    const res = await send(proxy.port, { host: "svc.test" });
    expect([res.status, res.body]).toEqual([200, "a"]);
    expect(lastRecord(proxy).attempts).toBe(3);
    failFirst(a, [500]);
    const plain = await send(proxy.port, { host: "svc.test" });
    expect(plain.status).toBe(500);
    expect(lastRecord(proxy).attempts).toBe(1);
  });

  it("attempts 0 disables retries", async () => {
    const a = await h.upstream("a");
    failFirst(a, [503]);
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "retries: { attempts: 0 }")));
    const res = await send(proxy.port, { host: "svc.test" });
    expect(res.status).toBe(503);
    expect(a.requests).toHaveLength(1);
  });

  it("replays a POST body (content-length) on every try", async () => {
    const a = await h.upstream("a");
    failFirst(a, [503, 503]);
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "retries: { attempts: 3, retryOn: 5xx }")));
    const body = `payload-${"x".repeat(20_000)}-end`;
    const res = await send(proxy.port, { host: "svc.test", method: "POST", body, headers: { "content-type": "text/plain" } });
    expect(res.status).toBe(200);
    expect(a.requests.map((r) => [r.method, r.body.length, r.body === body])).toEqual([
      ["POST", body.length, true],
      ["POST", body.length, true],
      ["POST", body.length, true],
    ]);
  });

  it("a body over the 64 KiB retry buffer is sent once, whole, and the 503 returned (no truncated replay)", async () => {
    const a = await h.upstream("a");
    failFirst(a, [503]);
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "retries: { attempts: 2, retryOn: 5xx }")));
    const body = "y".repeat(100 * 1024);
    const res = await send(proxy.port, { host: "svc.test", method: "POST", body });
    expect(res.status).toBe(503);
    expect(a.requests.map((r) => r.body.length)).toEqual([body.length]);
  });

  it("replays a chunked POST body on a retry", async () => {
    const a = await h.upstream("a");
    failFirst(a, [503]);
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "retries: { attempts: 2, retryOn: 5xx }")));
    const response = await rawExchange(
      proxy.port,
      "POST /c HTTP/1.1\r\nHost: svc.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    );
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(a.requests.map((r) => r.body)).toEqual(["hello world", "hello world"]);
  });

  it("retries on another endpoint when there is one (retry_host_predicate previous_hosts, ROUND_ROBIN)", async () => {
    const bad = await h.upstream("bad");
    const good = await h.upstream("good");
    bad.handle((_req, res) => {
      res.statusCode = 503;
      res.end("bad");
    });
    const proxy = await h.proxy(
      docs(
        serviceEntryYaml("svc.test", 80, [bad, good]),
        routeYaml("svc.test", "retries: { attempts: 1, retryOn: 5xx }"),
        destinationRuleYaml("svc.test", "loadBalancer: { simple: ROUND_ROBIN }"),
      ),
    );
    for (let i = 0; i < 20; i++) {
      const res = await send(proxy.port, { host: "svc.test" });
      expect(res.body).toBe("good");
    }
    expect(bad.requests.length).toBeGreaterThan(0);
  });
});

describe("retries over several endpoints", () => {
  it("Istio's default policy retries a refused connection on another endpoint; outlier detection then ejects the dead one", async () => {
    const good = await h.upstream("good");
    const dead = await h.upstream("dead");
    const deadPort = dead.port;
    await dead.close();
    const proxy = await h.proxy(
      docs(
        serviceEntryYaml("svc.test", 80, [good, { ...dead, port: deadPort }]),
        destinationRuleYaml("svc.test", "loadBalancer: { simple: ROUND_ROBIN }\noutlierDetection: { consecutive5xxErrors: 2, interval: 10s, baseEjectionTime: 60s, maxEjectionPercent: 100 }"),
      ),
    );
    for (let i = 0; i < 20; i++) expect((await send(proxy.port, { host: "svc.test" })).body).toBe("good");
    // Connect failures count as 5xx for consecutive5xxErrors: after two, the dead endpoint is out.
    expect(proxy.finished.slice(-10).map((f) => f.record.attempts)).toEqual(Array(10).fill(1));
  });
});

describe("timeouts", () => {
  it("perTryTimeout: a slow upstream is retried, then 504 UT", async () => {
    const a = await h.upstream("a");
    a.handle((_req, res) => setTimeout(() => res.end("late"), 2000));
    const proxy = await h.proxy(
      docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "retries: { attempts: 2, retryOn: 5xx, perTryTimeout: 100ms }")),
    );
    const res = await send(proxy.port, { host: "svc.test" });
    expect([res.status, res.body]).toEqual([504, "upstream request timeout"]);
    expect(a.requests).toHaveLength(3);
    expect(lastRecord(proxy).attempts).toBe(3);
    expect(flagsOf(lastRecord(proxy))).toContain("UT");
  });

  it("perTryTimeout: a try that times out is retried and a fast second try wins", async () => {
    const a = await h.upstream("a");
    let n = 0;
    a.handle((_req, res) => {
      n += 1;
      if (n === 1) setTimeout(() => res.end("late"), 2000);
      else res.end("fast");
    });
    const proxy = await h.proxy(
      docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "retries: { attempts: 2, retryOn: 5xx, perTryTimeout: 100ms }")),
    );
    const res = await send(proxy.port, { host: "svc.test" });
    expect([res.status, res.body]).toEqual([200, "fast"]);
    expect(lastRecord(proxy)).toMatchObject({ attempts: 2, responseFlags: "" });
  });

  it("the route timeout bounds all tries together", async () => {
    const a = await h.upstream("a");
    a.handle((_req, res) => setTimeout(() => res.end("late"), 2000));
    const proxy = await h.proxy(
      docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "timeout: 250ms\nretries: { attempts: 10, retryOn: 5xx, perTryTimeout: 100ms }")),
    );
    const res = await send(proxy.port, { host: "svc.test" });
    expect([res.status, res.body]).toEqual([504, "upstream request timeout"]);
    expect(flagsOf(lastRecord(proxy))).toContain("UT");
    expect(lastRecord(proxy).attempts).toBeGreaterThanOrEqual(2);
    expect(lastRecord(proxy).attempts).toBeLessThanOrEqual(3);
  });

  it("route timeout → 504 UT `upstream request timeout`", async () => {
    const a = await h.upstream("a");
    a.handle((_req, res) => setTimeout(() => res.end("late"), 3000));
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "timeout: 200ms")));
    const res = await send(proxy.port, { host: "svc.test" });
    expect([res.status, res.body]).toEqual([504, "upstream request timeout"]);
    expect(flagsOf(lastRecord(proxy))).toEqual(["UT"]);
    expect(a.requests).toHaveLength(1);
  });

  it("x-envoy-upstream-rq-timeout-ms overrides the route timeout", async () => {
    const a = await h.upstream("a");
    a.handle((req, res) => setTimeout(() => res.end("late"), req.url === "/slow" ? 3000 : 0));
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "timeout: 30s")));
    const res = await send(proxy.port, { host: "svc.test", path: "/slow", headers: { "x-envoy-upstream-rq-timeout-ms": "150" } });
    expect([res.status, res.body]).toEqual([504, "upstream request timeout"]);
    expect(flagsOf(lastRecord(proxy))).toEqual(["UT"]);
    // The upstream is told how long it has.
    expect(a.requests[0]?.headers["x-envoy-expected-rq-timeout-ms"]).toBe("150");
  });

  it("x-envoy-upstream-rq-timeout-ms is consumed by the proxy, not forwarded", async () => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test")));
    const res = await send(proxy.port, { host: "svc.test", headers: { "x-envoy-upstream-rq-timeout-ms": "5000" } });
    expect(res.status).toBe(200);
    expect(a.requests[0]?.headers["x-envoy-upstream-rq-timeout-ms"]).toBeUndefined();
    expect(a.requests[0]?.headers["x-envoy-expected-rq-timeout-ms"]).toBe("5000");
  });

  it("x-envoy-upstream-rq-timeout-ms sets a timeout on a route that has none", async () => {
    const a = await h.upstream("a");
    a.handle((_req, res) => setTimeout(() => res.end("late"), 3000));
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test")));
    const res = await send(proxy.port, { host: "svc.test", headers: { "x-envoy-upstream-rq-timeout-ms": "150" } });
    expect(res.status).toBe(504);
    expect(flagsOf(lastRecord(proxy))).toEqual(["UT"]);
  });

  it("the connection stays usable after a local 504", async () => {
    const a = await h.upstream("a");
    a.handle((req, res) => setTimeout(() => res.end(req.url), req.url === "/slow" ? 2000 : 0));
    const proxy = await h.proxy(docs(serviceEntryYaml("svc.test", 80, [a]), routeYaml("svc.test", "timeout: 150ms")));
    const req = (path: string, close = false) => `GET ${path} HTTP/1.1\r\nHost: svc.test\r\n${close ? "Connection: close\r\n" : ""}\r\n`;
    const response = await rawExchange(proxy.port, req("/slow") + req("/fast", true), 4000);
    expect(response).toMatch(/^HTTP\/1\.1 504 /);
    expect(response).toMatch(/HTTP\/1\.1 200 OK[\s\S]*\/fast$/);
  });
});
