// readClientHelloSni on real ClientHellos from node:tls (TLS 1.2 and 1.3 capable), split at every
// byte boundary, and on data that is not TLS; and a TCP listener that inspects the SNI before routing.
import { connect, createServer, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { readClientHelloSni } from "./read-client-hello-sni.ts";
import type { TcpChoice } from "./choose-tcp-cluster.ts";
import { startTcpListener } from "./tcp-listener.ts";
import { ClusterRuntime } from "../proxy/cluster-runtime.ts";
import { singleEndpointClusterSpec } from "../proxy/single-endpoint-cluster.ts";
import { PoolRegistry } from "../upstream/pool-registry.ts";
import type { ClusterSpec } from "@meshwork/proxy-core";
import type { TcpRecord } from "./tcp-record.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server that keeps the first bytes a client sends; resolves once `enough` bytes arrived or the client closed. */
async function captureServer(): Promise<{ port: number; first: Promise<Buffer>; sockets: Socket[] }> {
  let resolveFirst: (b: Buffer) => void = () => undefined;
  const first = new Promise<Buffer>((resolve) => (resolveFirst = resolve));
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    let data = Buffer.alloc(0);
    socket.on("error", () => undefined);
    socket.on("data", (c: Buffer) => {
      data = Buffer.concat([data, c]);
      if (readClientHelloSni(data).type !== "need-more") resolveFirst(data);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as { port: number }).port, first, sockets };
}

async function clientHello(servername: string | undefined): Promise<Buffer> {
  const capture = await captureServer();
  const client = tlsConnect({ host: "127.0.0.1", port: capture.port, ...(servername ? { servername } : {}), rejectUnauthorized: false });
  client.on("error", () => undefined);
  cleanups.push(() => void client.destroy());
  return capture.first;
}

describe("readClientHelloSni", () => {
  it("reads the SNI of a real ClientHello, however it is split", async () => {
    const hello = await clientHello("API.Example.com");
    expect(readClientHelloSni(hello)).toEqual({ type: "tls", sni: "api.example.com" });
    for (let cut = 0; cut < hello.length; cut++) {
      expect(readClientHelloSni(hello.subarray(0, cut)).type, `first ${cut} bytes`).toBe("need-more");
    }
  });

  it("reads a ClientHello split over two TLS records", async () => {
    const hello = await clientHello("db.example.com");
    const body = hello.subarray(5);
    const record = (part: Uint8Array): Buffer => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, part.length >> 8, part.length & 0xff]), part]);
    const split = Buffer.concat([record(body.subarray(0, 40)), record(body.subarray(40))]);
    expect(readClientHelloSni(split)).toEqual({ type: "tls", sni: "db.example.com" });
  });

  it("answers sni undefined for a ClientHello without server_name (an IP target)", async () => {
    const hello = await clientHello(undefined);
    expect(readClientHelloSni(hello)).toEqual({ type: "tls", sni: undefined });
  });

  it("says not-tls for plain protocols", () => {
    expect(readClientHelloSni(Buffer.from("GET / HTTP/1.1\r\n"))).toEqual({ type: "not-tls" });
    expect(readClientHelloSni(Buffer.from([0x16, 0x01, 0, 0, 1, 1]))).toEqual({ type: "not-tls" });
    expect(readClientHelloSni(Buffer.from("*1\r\n$4\r\nPING\r\n"))).toEqual({ type: "not-tls" });
  });
});

describe("a TCP listener with inspectSni", () => {
  it("routes by SNI and still forwards the ClientHello bytes unchanged", async () => {
    const upstream = await captureServer();
    // One static endpoint (the test's server), answering for the service's host and port.
    const endpointSpec = singleEndpointClusterSpec({ name: "outbound|443||api.example.com", host: "127.0.0.1", addressHost: "127.0.0.1", port: upstream.port, portName: "tls", protocol: "tls", discovery: "static", origin: "test" });
    const spec: ClusterSpec = { ...endpointSpec, host: "api.example.com", port: 443, connectTimeoutMs: 1_000, tcpIdleTimeoutMs: 0 };
    const cluster = new ClusterRuntime(spec, new PoolRegistry(), performance.now(), undefined, () => 0);
    const seen: (string | undefined)[] = [];
    const records: TcpRecord[] = [];
    const listener = await startTcpListener({
      port: 0,
      host: "127.0.0.1",
      inspectSni: { timeoutMs: 1_000 },
      chooseCluster: (_socket, { sni }): TcpChoice => {
        seen.push(sni);
        return sni === "api.example.com"
          ? { type: "cluster", cluster, routeName: "tls-route" }
          : { type: "refuse", flag: "NR", status: 404, routeName: "", cluster: "" };
      },
      env: { now: () => performance.now(), wallClockMs: () => Date.now(), finished: (r) => records.push(r) },
    });
    cleanups.push(() => listener.drain(200));

    const client = tlsConnect({ host: "127.0.0.1", port: listener.port, servername: "api.example.com", rejectUnauthorized: false });
    client.on("error", () => undefined);
    cleanups.push(() => void client.destroy());
    const forwarded = await upstream.first;
    expect(readClientHelloSni(forwarded)).toEqual({ type: "tls", sni: "api.example.com" });

    // Plain bytes are not TLS: routed without SNI (refused here).
    const plain = connect({ port: listener.port, host: "127.0.0.1" });
    plain.on("error", () => undefined);
    cleanups.push(() => void plain.destroy());
    plain.write("PING\r\n");
    await new Promise((resolve) => plain.once("close", resolve));
    expect(seen).toEqual(["api.example.com", undefined]);
    client.destroy();
    for (let i = 0; i < 100 && records.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(records.map((r) => r.requestedServerName).sort()).toEqual(["", "api.example.com"]);
  });
});
