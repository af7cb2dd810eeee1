// Bad input and broken peers on the HTTP/1.1 data path: malformed and oversized heads, slowloris,
// upstreams that reset mid-body, close early or answer garbage, clients that disconnect
// mid-request — and the protocol features that must pass through: 100-continue and WebSocket
// upgrades (101 tunnel). After each failure the proxy keeps serving.
import { request, type IncomingMessage, type ServerResponse } from "node:http";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { eventually, flagsOf, lastRecord, sleep, useHarness } from "./support/harness.ts";
import { rawExchange, send } from "./support/http-client.ts";
import { rawRoundTrip } from "./support/raw-upstream.ts";
import { docs, routeYaml } from "./support/mesh-yaml.ts";
import { serviceEntryYaml, type UpstreamServer } from "./support/upstream-server.ts";

const h = useHarness();

/** A ServiceEntry for a raw upstream's port (serviceEntryYaml only needs name and port). */
const rawEntry = (host: string, port: number) => serviceEntryYaml(host, 80, [{ name: "raw", port } as UpstreamServer]);

describe("malformed requests", () => {
  it.each([
    ["a malformed request line", "GARBAGE\r\n\r\n", 400],
    ["Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
    ["a bare LF", "GET / HTTP/1.1\nHost: svc.test\r\n\r\n", 400],
    ["an unknown transfer coding", "POST / HTTP/1.1\r\nHost: svc.test\r\nTransfer-Encoding: gzip\r\n\r\n", 501],
    ["HTTP/2.0 in a request line", "GET / HTTP/2.0\r\nHost: svc.test\r\n\r\n", 505],
  ])("%s → answered and closed; the proxy keeps serving", async (_name, bytes, status) => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [a]));
    const result = await rawRoundTrip(proxy.port, bytes);
    expect(result.ended).toBe("closed");
    expect(result.data).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(result.data).toMatch(/\r\nconnection: close\r\n/i);
    expect(a.requests).toHaveLength(0);
    expect((await send(proxy.port, { host: "svc.test" })).body).toBe("a");
  });

  it("headers over 60 KiB → 431 and closed", async () => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [a]));
    const result = await rawRoundTrip(proxy.port, `GET / HTTP/1.1\r\nHost: svc.test\r\nX-Big: ${"b".repeat(61 * 1024)}\r\n\r\n`);
    expect(result.data).toMatch(/^HTTP\/1\.1 431 /);
    expect(result.ended).not.toBe("timeout");
    expect(a.requests).toHaveLength(0);
    expect((await send(proxy.port, { host: "svc.test" })).status).toBe(200);
  });

  it("a head trickled slower than headersTimeoutMs (slowloris) → 408 and closed, others unaffected", async () => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [a]), { headersTimeoutMs: 300 });
    const socket = connect(proxy.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let closed = false;
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      closed = true;
    });
    socket.write("GET / HTTP/1.1\r\nHost: svc.test\r\n");
    // One header line every 50 ms: always some progress, never a complete head.
    for (let i = 0; i < 60 && !closed; i++) {
      socket.write(`X-Slow-${i}: v\r\n`);
      await sleep(50);
      if (i === 2) expect((await send(proxy.port, { host: "svc.test" })).status).toBe(200);
    }
    await eventually("the slow connection is closed", () => closed, 2000);
    expect(Buffer.concat(chunks).toString("latin1")).toMatch(/^HTTP\/1\.1 408 /);
    expect(a.requests).toHaveLength(1);
  });
});

