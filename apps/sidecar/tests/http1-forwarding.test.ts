// The outbound HTTP/1.1 data path against real upstream servers: Host-based routing, explicit
// proxying (absolute-form), keep-alive reuse, pipelining order, streaming bodies both ways,
// weighted routes, header operations, rewrite, redirect, direct response and local replies; a
// peer's metadata-exchange headers are never forwarded.
import { afterEach, describe, expect, it } from "vitest";
import { defined, keepAliveAgent, rawExchange, send } from "./support/http-client.ts";
import { startOutboundProxy, type ProxyFixture } from "./support/proxy-fixture.ts";
import { serviceEntryYaml, startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

let proxy: ProxyFixture | undefined;
const upstreams: UpstreamServer[] = [];

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  for (const u of upstreams.splice(0)) await u.close();
});

async function upstream(name: string): Promise<UpstreamServer> {
  const u = await startUpstream(name);
  upstreams.push(u);
  return u;
}

/** Decodes a chunked body (sizes in hex, no extensions). */
function dechunk(body: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf("\r\n", at);
    const size = parseInt(body.slice(at, lineEnd), 16);
    if (!(size > 0)) return out;
    out += body.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

describe("outbound HTTP/1.1 forwarding", () => {
  it("routes by Host to the service's endpoint and keeps the connection alive", async () => {
    const a = await upstream("a");
    proxy = await startOutboundProxy(serviceEntryYaml("svc.test", 80, [a]));
    const agent = keepAliveAgent();
    for (let i = 0; i < 5; i++) {
      const res = await send(proxy.port, { host: "svc.test", path: `/x?i=${i}`, agent });
      expect(res.status).toBe(200);
      expect(res.body).toBe("a");
      expect(res.headers["x-envoy-upstream-service-time"]).toMatch(/^\d+$/);
    }
    agent.destroy();
    expect(a.requests.map((r) => r.url)).toEqual(["/x?i=0", "/x?i=1", "/x?i=2", "/x?i=3", "/x?i=4"]);
    expect(proxy.finished.map((f) => f.record.responseCode)).toEqual([200, 200, 200, 200, 200]);
    expect(proxy.finished[0]?.decision.type === "forward" && proxy.finished[0].decision.cluster.name).toBe("outbound|80||svc.test");
  });

  it("accepts absolute-form targets (HTTP_PROXY) and sends origin-form upstream", async () => {
    const a = await upstream("a");
    proxy = await startOutboundProxy(serviceEntryYaml("svc.test", 80, [a]));
    const response = await rawExchange(proxy.port, "GET http://svc.test/p?q=1 HTTP/1.1\r\nHost: svc.test\r\nConnection: close\r\n\r\n");
    expect(response).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(a.requests[0]?.url).toBe("/p?q=1");
    expect(a.requests[0]?.headers["connection"]).toBeUndefined();
  });

  it("never forwards a peer's metadata-exchange headers, whether the head is copied as received or rebuilt", async () => {
    const a = await upstream("a");
    proxy = await startOutboundProxy(serviceEntryYaml("svc.test", 80, [a]));
    const metadata = { "x-envoy-peer-metadata-id": "sidecar~10.0.0.1~web.default~default.svc.cluster.local", "x-envoy-peer-metadata": "CgkKBE5BTUUSARo=", "x-kept": "yes" };
    // As received (no header the proxy must change: no Connection header, kept alive until the
    // client gives up) and rebuilt (Connection names a header to drop).
    const lines = Object.entries(metadata).map(([name, value]) => `${name}: ${value}\r\n`).join("");
    expect(await rawExchange(proxy.port, `GET / HTTP/1.1\r\nhost: svc.test\r\n${lines}\r\n`, 500)).toMatch(/^HTTP\/1\.1 200 /);
    expect((await send(proxy.port, { host: "svc.test", headers: { ...metadata, connection: "x-kept" } })).status).toBe(200);
    expect(a.requests.length).toBe(2);
    for (const request of a.requests) {
      expect(request.headers["x-envoy-peer-metadata"]).toBeUndefined();
      expect(request.headers["x-envoy-peer-metadata-id"]).toBeUndefined();
      expect(request.headers["host"]).toBe("svc.test");
    }
    expect(a.requests[0]?.headers["x-kept"]).toBe("yes");
  });

  it("answers pipelined requests in order", async () => {
    const a = await upstream("a");
    a.handle((req, res) => {
      const delay = req.url === "/slow" ? 50 : 0;
      setTimeout(() => res.end(req.url), delay);
    });
    proxy = await startOutboundProxy(serviceEntryYaml("svc.test", 80, [a]));
    const request = (path: string, close = false) => `GET ${path} HTTP/1.1\r\nHost: svc.test\r\n${close ? "Connection: close\r\n" : ""}\r\n`;
    const response = await rawExchange(proxy.port, request("/slow") + request("/fast") + request("/last", true));
    const bodies = [...response.matchAll(/\r\n\r\n(\/[a-z]+)/g)].map((m) => m[1]);
    expect(bodies).toEqual(["/slow", "/fast", "/last"]);
  });

  it("streams request and response bodies (content-length and chunked) unchanged", async () => {
    const a = await upstream("a");
    a.handle((_req, res, body) => {
      res.setHeader("content-type", "application/octet-stream");
      res.write(body.slice(0, 10));
      setTimeout(() => res.end(body.slice(10)), 10);
    });
    proxy = await startOutboundProxy(serviceEntryYaml("svc.test", 80, [a]));
    const big = "x".repeat(300_000) + "end";
    const res = await send(proxy.port, { method: "POST", host: "svc.test", body: big });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(big.length);
    expect(res.body.endsWith("end")).toBe(true);
    const chunked = await rawExchange(
      proxy.port,
      "POST /c HTTP/1.1\r\nHost: svc.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    );
    expect(chunked).toMatch(/transfer-encoding: chunked/i);
    expect(dechunk(chunked.slice(chunked.indexOf("\r\n\r\n") + 4))).toBe("hello world");
    expect(a.requests[1]?.body).toBe("hello world");
  });

  it("splits traffic by route weights (chi-square, not exact counts)", async () => {
    const v1 = await upstream("v1");
    const v2 = await upstream("v2");
    proxy = await startOutboundProxy(`${serviceEntryYaml("reviews.test", 80, [v1, v2])}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews.test
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.test]
  http:
    - route:
        - { destination: { host: reviews.test, subset: v1 }, weight: 75 }
        - { destination: { host: reviews.test, subset: v2 }, weight: 25 }
`);
    const agent = keepAliveAgent();
    const counts: Record<string, number> = { v1: 0, v2: 0 };
    const n = 800;
    for (let i = 0; i < n; i++) {
      const res = await send(proxy.port, { host: "reviews.test", agent });
      counts[res.body] = (counts[res.body] ?? 0) + 1;
    }
    agent.destroy();
    const expected = { v1: n * 0.75, v2: n * 0.25 };
    const chiSquare = ((defined(counts["v1"], "v1") - expected.v1) ** 2) / expected.v1 + ((defined(counts["v2"], "v2") - expected.v2) ** 2) / expected.v2;
    expect(chiSquare).toBeLessThan(10.83); // p = 0.001, 1 degree of freedom
  }, 30_000);

  it("applies header operations, rewrite, redirect and direct response", async () => {
    const a = await upstream("a");
    proxy = await startOutboundProxy(`${serviceEntryYaml("svc.test", 80, [a])}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc.test]
  http:
    - match: [{ uri: { prefix: /old } }]
      redirect: { uri: /new, authority: other.test }
    - match: [{ uri: { exact: /hello } }]
      directResponse: { status: 418, body: { string: "teapot" } }
    - match: [{ uri: { prefix: /api/ } }]
      rewrite: { uri: /v2/ }
      headers:
        request: { set: { x-set: "1" }, add: { x-added: "yes" }, remove: [x-secret] }
        response: { set: { x-resp: "r" }, remove: [x-powered] }
      route: [{ destination: { host: svc.test } }]
`);
    a.handle((_req, res) => {
      res.setHeader("x-powered", "node");
      res.end("ok");
    });
    const redirected = await send(proxy.port, { host: "svc.test", path: "/old/page" });
    expect(redirected.status).toBe(301);
    expect(redirected.headers.location).toBe("http://other.test/new");
    const direct = await send(proxy.port, { host: "svc.test", path: "/hello" });
    expect([direct.status, direct.body]).toEqual([418, "teapot"]);
    const api = await send(proxy.port, { host: "svc.test", path: "/api/items?x=1", headers: { "x-secret": "s", "x-set": "0" } });
    expect(api.status).toBe(200);
    expect(api.headers["x-resp"]).toBe("r");
    expect(api.headers["x-powered"]).toBeUndefined();
    const seen = defined(a.requests[0], "the first request");
    expect(seen.url).toBe("/v2/items?x=1");
    expect(seen.headers["x-set"]).toBe("1");
    expect(seen.headers["x-added"]).toBe("yes");
    expect(seen.headers["x-secret"]).toBeUndefined();
  });

  it("mirrors requests fire-and-forget to the -shadow host, and the caller only sees the primary's answer", async () => {
    const primary = await upstream("primary");
    const shadow = await upstream("shadow");
    shadow.handle((_req, res) => {
      res.statusCode = 500;
      res.end("shadow failed");
    });
    proxy = await startOutboundProxy(`${serviceEntryYaml("svc.test", 80, [primary])}
---
${serviceEntryYaml("mirror.test", 80, [shadow])}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc.test]
  http:
    - route: [{ destination: { host: svc.test } }]
      mirror: { host: mirror.test }
      mirrorPercentage: { value: 100 }
`);
    const res = await send(proxy.port, { method: "POST", host: "svc.test", path: "/m", body: "payload" });
    expect([res.status, res.body]).toEqual([200, "primary"]);
    for (let i = 0; i < 50 && shadow.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const copy = defined(shadow.requests[0], "the mirrored request");
    expect([copy.method, copy.url, copy.headers.host, copy.body]).toEqual(["POST", "/m", "svc.test-shadow", "payload"]);
  });

  it("answers CORS preflights from allowed origins and adds CORS headers to actual responses", async () => {
    const a = await upstream("a");
    proxy = await startOutboundProxy(`${serviceEntryYaml("svc.test", 80, [a])}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc.test]
  http:
    - route: [{ destination: { host: svc.test } }]
      corsPolicy:
        allowOrigins: [{ exact: "https://app.example.com" }]
        allowMethods: [GET, POST]
        maxAge: 1h
`);
    const preflight = await send(proxy.port, { method: "OPTIONS", host: "svc.test", headers: { origin: "https://app.example.com", "access-control-request-method": "POST" } });
    expect(preflight.status).toBe(200);
    expect(preflight.headers["access-control-allow-methods"]).toBe("GET,POST");
    expect(preflight.headers["access-control-max-age"]).toBe("3600");
    expect(a.requests).toHaveLength(0);
    const actual = await send(proxy.port, { host: "svc.test", headers: { origin: "https://app.example.com" } });
    expect(actual.headers["access-control-allow-origin"]).toBe("https://app.example.com");
    const other = await send(proxy.port, { host: "svc.test", headers: { origin: "https://evil.example" } });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("answers 404 NR when no route matches and 503 UF/URX when the endpoint refuses connections", async () => {
    const a = await upstream("a");
    const port = a.port;
    await a.close();
    upstreams.pop();
    proxy = await startOutboundProxy(`${serviceEntryYaml("svc.test", 80, [{ ...a, port }])}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc.test]
  http:
    - match: [{ uri: { prefix: /only } }]
      route: [{ destination: { host: svc.test } }]
`);
    const notFound = await send(proxy.port, { host: "svc.test", path: "/else" });
    expect(notFound.status).toBe(404);
    expect(proxy.finished.at(-1)?.record.responseFlags).toBe("NR");
    const refused = await send(proxy.port, { host: "svc.test", path: "/only" });
    expect(refused.status).toBe(503);
    expect(refused.body).toContain("connection failure");
    // Istio's default retry policy retries connect failures twice before giving up.
    expect(proxy.finished.at(-1)?.record.attempts).toBe(3);
    expect(proxy.finished.at(-1)?.record.responseFlags.split(",").sort()).toEqual(["UF", "URX"]);
  });
});
