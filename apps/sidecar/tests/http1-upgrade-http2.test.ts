// HTTP/1.1 clients, HTTP/2 upstreams: a DestinationRule with h2UpgradePolicy UPGRADE, or a port
// that speaks HTTP2, sends HTTP/1.1 requests upstream over one multiplexed HTTP/2 connection (as
// Envoy's cluster with http2_protocol_options does), against real h2c servers. Bodies both ways
// (Content-Length and chunked), HEAD, Expect: 100-continue, retries, connect failures; WebSocket
// upgrades stay on HTTP/1.1. MeshConfig's h2UpgradePolicy, the sidecar's --h2-upgrade-policy, does
// the same for HTTP ports whose DestinationRule says nothing.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defined, keepAliveAgent, rawExchange, send } from "./support/http-client.ts";
import { eventually, flagsOf, lastRecord, useHarness } from "./support/harness.ts";
import { useH2Harness } from "./support/h2-harness.ts";
import { destinationRuleYaml, docs, routeYaml } from "./support/mesh-yaml.ts";
import { h2ServiceEntryYaml } from "./support/h2-upstream-server.ts";
import { serviceEntryYaml } from "./support/upstream-server.ts";
import { startTestSidecar } from "./support/mtls-sidecar.ts";

const h = useHarness();
const h2 = useH2Harness();

/** svc.test on `port` speaking `protocol`, a DestinationRule with h2UpgradePolicy `policy`, and `more` documents. */
function mesh(port: number, protocol: string, policy: string, ...more: string[]): string {
  return docs(h2ServiceEntryYaml("svc.test", 80, [port], protocol), destinationRuleYaml("svc.test", `connectionPool: { http: { h2UpgradePolicy: ${policy} } }`), ...more);
}