describe("responses", () => {
  it("Keep-Alive and Proxy-Connection of the upstream's response are not forwarded (they describe the upstream connection)", async () => {
    const raw = await h.rawUpstream((socket) =>
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nX-End: 1\r\n\r\nok"),
    );
    const proxy = await h.proxy(rawEntry("svc.test", raw.port));
    const res = await send(proxy.port, { host: "svc.test" });
    expect([res.status, res.body]).toEqual([200, "ok"]);
    expect(res.headers["x-end"]).toBe("1");
    expect(res.headers["keep-alive"]).toBeUndefined();
    expect(res.headers["proxy-connection"]).toBeUndefined();
  });

  it("HEAD responses have no body: a pipelined GET after a HEAD is answered correctly", async () => {
    const a = await h.upstream("a");
    a.handle((_req, res) => {
      res.setHeader("content-length", "5");
      res.end("hello");
    });
    const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [a]));
    const response = await rawExchange(proxy.port, "HEAD / HTTP/1.1\r\nHost: svc.test\r\n\r\nGET / HTTP/1.1\r\nHost: svc.test\r\nConnection: close\r\n\r\n");
    const heads = response.match(/HTTP\/1\.1 200 OK/g);
    expect(heads).toHaveLength(2);
    expect(response.endsWith("\r\n\r\nhello")).toBe(true);
    expect(response.indexOf("hello")).toBe(response.length - 5);
  });

  it("204 and 304 without a body keep the connection usable", async () => {
    const a = await h.upstream("a");
    a.handle((req, res) => {
      res.statusCode = req.url === "/nc" ? 204 : req.url === "/nm" ? 304 : 200;
      res.end(res.statusCode === 200 ? "last" : undefined);
    });
    const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [a]));
    const req = (path: string, close = false) => `GET ${path} HTTP/1.1\r\nHost: svc.test\r\n${close ? "Connection: close\r\n" : ""}\r\n`;
    const response = await rawExchange(proxy.port, req("/nc") + req("/nm") + req("/last", true));
    expect(response).toMatch(/^HTTP\/1\.1 204 [\s\S]*HTTP\/1\.1 304 [\s\S]*HTTP\/1\.1 200 OK[\s\S]*last$/);
  });
});

describe("HTTP/1.0 clients", () => {
  // Istio's sidecars refuse HTTP/1.0 with 426 Upgrade Required unless PILOT_HTTP10 is set. A proxy
  // that accepts HTTP/1.0 must not forward a chunked response to it (HTTP/1.0 has no chunked coding).
  it("an HTTP/1.0 request gets 426, or a response it can read (no chunked coding)", async () => {
    const a = await h.upstream("a");
    a.handle((_req, res) => {
      res.write("streamed-");
      setTimeout(() => res.end("body"), 10);
    });
    const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [a]));
    const result = await rawRoundTrip(proxy.port, "GET / HTTP/1.0\r\nHost: svc.test\r\n\r\n");
    expect(result.ended).toBe("closed");
    const head = result.data.slice(0, result.data.indexOf("\r\n\r\n")).toLowerCase();
    if (!head.startsWith("http/1.1 426 ")) {
      expect(head).not.toMatch(/\r\ntransfer-encoding: chunked/);
      expect(result.data.endsWith("\r\n\r\nstreamed-body")).toBe(true);
    }
  });
});

