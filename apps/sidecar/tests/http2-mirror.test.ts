// Istio request mirroring on the HTTP/2 path with real h2 clients and servers: h2c prior
// knowledge and ALPN h2 downstreams, mirror clusters speaking HTTP/2 or HTTP/1.1, the `-shadow`
// authority, mirrorPercentage, and the primary's answer never waiting for the mirror.
import * as grpc from "@grpc/grpc-js";
import { connect } from "node:http2";
import { describe, expect, it } from "vitest";
import { mirrorStats } from "../src/proxy/send-mirror.ts";
import { h2Connect, h2Request } from "./support/h2-client.ts";
import { useH2Harness } from "./support/h2-harness.ts";
import { startHttp2Proxy } from "./support/h2-proxy-fixture.ts";
import { testCertificatePem } from "./support/h2-test-certificate.ts";
import { echoClient, h2ServiceEntryYaml, startGrpcUpstream, startH2Upstream } from "./support/h2-upstream-server.ts";
import { defined } from "./support/http-client.ts";

const h = useH2Harness();

function mirrorRoute(mirrorHost: string, percentage: number): string {
  return `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc, namespace: default }
spec:
  hosts: [svc.test]
  http:
    - route: [{ destination: { host: svc.test } }]
      mirror: { host: ${mirrorHost} }
      mirrorPercentage: { value: ${percentage} }
`;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe("HTTP/2 mirroring (h2c downstream)", () => {
  it("copies the request to an HTTP/2 mirror with :authority suffixed -shadow; the caller sees only the primary", async () => {
    const primary = await h.h2Upstream("primary");
    const shadow = await h.h2Upstream("shadow");
    shadow.handle((stream) => {
      stream.respond({ ":status": 500 });
      stream.end("shadow failed");
    });
    h.proxy = await startHttp2Proxy(`${h2ServiceEntryYaml("svc.test", 80, [primary.port], "HTTP2")}---
${h2ServiceEntryYaml("mirror.test", 80, [shadow.port], "HTTP2")}${mirrorRoute("mirror.test", 100)}`);
    h.client = h2Connect(h.proxy.port);
    const res = await h2Request(h.client, { ":path": "/m?x=1", ":authority": "svc.test", "x-custom": "1" }, "payload");
    expect([res.status, res.body]).toEqual([200, "primary"]);
    await until(() => shadow.requests.length === 1, "the mirrored request");
    const copy = defined(shadow.requests[0], "the mirrored request");
    expect([copy.headers[":method"], copy.headers[":path"], copy.headers[":authority"], copy.headers["x-custom"], copy.body]).toEqual(["POST", "/m?x=1", "svc.test-shadow", "1", "payload"]);
    expect(primary.requests[0]?.headers[":authority"]).toBe("svc.test");
    expect(h.proxy.records()[0]).toMatchObject({ responseCode: 200, responseFlags: "", attempts: 1 });
  });

  it("copies to an HTTP/1.1 mirror cluster with Host suffixed -shadow and the body re-framed", async () => {
    const primary = await h.h2Upstream("primary");
    const shadow = await h.h1Upstream("shadow");
    h.proxy = await startHttp2Proxy(`${h2ServiceEntryYaml("svc.test", 80, [primary.port], "HTTP2")}---
${h2ServiceEntryYaml("mirror.test", 8080, [shadow.port], "HTTP")}${mirrorRoute("mirror.test", 100)}`);
    h.client = h2Connect(h.proxy.port);
    const res = await h2Request(h.client, { ":path": "/up", ":authority": "svc.test:80" }, "abc");
    expect(res.body).toBe("primary");
    const get = await h2Request(h.client, { ":path": "/get", ":authority": "svc.test:80" });
    expect(get.body).toBe("primary");
    await until(() => shadow.requests.length === 2, "two mirrored requests");
    const byUrl = new Map(shadow.requests.map((r) => [r.url, r]));
    const post = defined(byUrl.get("/up"), "the mirrored POST");
    expect([post.method, post.headers.host, post.headers["content-length"], post.body]).toEqual(["POST", "svc.test-shadow:80", "3", "abc"]);
    const copy = defined(byUrl.get("/get"), "the mirrored GET");
    expect([copy.method, copy.headers.host, copy.body]).toEqual(["GET", "svc.test-shadow:80", ""]);
  });

  it("answers without waiting for a mirror that never responds", async () => {
    const primary = await h.h2Upstream("primary");
    const shadow = await h.h2Upstream("shadow");
    shadow.handle(() => undefined); // holds every stream open
    h.proxy = await startHttp2Proxy(`${h2ServiceEntryYaml("svc.test", 80, [primary.port], "HTTP2")}---
${h2ServiceEntryYaml("mirror.test", 80, [shadow.port], "HTTP2")}${mirrorRoute("mirror.test", 100)}`);
    h.client = h2Connect(h.proxy.port);
    const session = h.client;
    const responses = await Promise.all(Array.from({ length: 5 }, (_, i) => h2Request(session, { ":path": `/p${i}`, ":authority": "svc.test" })));
    expect(responses.map((r) => r.body)).toEqual(Array(5).fill("primary"));
    await until(() => shadow.requests.length === 5, "five mirrored requests held by the mirror");
    expect(h.proxy.finished).toHaveLength(5);
  });

  it("counts a mirror whose endpoint refuses connections as failed and still serves the primary", async () => {
    const primary = await h.h2Upstream("primary");
    const gone = await startH2Upstream("gone");
    await gone.close();
    h.proxy = await startHttp2Proxy(`${h2ServiceEntryYaml("svc.test", 80, [primary.port], "HTTP2")}---
${h2ServiceEntryYaml("mirror.test", 80, [gone.port], "HTTP2")}${mirrorRoute("mirror.test", 100)}`);
    h.client = h2Connect(h.proxy.port);
    const failedBefore = mirrorStats.failed;
    const res = await h2Request(h.client, { ":path": "/x", ":authority": "svc.test" });
    expect(res.body).toBe("primary");
    await until(() => mirrorStats.failed > failedBefore, "the mirror failure to be counted");
  });

  it("mirrors about mirrorPercentage of requests (random below the percentage)", async () => {
    const primary = await h.h2Upstream("primary");
    const shadow = await h.h2Upstream("shadow");
    // The route's draw: random() * 100 < percentage mirrors. Alternate 0.1 (mirror) and 0.9 (not) against 50 %.
    let n = 0;
    const random = (): number => (n++ % 2 === 0 ? 0.1 : 0.9);
    h.proxy = await startHttp2Proxy(
      `${h2ServiceEntryYaml("svc.test", 80, [primary.port], "HTTP2")}---
${h2ServiceEntryYaml("mirror.test", 80, [shadow.port], "HTTP2")}${mirrorRoute("mirror.test", 50)}`,
      { random },
    );
    h.client = h2Connect(h.proxy.port);
    for (let i = 0; i < 10; i++) expect((await h2Request(h.client, { ":path": `/r${i}`, ":authority": "svc.test" })).body).toBe("primary");
    expect(primary.requests).toHaveLength(10);
    await until(() => shadow.requests.length >= 1, "mirrored requests");
    await new Promise((r) => setTimeout(r, 100));
    expect(shadow.requests.length).toBeGreaterThan(0);
    expect(shadow.requests.length).toBeLessThan(10);
  });

  it("does not mirror at mirrorPercentage 0", async () => {
    const primary = await h.h2Upstream("primary");
    const shadow = await h.h2Upstream("shadow");
    h.proxy = await startHttp2Proxy(`${h2ServiceEntryYaml("svc.test", 80, [primary.port], "HTTP2")}---
${h2ServiceEntryYaml("mirror.test", 80, [shadow.port], "HTTP2")}${mirrorRoute("mirror.test", 0)}`);
    h.client = h2Connect(h.proxy.port);
    const sentBefore = mirrorStats.sent;
    for (let i = 0; i < 5; i++) await h2Request(h.client, { ":path": "/z", ":authority": "svc.test" });
    expect(mirrorStats.sent).toBe(sentBefore);
    expect(shadow.requests).toHaveLength(0);
  });

  it("mirrors gRPC calls to a gRPC mirror, whose answer the caller never sees", async () => {
    const seen: string[] = [];
    const primary = await startGrpcUpstream({
      unary: (call, callback) => callback(null, Buffer.from(`primary:${call.request.toString()}`)),
      stream: (call) => call.end(),
    });
    h.defer(() => primary.close());
    const shadow = await startGrpcUpstream({
      unary: (call, callback) => {
        seen.push(`${call.getPath()} ${String(call.metadata.get(":authority")[0] ?? "")} ${call.request.toString()}`);
        callback({ code: grpc.status.INTERNAL, details: "shadow" });
      },
      stream: (call) => call.end(),
    });
    h.defer(() => shadow.close());
    h.proxy = await startHttp2Proxy(`${h2ServiceEntryYaml("svc.test", 50051, [primary.port], "GRPC")}---
${h2ServiceEntryYaml("mirror.test", 50051, [shadow.port], "GRPC")}${mirrorRoute("mirror.test", 100)}`);
    const c = echoClient(h.proxy.port, "svc.test:50051");
    h.defer(() => c.close());
    const answer = await new Promise<string>((resolve, reject) => c.unary(Buffer.from("hi"), (error, response) => (error ? reject(error) : resolve(String(response)))));
    expect(answer).toBe("primary:hi");
    await until(() => seen.length === 1, "the mirrored gRPC call");
    expect(shadow.calls).toEqual(["/test.Echo/Unary"]);
    expect(seen[0]).toMatch(/^\/test\.Echo\/Unary .* hi$/);
  });
});

describe("HTTP/2 mirroring (ALPN h2 downstream)", () => {
  it("copies a request that arrived over TLS with ALPN h2", async () => {
    const primary = await h.h2Upstream("primary");
    const shadow = await h.h2Upstream("shadow");
    h.proxy = await startHttp2Proxy(
      `${h2ServiceEntryYaml("svc.test", 80, [primary.port], "HTTP2")}---
${h2ServiceEntryYaml("mirror.test", 80, [shadow.port], "HTTP2")}${mirrorRoute("mirror.test", 100)}`,
      { tls: true },
    );
    const session = connect(`https://127.0.0.1:${h.proxy.port}`, { ca: testCertificatePem, servername: "localhost" });
    session.on("error", () => undefined);
    h.client = session;
    const res = await h2Request(session, { ":path": "/tls", ":authority": "svc.test" }, "secret");
    expect([res.status, res.body]).toEqual([200, "primary"]);
    await until(() => shadow.requests.length === 1, "the mirrored request");
    expect([shadow.requests[0]?.headers[":authority"], shadow.requests[0]?.headers[":path"], shadow.requests[0]?.body]).toEqual(["svc.test-shadow", "/tls", "secret"]);
  });
});
