// TcpProxy and the dedicated TCP listener over real loopback sockets: bytes both ways (5 MB with
// backpressure), half-close, connect failure with and without another attempt, circuit-breaker
// overflow, no healthy upstream and the idle timeout.
import { createHash } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { ClusterSpec } from "@meshwork/proxy-core";
import { afterEach, describe, expect, it } from "vitest";
import { ClusterRuntime } from "../proxy/cluster-runtime.ts";
import { formatResponseFlags } from "../telemetry/response-flags.ts";
import { PoolRegistry } from "../upstream/pool-registry.ts";
import { startTcpListener, type TcpListener } from "./tcp-listener.ts";
import type { TcpProxyEnvironment } from "./tcp-proxy.ts";
import type { TcpRecord } from "./tcp-record.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An upstream that echoes, half-close aware: it ends its side when the client ends. */
async function startEcho(onConnection?: (socket: Socket) => void): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    socket.on("error", () => undefined);
    if (onConnection) return onConnection(socket);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, port: (server.address() as { port: number }).port, sockets };
}

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function clusterSpec(ports: readonly number[], overrides: Partial<ClusterSpec> = {}): ClusterSpec {
  return {
    name: "outbound|5432||db.default.svc.cluster.local",
    host: "db.default.svc.cluster.local",
    port: 5432,
    portName: "tcp-db",
    subset: undefined,
    subsetLabels: {},
    protocol: "tcp",
    discovery: "static",
    endpoints: ports.map((port) => ({
      address: `127.0.0.1:${port}`,
      host: "127.0.0.1",
      port,
      weight: 1,
      healthy: true,
      locality: { region: "", zone: "", subZone: "" },
      labels: {},
      origin: "test",
    })),
    balancer: { type: "round-robin" },
    hashPolicy: undefined,
    locality: undefined,
    connectionPool: {},
    outlier: undefined,
    tls: undefined,
    connectTimeoutMs: 2_000,
    idleTimeoutMs: 3_600_000,
    tcpIdleTimeoutMs: 3_600_000,
    maxConnectionDurationMs: undefined,
    upstreamHttp2: false,
    useClientProtocol: false,
    destinationRules: [],
    ...overrides,
  };
}

interface Fixture {
  readonly listener: TcpListener;
  readonly cluster: ClusterRuntime;
  readonly records: TcpRecord[];
  /** Resolves with the next finished record. */
  nextRecord(): Promise<TcpRecord>;
}

async function startProxy(spec: ClusterSpec, maxConnectAttempts?: number): Promise<Fixture> {
  const pools = new PoolRegistry();
  const cluster = new ClusterRuntime(spec, pools, performance.now(), undefined, () => 0);
  const records: TcpRecord[] = [];
  const waiting: ((r: TcpRecord) => void)[] = [];
  const env: TcpProxyEnvironment = {
    now: () => performance.now(),
    wallClockMs: () => Date.now(),
    finished: (record) => {
      const waiter = waiting.shift();
      if (waiter) waiter(record);
      else records.push(record);
    },
  };
  const listener = await startTcpListener({
    port: 0,
    host: "127.0.0.1",
    chooseCluster: () => ({ type: "cluster", cluster, routeName: "test-route" }),
    env,
    maxConnectAttempts,
  });
  cleanups.push(() => listener.drain(500));
  return {
    listener,
    cluster,
    records,
    nextRecord: () => {
      const ready = records.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true }, () => resolve(socket));
    socket.once("error", reject);
    cleanups.push(() => void socket.destroy());
  });
}

/** Everything the socket sends until its end (or close). */
function readAll(socket: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.once("end", () => resolve(Buffer.concat(chunks)));
    socket.once("close", () => resolve(Buffer.concat(chunks)));
  });
}

function sha(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

async function until(condition: () => boolean, what: string | (() => string)): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
}

