// CONNECT tunnels through a test listener that parses the request line and hands the socket to
// handleConnectTunnel, against real upstreams and a config built from Istio YAML: routing by
// the TCP route table (weighted, chi-square), local replies with flags, passthrough.
import { connect, createServer, type Server, type Socket } from "node:net";
import { loadResources, type MeshResource } from "@meshwork/config";
import { buildProxyConfig, compileTcpRouteTable } from "@meshwork/proxy-core";
import { afterEach, describe, expect, it } from "vitest";
import { buildSnapshot } from "../proxy/build-snapshot.ts";
import { formatResponseFlags } from "../telemetry/response-flags.ts";
import { PoolRegistry } from "../upstream/pool-registry.ts";
import type { TcpSnapshot } from "./choose-tcp-cluster.ts";
import { handleConnectTunnel } from "./connect-tunnel.ts";
import type { TcpProxyEnvironment } from "./tcp-proxy.ts";
import type { TcpRecord } from "./tcp-record.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as { port: number }).port;
}

/** Echo upstream; with `name`, it instead says its name and closes (to count picks). */
function startUpstream(name?: string): Promise<number> {
  return listen(
    createServer({ allowHalfOpen: true }, (socket) => {
      socket.on("error", () => undefined);
      if (name !== undefined) socket.end(name);
      else socket.pipe(socket);
    }),
  );
}

async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A seeded PRNG (mulberry32), so the weighted test is reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function tcpSnapshot(yaml: string, outboundTrafficPolicy: "ALLOW_ANY" | "REGISTRY_ONLY" = "ALLOW_ANY"): TcpSnapshot {
  const loaded = loadResources([{ path: "test.yaml", text: yaml }]);
  const errors = loaded.issues.filter((i) => i.severity === "error");
  if (errors.length > 0) throw new Error(`test config invalid: ${JSON.stringify(errors, null, 2)}`);
  const options = { namespace: "default", domainSuffix: "cluster.local" };
  const { config } = buildProxyConfig(loaded.resources, { ...options, proxyLabels: { app: "test" }, version: "test" });
  const pools = new PoolRegistry();
  cleanups.push(() => pools.closeAll());
  const snapshot = buildSnapshot(
    config,
    { pools, namespace: "default", proxyLabels: { app: "test" }, gateway: "mesh", outboundTrafficPolicy, proxyLocality: undefined, nowMs: performance.now() },
    undefined,
  );
  const of = <K extends MeshResource["kind"]>(kind: K): MeshResource<K>[] => loaded.resources.filter((r) => r.kind === kind) as unknown as MeshResource<K>[];
  const tcpRoutes = compileTcpRouteTable(of("VirtualService"), of("DestinationRule"), { ...options, serviceHosts: config.services.map((s) => s.host) });
  return { ...snapshot, tcpRoutes, passthrough: (authority, port) => snapshot.passthrough(authority, port) };
}

function serviceYaml(host: string, port: number, endpoints: readonly { port: number; version: string }[], extra = ""): string {
  const list = endpoints.map((e) => `    - address: 127.0.0.1\n      ports: { tcp-db: ${e.port} }\n      labels: { version: ${e.version} }`).join("\n");
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: svc, namespace: default }
spec:
  hosts: [${host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
    - { number: ${port}, name: tcp-db, protocol: TCP }
  endpoints:
${list}
${extra}`;
}

interface Proxy {
  readonly port: number;
  readonly records: TcpRecord[];
  nextRecord(): Promise<TcpRecord>;
}

/** A listener that reads one CONNECT head and hands the socket to handleConnectTunnel. */
async function startConnectProxy(snapshot: TcpSnapshot, random: () => number = Math.random, maxConnectAttempts?: number): Promise<Proxy> {
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
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      const [method, authority] = head.subarray(0, head.indexOf("\r\n")).toString("latin1").split(" ");
      if (method !== "CONNECT" || authority === undefined) throw new Error(`test proxy got ${method}`);
      handleConnectTunnel(socket, { authority, leftover: head.subarray(end + 4), snapshot, env, random, maxConnectAttempts });
    };
    socket.on("data", onData);
  });
  const port = await listen(server);
  return {
    port,
    records,
    nextRecord: () => {
      const ready = records.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

/** Sends `CONNECT authority` plus `early` bytes, then `late` after the reply, half-closes, and returns everything received. */
function tunnel(port: number, authority: string, early = "", late = ""): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    cleanups.push(() => void socket.destroy());
    let received = "";
    let sentLate = false;
    socket.on("error", reject);
    socket.on("data", (c: Buffer) => {
      received += c.toString("latin1");
      if (!sentLate && received.includes("\r\n\r\n")) {
        sentLate = true;
        if (received.startsWith("HTTP/1.1 200")) socket.end(late);
      }
    });
    // A refused tunnel ends with the proxy's FIN after the reply; close our side then.
    socket.on("end", () => socket.end());
    socket.on("close", () => resolve(received));
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n${early}`);
  });
}

const established = "HTTP/1.1 200 Connection Established\r\n\r\n";

