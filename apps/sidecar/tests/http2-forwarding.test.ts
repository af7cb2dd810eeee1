// The sidecar's HTTP/2 path against real upstreams: h2c prior knowledge downstream, HTTP/2 or
// HTTP/1.1 upstream by the cluster's protocol, trailers, streaming bodies, many concurrent
// streams on one connection, per-try timeouts with retries, refused streams.
import { connect, constants } from "node:http2";
import { describe, expect, it } from "vitest";
import { h2Connect, h2Request } from "./support/h2-client.ts";
import { useH2Harness } from "./support/h2-harness.ts";
import { startHttp2Proxy } from "./support/h2-proxy-fixture.ts";
import { testCertificatePem } from "./support/h2-test-certificate.ts";
import { h2ServiceEntryYaml, startH2Upstream } from "./support/h2-upstream-server.ts";

const h = useH2Harness();

describe("HTTP/2 downstream (h2c prior knowledge)", () => {
  it("forwards to an HTTP/2 upstream with headers, body and trailers", async () => {
    const a = await h.h2Upstream("a");
    h.proxy = await startHttp2Proxy(h2ServiceEntryYaml("svc.test", 80, [a.port], "HTTP2"));
    h.client = h2Connect(h.proxy.port);
    const res = await h2Request(h.client, { ":path": "/x?q=1", ":authority": "svc.test", "x-custom": "1" });
    expect(res.status).toBe(200);
    expect(res.body).toBe("a");
    expect(res.trailers["x-upstream"]).toBe("a");
    expect(res.headers["x-envoy-upstream-service-time"]).toMatch(/^\d+$/);
    const seen = a.requests[0]?.headers;
    expect(seen?.[":path"]).toBe("/x?q=1");
    expect(seen?.[":authority"]).toBe("svc.test");
    expect(seen?.["x-custom"]).toBe("1");
    expect(seen?.["x-request-id"]).toBe("test-id");
    const record = h.proxy.records()[0];
    expect(record).toMatchObject({ protocol: "HTTP/2", responseCode: 200, responseFlags: "", attempts: 1, grpcStatus: undefined });
    expect(h.proxy.finished[0]?.decision.type === "forward" && h.proxy.finished[0].decision.cluster.name).toBe("outbound|80||svc.test");
  });

  it("forwards to an HTTP/1.1 upstream when the cluster does not speak HTTP/2", async () => {
    const a = await h.h1Upstream("a");
    a.handle((req, res, body) => {
      res.setHeader("x-method", req.method ?? "");
      res.end(`${req.headers.host} ${body}`);
    });
    h.proxy = await startHttp2Proxy(h2ServiceEntryYaml("svc.test", 80, [a.port], "HTTP"));
    h.client = h2Connect(h.proxy.port);
    const res = await h2Request(h.client, { ":path": "/p", ":authority": "svc.test" }, "hello");
    expect(res.status).toBe(200);
    expect(res.body).toBe("svc.test hello");
    expect(res.headers["x-method"]).toBe("POST");
    expect(res.headers["connection"]).toBeUndefined();
    expect(a.requests[0]?.url).toBe("/p");
    const get = await h2Request(h.client, { ":path": "/g", ":authority": "svc.test" });
    expect(get.body).toBe("svc.test ");
  });

  it("streams large bodies both ways", async () => {
    const a = await h.h2Upstream("a");
    a.handle((stream, _headers, body) => {
      stream.respond({ ":status": 200 });
      stream.end(body + body);
    });
    h.proxy = await startHttp2Proxy(h2ServiceEntryYaml("svc.test", 80, [a.port], "HTTP2"));
    h.client = h2Connect(h.proxy.port);
    const big = "y".repeat(1_000_000) + "end";
    const res = await h2Request(h.client, { ":path": "/big", ":authority": "svc.test" }, big);
    expect(res.body.length).toBe(big.length * 2);
    expect(res.body.endsWith("endyyy") || res.body.endsWith("end")).toBe(true);
    expect(h.proxy.records()[0]?.requestBytes).toBeGreaterThan(big.length);
  });

  it("serves many concurrent streams of one connection over one upstream session", async () => {
    const a = await h.h2Upstream("a");
    a.handle((stream, headers) => {
      setTimeout(() => {
        stream.respond({ ":status": 200 });
        stream.end(String(headers[":path"]));
      }, 20);
    });
    h.proxy = await startHttp2Proxy(h2ServiceEntryYaml("svc.test", 80, [a.port], "HTTP2"));
    h.client = h2Connect(h.proxy.port);
    const session = h.client;
    const paths = Array.from({ length: 50 }, (_, i) => `/s${i}`);
    const responses = await Promise.all(paths.map((p) => h2Request(session, { ":path": p, ":authority": "svc.test" })));
    expect(responses.map((r) => r.body)).toEqual(paths);
    expect(a.connections).toBe(1);
    expect(h.proxy.finished).toHaveLength(50);
  });

  it("retries a try that exceeds the per-try timeout, then answers 504 UT when every try does", async () => {
    const a = await h.h2Upstream("a");
    let n = 0;
    a.handle((stream) => {
      n += 1;
      const slow = n === 1 || n >= 3;
      setTimeout(() => {
        if (stream.closed) return;
        stream.respond({ ":status": 200 });
        stream.end(`try ${n}`);
      }, slow ? 1000 : 0);
    });
    h.proxy = await startHttp2Proxy(`${h2ServiceEntryYaml("svc.test", 80, [a.port], "HTTP2")}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc.test]
  http:
    - match: [{ uri: { prefix: /retry } }]
      retries: { attempts: 1, perTryTimeout: 100ms, retryOn: 5xx }
      route: [{ destination: { host: svc.test } }]
    - retries: { attempts: 0 }
      timeout: 100ms
      route: [{ destination: { host: svc.test } }]
`);
    h.client = h2Connect(h.proxy.port);
    const retried = await h2Request(h.client, { ":path": "/retry", ":authority": "svc.test" });
    expect(retried.status).toBe(200);
    expect(retried.body).toBe("try 2");
    expect(h.proxy.records()[0]).toMatchObject({ attempts: 2, responseCode: 200 });
    const timedOut = await h2Request(h.client, { ":path": "/other", ":authority": "svc.test" });
    expect(timedOut.status).toBe(504);
    expect(timedOut.body).toBe("upstream request timeout");
    expect(h.proxy.records()[1]).toMatchObject({ responseCode: 504, responseFlags: "UT", details: "upstream_response_timeout" });
  });

  it("retries a refused stream (REFUSED_STREAM) on another try", async () => {
    const a = await h.h2Upstream("a");
    let n = 0;
    a.server.removeAllListeners("stream");
    a.server.on("stream", (stream) => {
      stream.on("error", () => undefined);
      n += 1;
      if (n === 1) {
        stream.close(constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      stream.respond({ ":status": 200 });
      stream.end("ok");
    });
    h.proxy = await startHttp2Proxy(`${h2ServiceEntryYaml("svc.test", 80, [a.port], "HTTP2")}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc.test]
  http:
    - retries: { attempts: 2, retryOn: refused-stream }
      route: [{ destination: { host: svc.test } }]
`);
    h.client = h2Connect(h.proxy.port);
    const res = await h2Request(h.client, { ":path": "/", ":authority": "svc.test" });
    expect(res.status).toBe(200);
    expect(res.body).toBe("ok");
    expect(h.proxy.records()[0]?.attempts).toBe(2);
  });

  it("answers 503 UF when the upstream refuses connections", async () => {
    const a = await startH2Upstream("a");
    const port = a.port;
    await a.close();
    h.proxy = await startHttp2Proxy(h2ServiceEntryYaml("svc.test", 80, [port], "HTTP2"));
    h.client = h2Connect(h.proxy.port);
    const res = await h2Request(h.client, { ":path": "/", ":authority": "svc.test" });
    expect(res.status).toBe(503);
    expect(res.body).toBe("upstream connect error or disconnect/reset before headers. reset reason: connection failure");
    expect(h.proxy.records()[0]?.responseFlags).toContain("UF");
  });

  it("injects a fault delay outside the route timeout (Envoy's router starts it after the fault filter)", async () => {
    const a = await h.h2Upstream("a");
    h.proxy = await startHttp2Proxy(`${h2ServiceEntryYaml("svc.test", 80, [a.port], "HTTP2")}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc.test]
  http:
    - fault: { delay: { fixedDelay: 150ms, percentage: { value: 100 } } }
      timeout: 100ms
      route: [{ destination: { host: svc.test } }]
`);
    h.client = h2Connect(h.proxy.port);
    const res = await h2Request(h.client, { ":path": "/", ":authority": "svc.test" });
    expect(res.status).toBe(200);
    expect(h.proxy.records()[0]).toMatchObject({ responseCode: 200, responseFlags: "DI" });
  });

  it("opens a new upstream session after maxRequestsPerConnection streams", async () => {
    const a = await h.h2Upstream("a");
    h.proxy = await startHttp2Proxy(`${h2ServiceEntryYaml("svc.test", 80, [a.port], "HTTP2")}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc, namespace: default }
spec:
  host: svc.test
  trafficPolicy:
    connectionPool: { http: { maxRequestsPerConnection: 2 } }
`);
    h.client = h2Connect(h.proxy.port);
    for (let i = 0; i < 5; i++) expect((await h2Request(h.client, { ":path": "/", ":authority": "svc.test" })).status).toBe(200);
    expect(a.connections).toBe(3);
  });

  it("applies route header operations to requests and responses", async () => {
    const a = await h.h2Upstream("a");
    h.proxy = await startHttp2Proxy(`${h2ServiceEntryYaml("svc.test", 80, [a.port], "HTTP2")}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc.test]
  http:
    - match: [{ uri: { prefix: /orig } }]
      headers:
        request: { set: { x-set: "in" }, remove: [x-drop] }
        response: { add: { x-added: "out" } }
      rewrite: { uri: /rewritten, authority: other.test }
      route: [{ destination: { host: svc.test } }]
`);
    h.client = h2Connect(h.proxy.port);
    const res = await h2Request(h.client, { ":path": "/orig", ":authority": "svc.test", "x-drop": "1" });
    expect(res.headers["x-added"]).toBe("out");
    const seen = a.requests[0]?.headers;
    expect(seen?.["x-set"]).toBe("in");
    expect(seen?.["x-drop"]).toBeUndefined();
    expect(seen?.[":path"]).toBe("/rewritten");
    expect(seen?.[":authority"]).toBe("other.test");
  });

  it("cancels the upstream stream when the client resets its stream (flag DC)", async () => {
    const a = await h.h2Upstream("a");
    let upstreamClosed: () => void = () => undefined;
    let upstreamOpened: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    const opened = new Promise<void>((resolve) => (upstreamOpened = resolve));
    a.server.removeAllListeners("stream");
    a.server.on("stream", (stream) => {
      stream.on("error", () => undefined);
      stream.on("close", () => upstreamClosed());
      upstreamOpened();
    });
    h.proxy = await startHttp2Proxy(h2ServiceEntryYaml("svc.test", 80, [a.port], "HTTP2"));
    h.client = h2Connect(h.proxy.port);
    const stream = h.client.request({ ":path": "/hang", ":authority": "svc.test" });
    stream.on("error", () => undefined);
    await opened;
    stream.close(constants.NGHTTP2_CANCEL);
    await closed;
    while (h.proxy.finished.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(h.proxy.records()[0]).toMatchObject({ responseFlags: "DC", details: "downstream_remote_disconnect" });
  });
});

describe("HTTP/2 downstream over TLS (ALPN h2)", () => {
  it("serves a TLS socket handed over after ALPN negotiated h2", async () => {
    const a = await h.h2Upstream("a");
    h.proxy = await startHttp2Proxy(h2ServiceEntryYaml("svc.test", 80, [a.port], "HTTP2"), { tls: true });
    const session = connect(`https://127.0.0.1:${h.proxy.port}`, { ca: testCertificatePem, servername: "localhost" });
    session.on("error", () => undefined);
    h.client = session;
    const res = await h2Request(session, { ":path": "/tls", ":authority": "svc.test" });
    expect(res.status).toBe(200);
    expect(res.body).toBe("a");
    expect(res.trailers["x-upstream"]).toBe("a");
    expect(a.requests[0]?.headers[":path"]).toBe("/tls");
  });
});