describe("TcpProxy", () => {
  it("moves bytes both ways and reports them with the upstream host and cluster", async () => {
    const echo = await startEcho();
    const proxy = await startProxy(clusterSpec([echo.port]));
    const client = await dial(proxy.listener.port);
    const received = readAll(client);
    client.end("hello, database");
    expect((await received).toString()).toBe("hello, database");
    const record = await proxy.nextRecord();
    expect(record).toMatchObject({
      bytesReceived: 15,
      bytesSent: 15,
      upstreamHost: `127.0.0.1:${echo.port}`,
      upstreamCluster: "outbound|5432||db.default.svc.cluster.local",
      routeName: "test-route",
      connectAttempts: 1,
    });
    expect(formatResponseFlags(record.responseFlags)).toBe("-");
    expect(proxy.cluster.breaker.inUse("connections")).toBe(0);
  });

  it("echoes 5 MB each way intact", async () => {
    const echo = await startEcho();
    const proxy = await startProxy(clusterSpec([echo.port]));
    const client = await dial(proxy.listener.port);
    const payload = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >> 10)) & 0xff;
    const received = readAll(client);
    client.end(payload);
    const got = await received;
    expect(got.length).toBe(payload.length);
    expect(sha(got)).toBe(sha(payload));
    const record = await proxy.nextRecord();
    expect([record.bytesReceived, record.bytesSent]).toEqual([payload.length, payload.length]);
  });

  it("stops reading the upstream while the client does not read (backpressure, 64 MB: more than loopback buffers hold), then delivers all of it", async () => {
    const total = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    let blocked = false;
    const echo = await startEcho((socket) => {
      const pump = (): void => {
        while (written < total) {
          written += chunk.length;
          if (!socket.write(chunk)) {
            blocked = true;
            socket.once("drain", () => {
              blocked = false;
              pump();
            });
            return;
          }
        }
        socket.end();
      };
      pump();
    });
    const proxy = await startProxy(clusterSpec([echo.port]));
    const client = await dial(proxy.listener.port);
    client.pause();
    // Wait until the upstream has been blocked at the same count for a while: the kernel buffers
    // and the proxy's socket buffers are full, and the proxy has stopped reading.
    let stable = 0;
    let last = -1;
    await until(() => {
      stable = blocked && written === last ? stable + 1 : 0;
      last = written;
      return stable >= 20;
    }, () => `the upstream to block (written ${written}, blocked ${blocked})`);
    expect(written).toBeLessThan(total);
    const received = readAll(client);
    client.resume();
    expect((await received).length).toBe(total);
    client.end();
    const record = await proxy.nextRecord();
    expect(record.bytesSent).toBe(total);
  });

  it("passes a half-close upstream and keeps the response direction open", async () => {
    const echo = await startEcho((socket) => {
      const chunks: Buffer[] = [];
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("end", () => {
        // The client has finished sending; answer afterwards, in two writes, then close.
        socket.write(`got ${Buffer.concat(chunks).toString()};`);
        setTimeout(() => socket.end("after FIN"), 20);
      });
    });
    const proxy = await startProxy(clusterSpec([echo.port]));
    const client = await dial(proxy.listener.port);
    const received = readAll(client);
    client.end("question");
    expect((await received).toString()).toBe("got question;after FIN");
    const record = await proxy.nextRecord();
    expect(record.bytesSent).toBe("got question;after FIN".length);
  });

  it("closes the client with UF,URX when the only endpoint refuses (Envoy's default: one attempt)", async () => {
    const dead = await deadPort();
    const proxy = await startProxy(clusterSpec([dead]));
    const client = await dial(proxy.listener.port);
    const received = readAll(client);
    client.write("lost");
    expect((await received).length).toBe(0);
    const record = await proxy.nextRecord();
    expect(formatResponseFlags(record.responseFlags)).toBe("UF,URX");
    expect(record.upstreamTransportFailureReason).toBe("ECONNREFUSED");
    expect(record.connectAttempts).toBe(1);
    expect(proxy.cluster.stats.connectFailures).toBe(1);
    expect(proxy.cluster.breaker.inUse("connections")).toBe(0);
  });

  it("tries another endpoint after a connect failure when maxConnectAttempts allows", async () => {
    const dead = await deadPort();
    const echo = await startEcho();
    const proxy = await startProxy(clusterSpec([dead, echo.port]), 2);
    const client = await dial(proxy.listener.port);
    const received = readAll(client);
    client.end("retry me");
    expect((await received).toString()).toBe("retry me");
    const record = await proxy.nextRecord();
    expect(record.connectAttempts).toBe(2);
    expect(record.upstreamHost).toBe(`127.0.0.1:${echo.port}`);
    // Envoy keeps UF on the stream info once an attempt failed, even if a later one succeeds.
    expect(formatResponseFlags(record.responseFlags)).toBe("UF");
  });

  it("feeds connect failures to outlier detection as gateway errors", async () => {
    const dead = await deadPort();
    const echo = await startEcho();
    const spec = clusterSpec([dead, echo.port], {
      outlier: { consecutive5xx: 5, consecutiveGatewayErrors: 1, intervalMs: 10_000, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 100 },
    });
    const proxy = await startProxy(spec, 2);
    const client = await dial(proxy.listener.port);
    const received = readAll(client);
    client.end("x");
    await received;
    await proxy.nextRecord();
    expect(proxy.cluster.isEjected(0)).toBe(true);
    expect(proxy.cluster.isEjected(1)).toBe(false);
  });

  it("refuses with UO when the cluster is at maxConnections, and frees the slot on close", async () => {
    const echo = await startEcho();
    const proxy = await startProxy(clusterSpec([echo.port], { connectionPool: { tcp: { maxConnections: 1 } } }));
    const first = await dial(proxy.listener.port);
    const firstEcho = readAll(first);
    first.write("holding");
    await until(() => echo.sockets.length === 1, "the first upstream connection");
    const second = await dial(proxy.listener.port);
    expect((await readAll(second)).length).toBe(0);
    const refused = await proxy.nextRecord();
    expect(formatResponseFlags(refused.responseFlags)).toBe("UO");
    expect(refused.upstreamHost).toBe("");
    expect(proxy.cluster.stats.overflows).toBe(1);
    first.end();
    expect((await firstEcho).toString()).toBe("holding");
    await proxy.nextRecord();
    expect(proxy.cluster.breaker.inUse("connections")).toBe(0);
  });

  it("refuses with UH when the cluster has no endpoint", async () => {
    const proxy = await startProxy(clusterSpec([]));
    const client = await dial(proxy.listener.port);
    expect((await readAll(client)).length).toBe(0);
    expect(formatResponseFlags((await proxy.nextRecord()).responseFlags)).toBe("UH");
  });

  it("closes both sides after tcpIdleTimeoutMs without traffic", async () => {
    const echo = await startEcho();
    const proxy = await startProxy(clusterSpec([echo.port], { tcpIdleTimeoutMs: 150 }));
    const client = await dial(proxy.listener.port);
    const received = readAll(client);
    client.write("ping");
    expect((await received).toString()).toBe("ping");
    const record = await proxy.nextRecord();
    expect(record.connectionTerminationDetails).toBe("tcp_session_idle_timeout");
    await until(() => echo.sockets[0]?.destroyed === true || echo.sockets[0]?.readableEnded === true, "the upstream side to close");
  });

  it("closes both sides with DT after maxConnectionDurationMs, even while bytes flow", async () => {
    const echo = await startEcho();
    const proxy = await startProxy(clusterSpec([echo.port], { maxConnectionDurationMs: 100 }));
    const client = await dial(proxy.listener.port);
    const received = readAll(client);
    const ticker = setInterval(() => client.write("."), 10);
    cleanups.push(() => clearInterval(ticker));
    await received;
    clearInterval(ticker);
    const record = await proxy.nextRecord();
    expect(formatResponseFlags(record.responseFlags)).toBe("DT");
    expect(record.connectionTerminationDetails).toBe("max_downstream_connection_duration_reached");
  });
});