describe("HTTP/1.1 request, HTTP/2 upstream", () => {
  it("sends HTTP/1.1 requests of a client connection upstream as streams of one HTTP/2 session (h2UpgradePolicy UPGRADE)", async () => {
    const a = await h2.h2Upstream("a");
    const proxy = await h.proxy(mesh(a.port, "HTTP", "UPGRADE"), { http2: true });
    const agent = keepAliveAgent();
    const first = await send(proxy.port, { host: "svc.test", path: "/x?q=1", headers: { "x-custom": "1", connection: "keep-alive, x-hop", "x-hop": "drop me" }, agent });
    const second = await send(proxy.port, { host: "svc.test", path: "/y", agent });
    agent.destroy();
    expect(first.status).toBe(200);
    expect(first.body).toBe("a");
    expect(second.body).toBe("a");
    // The upstream's content-type came through; no content-length from it, so the body came chunked.
    expect(first.headers["content-type"]).toBe("text/plain");
    expect(first.headers["transfer-encoding"]).toBe("chunked");
    expect(first.headers["x-envoy-upstream-service-time"]).toMatch(/^\d+$/);
    const seen = defined(a.requests[0], "the first upstream request").headers;
    expect(seen[":method"]).toBe("GET");
    expect(seen[":path"]).toBe("/x?q=1");
    expect(seen[":authority"]).toBe("svc.test");
    expect(seen["x-custom"]).toBe("1");
    expect(seen["x-hop"]).toBeUndefined();
    expect(seen["connection"]).toBeUndefined();
    expect(a.requests[1]?.headers[":path"]).toBe("/y");
    expect(a.connections).toBe(1);
    expect(lastRecord(proxy)).toMatchObject({ protocol: "HTTP/1.1", responseCode: 200, responseFlags: "", attempts: 1 });
  });

  it("also for a port that speaks HTTP/2, which DO_NOT_UPGRADE does not change (it concerns HTTP ports)", async () => {
    const a = await h2.h2Upstream("a");
    const bare = await h.proxy(h2ServiceEntryYaml("svc.test", 80, [a.port], "HTTP2"), { http2: true });
    expect((await send(bare.port, { host: "svc.test", path: "/h2" })).body).toBe("a");
    const kept = await h.proxy(mesh(a.port, "HTTP2", "DO_NOT_UPGRADE"), { http2: true });
    expect((await send(kept.port, { host: "svc.test", path: "/kept" })).body).toBe("a");
    expect(a.requests.map((r) => r.headers[":path"])).toEqual(["/h2", "/kept"]);
  });

  it("passes a Content-Length response through, and decodes chunked and Content-Length request bodies", async () => {
    const a = await h2.h2Upstream("a");
    a.handle((stream, headers, body) => {
      const text = `${String(headers["content-length"] ?? "-")} ${body}`;
      stream.respond({ ":status": 201, "content-length": String(Buffer.byteLength(text)), "set-cookie": ["a=1", "b=2"] });
      stream.end(text);
    });
    const proxy = await h.proxy(mesh(a.port, "HTTP", "UPGRADE"), { http2: true });
    const sized = await send(proxy.port, { host: "svc.test", method: "POST", headers: { "content-length": "5" }, body: "hello" });
    expect(sized.status).toBe(201);
    expect(sized.body).toBe("5 hello");
    expect(sized.headers["content-length"]).toBe("7");
    expect(sized.headers["transfer-encoding"]).toBeUndefined();
    expect(sized.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    const raw = await rawExchange(
      proxy.port,
      "POST /c HTTP/1.1\r\nHost: svc.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
    expect(raw).toMatch(/^HTTP\/1\.1 201 Created\r\n/);
    expect(raw.endsWith("- hello world")).toBe(true);
    expect(a.requests[1]?.headers["transfer-encoding"]).toBeUndefined();
  });

  it("streams a large response body chunked and a large request body with backpressure", async () => {
    const a = await h2.h2Upstream("a");
    a.handle((stream, _headers, body) => {
      stream.respond({ ":status": 200 });
      stream.end(body + body);
    });
    const proxy = await h.proxy(mesh(a.port, "HTTP", "UPGRADE"), { http2: true });
    const big = `${"y".repeat(2_000_000)}end`;
    const res = await send(proxy.port, { host: "svc.test", method: "PUT", body: big });
    expect(res.body.length).toBe(big.length * 2);
    expect(res.body.endsWith("end")).toBe(true);
    expect(lastRecord(proxy).requestBytes).toBeGreaterThan(big.length);
    expect(lastRecord(proxy).responseBytes).toBeGreaterThan(big.length * 2);
  });

  it("answers HEAD without a body and Expect: 100-continue itself", async () => {
    const a = await h2.h2Upstream("a");
    a.handle((stream, headers, body) => {
      stream.respond({ ":status": 200, "x-expect": String(headers.expect ?? "none") });
      stream.end(body === "" ? "body" : body);
    });
    const proxy = await h.proxy(mesh(a.port, "HTTP", "UPGRADE"), { http2: true });
    const head = await rawExchange(proxy.port, "HEAD / HTTP/1.1\r\nHost: svc.test\r\nConnection: close\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head.endsWith("\r\n\r\n")).toBe(true);
    expect(head).not.toContain("transfer-encoding");
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(proxy.port, "127.0.0.1");
      let text = "";
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("latin1");
        // The body goes only after the interim answer, as a client that waits for it does.
        if (text === "HTTP/1.1 100 Continue\r\n\r\n") socket.write("ping");
      });
      socket.on("error", reject);
      socket.on("close", () => resolve(text));
      socket.write("POST /e HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
    });
    expect(reply).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    expect(reply).toContain("x-expect: none");
    expect(reply.endsWith("4\r\nping\r\n0\r\n\r\n")).toBe(true);
  });

  it("retries a 5xx on another stream and reports a refused connection as UF", async () => {
    const a = await h2.h2Upstream("a");
    let calls = 0;
    a.handle((stream) => {
      calls += 1;
      stream.respond({ ":status": calls === 1 ? 503 : 200 });
      stream.end(calls === 1 ? "busy" : "ok");
    });
    const proxy = await h.proxy(mesh(a.port, "HTTP", "UPGRADE", routeYaml("svc.test", "retries: { attempts: 2, retryOn: 5xx }")), { http2: true });
    const res = await send(proxy.port, { host: "svc.test", method: "POST", body: "replayed" });
    expect(res.status).toBe(200);
    expect(res.body).toBe("ok");
    expect(a.requests.map((r) => r.body)).toEqual(["replayed", "replayed"]);
    expect(lastRecord(proxy).attempts).toBe(2);
    await a.close();
    const down = await send(proxy.port, { host: "svc.test" });
    expect(down.status).toBe(503);
    expect(flagsOf(lastRecord(proxy))).toContain("UF");
  });

  it("mirrors the decoded body of a chunked request to the -shadow host", async () => {
    const a = await h2.h2Upstream("a");
    const shadow = await h.upstream("shadow");
    const proxy = await h.proxy(
      mesh(a.port, "HTTP", "UPGRADE", serviceEntryYaml("mirror.test", 80, [shadow]), routeYaml("svc.test", "mirror: { host: mirror.test }\nmirrorPercentage: { value: 100 }")),
      { http2: true },
    );
    const res = await send(proxy.port, { method: "POST", host: "svc.test", path: "/m", body: "payload" });
    expect([res.status, res.body]).toEqual([200, "a"]);
    await eventually("the mirrored request", () => shadow.requests.length > 0);
    const copy = defined(shadow.requests[0], "the mirrored request");
    expect([copy.method, copy.url, copy.headers.host, copy.body]).toEqual(["POST", "/m", "svc.test-shadow", "payload"]);
    expect(a.requests[0]?.body).toBe("payload");
  });

  it("keeps WebSocket upgrades on HTTP/1.1", async () => {
    const ws = await h.rawUpstream((socket, head) => {
      if (/upgrade: websocket/i.test(head)) socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
      socket.on("data", (data: Buffer) => socket.write(`echo:${data.toString()}`));
    });
    const proxy = await h.proxy(mesh(ws.port, "HTTP", "UPGRADE"), { http2: true });
    const tunnel = await new Promise<string>((resolve, reject) => {
      const socket = connect(proxy.port, "127.0.0.1");
      let text = "";
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("latin1");
        if (text.includes("\r\n\r\n") && !text.includes("echo:")) socket.write("hi");
        if (text.includes("echo:hi")) socket.end();
      });
      socket.on("error", reject);
      socket.on("close", () => resolve(text));
      socket.write("GET /ws HTTP/1.1\r\nHost: svc.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    });
    expect(tunnel).toMatch(/^HTTP\/1\.1 101 /);
    expect(tunnel).toContain("echo:hi");
  });
});

describe("MeshConfig's h2UpgradePolicy", () => {
  /** A standalone sidecar over svc.test (HTTP, h2c upstream) and kept.test (DO_NOT_UPGRADE), started with `args` (`dir` is its directory): both answer over the protocol the policy gives. */
  async function expectUpgrade(args: (dir: string) => Promise<string[]>): Promise<void> {
    const upgraded = await h2.h2Upstream("upgraded");
    const kept = await h2.h1Upstream("kept");
    const dir = await mkdtemp(join(tmpdir(), "sidecar-mesh-h2-"));
    h2.defer(() => rm(dir, { recursive: true, force: true }));
    await mkdir(join(dir, "config"));
    await writeFile(
      join(dir, "config", "mesh.yaml"),
      docs(
        h2ServiceEntryYaml("svc.test", 80, [upgraded.port], "HTTP"),
        serviceEntryYaml("kept.test", 80, [kept]),
        destinationRuleYaml("kept.test", "connectionPool: { http: { h2UpgradePolicy: DO_NOT_UPGRADE } }"),
      ),
    );
    const sidecar = await startTestSidecar(["--config", join(dir, "config"), ...(await args(dir))], dir, "mesh-h2");
    h2.defer(() => sidecar.stop());
    const outbound = sidecar.port("outbound");
    expect((await send(outbound, { host: "svc.test", path: "/up" })).body).toBe("upgraded");
    expect(upgraded.requests.map((r) => r.headers[":path"])).toEqual(["/up"]);
    expect((await send(outbound, { host: "kept.test", path: "/kept" })).body).toBe("kept");
    expect(kept.requests.map((r) => r.url)).toEqual(["/kept"]);
  }

  it("UPGRADE (--h2-upgrade-policy) sends HTTP ports' requests upstream as HTTP/2 unless the DestinationRule says DO_NOT_UPGRADE", async () => {
    await expectUpgrade(() => Promise.resolve(["--h2-upgrade-policy", "UPGRADE"]));
  });

  it("reads it from --mesh-config when the flag is not given", async () => {
    await expectUpgrade(async (dir) => {
      await writeFile(join(dir, "mesh-config.yaml"), "h2UpgradePolicy: UPGRADE\n");
      return ["--mesh-config", join(dir, "mesh-config.yaml")];
    });
  });
});