describe("broken upstreams", () => {
  it("an upstream that resets mid-body resets the client (no hang), flag UC; the proxy keeps serving", async () => {
    const raw = await h.rawUpstream((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${"x".repeat(50)}`);
      setTimeout(() => socket.destroy(), 30);
    });
    const proxy = await h.proxy(rawEntry("svc.test", raw.port));
    const result = await rawRoundTrip(proxy.port, "GET / HTTP/1.1\r\nHost: svc.test\r\n\r\n", 3000);
    expect(result.ended).not.toBe("timeout");
    expect(result.data).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(result.data.endsWith("x".repeat(50))).toBe(true);
    expect(flagsOf(lastRecord(proxy))).toEqual(["UC"]);
    raw.onHead((socket) => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    const next = await send(proxy.port, { host: "svc.test" });
    expect([next.status, next.body]).toEqual([200, "ok"]);
  });

  it("an upstream that closes before answering → 503 UC `connection termination`", async () => {
    const raw = await h.rawUpstream((socket) => socket.destroy());
    const proxy = await h.proxy(docs(rawEntry("svc.test", raw.port), routeYaml("svc.test", "retries: { attempts: 0 }")));
    const res = await send(proxy.port, { host: "svc.test" });
    expect([res.status, res.body]).toEqual([503, "upstream connect error or disconnect/reset before headers. reset reason: connection termination"]);
    expect(flagsOf(lastRecord(proxy))).toEqual(["UC"]);
  });

  it("retryOn reset retries an upstream that closes before answering", async () => {
    let n = 0;
    const raw = await h.rawUpstream((socket) => {
      n += 1;
      if (n < 3) socket.destroy();
      else socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
    const proxy = await h.proxy(docs(rawEntry("svc.test", raw.port), routeYaml("svc.test", "retries: { attempts: 3, retryOn: reset }")));
    const res = await send(proxy.port, { host: "svc.test" });
    expect([res.status, res.body]).toEqual([200, "ok"]);
    expect(lastRecord(proxy).attempts).toBe(3);
  });

  it("an upstream answering garbage → 502 UPE", async () => {
    const raw = await h.rawUpstream((socket) => socket.end("garbage garbage\r\n\r\n"));
    const proxy = await h.proxy(rawEntry("svc.test", raw.port));
    const res = await send(proxy.port, { host: "svc.test" });
    expect(res.status).toBe(502);
    expect(res.body).toBe("upstream connect error or disconnect/reset before headers. reset reason: protocol error");
    expect(flagsOf(lastRecord(proxy))).toEqual(["UPE"]);
  });

  it("an upstream answering a garbage first line and staying open → 502 UPE at once (not a hang until a timeout)", async () => {
    const raw = await h.rawUpstream((socket) => socket.write("SSH-2.0-OpenSSH_9.6\r\n"));
    const proxy = await h.proxy(rawEntry("svc.test", raw.port));
    const res = await Promise.race([send(proxy.port, { host: "svc.test" }), sleep(2000).then(() => undefined)]);
    expect(res?.status).toBe(502);
    expect(flagsOf(lastRecord(proxy))).toEqual(["UPE"]);
  });

  it("a response with an invalid chunked body resets the client, flag UPE", async () => {
    const raw = await h.rawUpstream((socket) => socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n"));
    const proxy = await h.proxy(rawEntry("svc.test", raw.port));
    const result = await rawRoundTrip(proxy.port, "GET / HTTP/1.1\r\nHost: svc.test\r\n\r\n", 3000);
    expect(result.ended).not.toBe("timeout");
    expect(flagsOf(lastRecord(proxy))).toEqual(["UPE"]);
  });

  it("a response body until close (no length) is forwarded whole and the client connection closed", async () => {
    const raw = await h.rawUpstream((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart1-");
      setTimeout(() => socket.end("part2"), 20);
    });
    const proxy = await h.proxy(rawEntry("svc.test", raw.port));
    const result = await rawRoundTrip(proxy.port, "GET / HTTP/1.1\r\nHost: svc.test\r\n\r\n", 3000);
    expect(result.ended).toBe("closed");
    expect(result.data).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\npart1-part2$/);
    expect(flagsOf(lastRecord(proxy))).toEqual([]);
  });
});

describe("responses before the request is complete", () => {
  it("an upstream that answers before the request body is complete: the response says connection: close, then the connection closes", async () => {
    const raw = await h.rawUpstream((socket) => {
      socket.on("data", () => undefined);
      socket.write("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\n\r\nnope");
    });
    const proxy = await h.proxy(rawEntry("svc.test", raw.port));
    const client = connect(proxy.port, "127.0.0.1");
    let text = "";
    const closed = new Promise<void>((resolve) => client.on("close", () => resolve()));
    client.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
    });
    client.on("error", () => undefined);
    client.write("POST /upload HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 100000\r\n\r\nfirst-part");
    await eventually("the response", () => text.endsWith("nope"));
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toMatch(/\r\nconnection: close\r\n/);
    // The rest of the body arrives; the proxy still closes, as its response said.
    client.write("x".repeat(99_990));
    await closed;
    expect(lastRecord(proxy).responseCode).toBe(413);
    expect((await send(proxy.port, { host: "svc.test", method: "POST", body: "next" })).status).toBe(413);
  });
});

describe("client disconnects", () => {
  it("a client leaving mid-request → flag DC, the upstream request is cancelled and its connection not reused", async () => {
    const a = await h.upstream("a");
    const ports: number[] = [];
    const held: { req: IncomingMessage; res: ServerResponse }[] = [];
    a.handle((req, res) => {
      ports.push(req.socket.remotePort ?? 0);
      if (req.url === "/slow") held.push({ req, res });
      else res.end("fast");
    });
    const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [a]));
    const socket = connect(proxy.port, "127.0.0.1");
    socket.on("error", () => undefined);
    socket.write("GET /slow HTTP/1.1\r\nHost: svc.test\r\n\r\n");
    await eventually("the upstream has the slow request", () => held.length === 1);
    socket.destroy();
    await eventually("the request finished with DC", () => proxy.finished.some((f) => f.record.responseFlags.includes("DC")));
    await eventually("the upstream connection is closed", () => {
      const socket = held[0]?.res.socket;
      return socket === null || socket?.destroyed === true;
    });
    const next = await send(proxy.port, { host: "svc.test", path: "/fast" });
    expect(next.body).toBe("fast");
    expect(ports).toHaveLength(2);
    expect(ports[1]).not.toBe(ports[0]);
  });

  it("a client leaving while its request body is still arriving → DC, nothing half-sent is reused", async () => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [a]));
    const socket = connect(proxy.port, "127.0.0.1");
    socket.on("error", () => undefined);
    socket.write("POST /upload HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 1000\r\n\r\nonly-part-of-it");
    await sleep(50);
    socket.destroy();
    await eventually("the request finished with DC", () => proxy.finished.some((f) => f.record.responseFlags.includes("DC")));
    expect((await send(proxy.port, { host: "svc.test", method: "POST", body: "whole" })).body).toBe("a");
    expect(a.requests.map((r) => r.body)).toEqual(["whole"]);
  });
});

describe("protocol features that pass through", () => {
  it("Expect: 100-continue: the client gets 100 Continue, then sends the body", async () => {
    const a = await h.upstream("a");
    a.handle((_req, res, body) => res.end(`got:${body}`));
    const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [a]));
    const result = await new Promise<{ continued: boolean; status: number; body: string }>((resolve, reject) => {
      let continued = false;
      const req = request(
        { host: "127.0.0.1", port: proxy.port, method: "PUT", path: "/", agent: false, headers: { host: "svc.test", expect: "100-continue", "content-length": "5" } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ continued, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on("continue", () => {
        continued = true;
        req.end("hello");
      });
      req.on("error", reject);
      req.flushHeaders();
    });
    expect(result).toEqual({ continued: true, status: 200, body: "got:hello" });
  });

  it("WebSocket upgrade: 101 passes through and bytes flow both ways", async () => {
    const raw = await h.rawUpstream((socket, _head, rest) => {
      socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nserver-hello;");
      if (rest.length > 0) socket.write(`echo:${rest.toString()};`);
      socket.on("data", (d: Buffer) => socket.write(`echo:${d.toString()};`));
    });
    const proxy = await h.proxy(rawEntry("svc.test", raw.port));
    const socket = connect(proxy.port, "127.0.0.1");
    let received = "";
    socket.on("data", (c: Buffer) => {
      received += c.toString("latin1");
    });
    socket.write("GET /ws HTTP/1.1\r\nHost: svc.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    await eventually("the 101 and the server's first bytes arrive", () => received.includes("server-hello;"));
    expect(received).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    socket.write("ping-1");
    await eventually("the first echo", () => received.includes("echo:ping-1;"));
    socket.write("ping-2");
    await eventually("the second echo", () => received.includes("echo:ping-2;"));
    const upstreamHead = (raw.heads[0] ?? "").toLowerCase();
    expect(upstreamHead).toMatch(/\r\nupgrade: websocket\r\n/);
    expect(upstreamHead).toMatch(/\r\nconnection: upgrade\r\n/);
    expect(upstreamHead).toMatch(/\r\nsec-websocket-key: /);
    expect(lastRecord(proxy).responseCode).toBe(101);
    // Closing the client closes the upstream side of the tunnel.
    socket.destroy();
    await eventually("the upstream side closes", () => raw.connections[0]?.destroyed === true || raw.connections[0]?.readableEnded === true);
  });

  it("an upgrade the upstream refuses (plain 200) is an ordinary response", async () => {
    const a = await h.upstream("a");
    const proxy = await h.proxy(serviceEntryYaml("svc.test", 80, [a]));
    const response = await rawExchange(proxy.port, "GET /ws HTTP/1.1\r\nHost: svc.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\nHost: svc.test\r\nConnection: close\r\n\r\n");
    expect(response.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
  });
});