describe("handleConnectTunnel", () => {
  it("answers 200 once the upstream is connected and tunnels bytes sent with and after the head", async () => {
    const echo = await startUpstream();
    const proxy = await startConnectProxy(tcpSnapshot(serviceYaml("db.default.svc.cluster.local", 5432, [{ port: echo, version: "v1" }])));
    expect(await tunnel(proxy.port, "db.default.svc.cluster.local:5432", "early;", "late")).toBe(`${established}early;late`);
    const record = await proxy.nextRecord();
    expect(record).toMatchObject({
      upstreamCluster: "outbound|5432||db.default.svc.cluster.local",
      routeName: "default",
      upstreamHost: `127.0.0.1:${echo}`,
      bytesReceived: "early;late".length,
      bytesSent: "early;late".length,
    });
  });

  it("splits connections by the tcp route's weights (chi-square, 400 connections)", async () => {
    const v1 = await startUpstream("v1");
    const v2 = await startUpstream("v2");
    const yaml = serviceYaml(
      "db.default.svc.cluster.local",
      5432,
      [
        { port: v1, version: "v1" },
        { port: v2, version: "v2" },
      ],
      `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: db, namespace: default }
spec:
  host: db.default.svc.cluster.local
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: db, namespace: default }
spec:
  hosts: [db]
  tcp:
    - match: [{ port: 5432 }]
      route:
        - { destination: { host: db, subset: v1 }, weight: 70 }
        - { destination: { host: db, subset: v2 }, weight: 30 }
`,
    );
    const proxy = await startConnectProxy(tcpSnapshot(yaml), seeded(42));
    const counts = { v1: 0, v2: 0 };
    const total = 400;
    for (let batch = 0; batch < total / 20; batch++) {
      const replies = await Promise.all(Array.from({ length: 20 }, () => tunnel(proxy.port, "db:5432")));
      for (const reply of replies) {
        const name = reply.slice(established.length) as "v1" | "v2";
        counts[name] += 1;
      }
    }
    expect(counts.v1 + counts.v2).toBe(total);
    const expected = [0.7 * total, 0.3 * total];
    const chiSquare = ((counts.v1 - (expected[0] as number)) ** 2) / (expected[0] as number) + ((counts.v2 - (expected[1] as number)) ** 2) / (expected[1] as number);
    // df = 1, p = 0.001.
    expect(chiSquare, JSON.stringify(counts)).toBeLessThan(10.83);
    const routes = new Set(proxy.records.map((r) => r.routeName));
    expect([...routes]).toEqual(["default/db tcp[0]"]);
  });

  it("answers 503 with UF,URX when the endpoint refuses", async () => {
    const dead = await deadPort();
    const proxy = await startConnectProxy(tcpSnapshot(serviceYaml("db.default.svc.cluster.local", 5432, [{ port: dead, version: "v1" }])));
    const reply = await tunnel(proxy.port, "db.default.svc.cluster.local:5432");
    expect(reply).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(reply).toContain("reset reason: connection failure");
    expect(formatResponseFlags((await proxy.nextRecord()).responseFlags)).toBe("UF,URX");
  });

  it("answers 503 with UO when the cluster is at maxConnections", async () => {
    const echo = await startUpstream();
    const limit = `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: db, namespace: default }
spec:
  host: db.default.svc.cluster.local
  trafficPolicy: { connectionPool: { tcp: { maxConnections: 1 } } }
`;
    const proxy = await startConnectProxy(tcpSnapshot(serviceYaml("db.default.svc.cluster.local", 5432, [{ port: echo, version: "v1" }], limit)));
    // Hold one tunnel open.
    const holder = connect({ port: proxy.port, host: "127.0.0.1" });
    cleanups.push(() => void holder.destroy());
    await new Promise<void>((resolve) => {
      holder.once("data", () => resolve());
      holder.write("CONNECT db:5432 HTTP/1.1\r\n\r\n");
    });
    const reply = await tunnel(proxy.port, "db:5432");
    expect(reply).toMatch(/^HTTP\/1\.1 503 /);
    expect(reply).toContain("reset reason: overflow");
    expect(formatResponseFlags((await proxy.nextRecord()).responseFlags)).toBe("UO");
  });

  it("answers 404 NR for an unknown host under REGISTRY_ONLY, and passes through under ALLOW_ANY", async () => {
    const echo = await startUpstream();
    const yaml = serviceYaml("db.default.svc.cluster.local", 5432, [{ port: echo, version: "v1" }]);
    const strict = await startConnectProxy(tcpSnapshot(yaml, "REGISTRY_ONLY"));
    expect(await tunnel(strict.port, `127.0.0.1:${echo}`)).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(formatResponseFlags((await strict.nextRecord()).responseFlags)).toBe("NR");
    const open = await startConnectProxy(tcpSnapshot(yaml, "ALLOW_ANY"));
    expect(await tunnel(open.port, `127.0.0.1:${echo}`, "", "through")).toBe(`${established}through`);
    expect(await open.nextRecord()).toMatchObject({ routeName: "allow_any", upstreamCluster: "PassthroughCluster" });
  });

  it("answers 400 for a target that is not host:port", async () => {
    const proxy = await startConnectProxy(tcpSnapshot(serviceYaml("db.default.svc.cluster.local", 5432, [{ port: 1, version: "v1" }])));
    expect(await tunnel(proxy.port, "db.default.svc.cluster.local")).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  });
});
