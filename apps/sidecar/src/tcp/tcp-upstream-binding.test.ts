// `--tcp-upstream` parsing, and a binding end to end: a local port whose connections reach the
// bound service through the TCP route table.
import { connect, createServer, type Socket } from "node:net";
import { compileTcpRouteTable, type ClusterSpec } from "@meshwork/proxy-core";
import { afterEach, describe, expect, it } from "vitest";
import { ClusterRuntime } from "../proxy/cluster-runtime.ts";
import { singleEndpointClusterSpec } from "../proxy/single-endpoint-cluster.ts";
import { PoolRegistry } from "../upstream/pool-registry.ts";
import type { TcpSnapshot } from "./choose-tcp-cluster.ts";
import { parseAuthority } from "./connect-tunnel.ts";
import { startTcpListener } from "./tcp-listener.ts";
import type { TcpRecord } from "./tcp-record.ts";
import { bindingChooser, parseTcpUpstreamBinding } from "./tcp-upstream-binding.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("parseTcpUpstreamBinding", () => {
  it("reads service:port=localPort, binding to loopback", () => {
    expect(parseTcpUpstreamBinding("db.default.svc.cluster.local:5432=15432")).toEqual({
      ok: true,
      binding: { host: "db.default.svc.cluster.local", port: 5432, bindAddress: "127.0.0.1", localPort: 15432 },
    });
  });

  it("reads an explicit bind address, IPv6 bracketed", () => {
    expect(parseTcpUpstreamBinding("db:5432=[::1]:15432")).toEqual({ ok: true, binding: { host: "db", port: 5432, bindAddress: "::1", localPort: 15432 } });
    expect(parseTcpUpstreamBinding("[fd00::5]:6379=0.0.0.0:16379")).toEqual({ ok: true, binding: { host: "fd00::5", port: 6379, bindAddress: "0.0.0.0", localPort: 16379 } });
  });

  it("names the input and the expected form when it cannot parse", () => {
    const cases: Record<string, string> = {
      "db:5432": 'no "="',
      "db=15432": '"db" is not host:port',
      "db:70000=15432": '"db:70000" is not host:port',
      "db:5432=0": 'local port "0" is not 1..65535',
      "db:5432=x": 'local port "x"',
    };
    for (const [input, fragment] of Object.entries(cases)) {
      const parsed = parseTcpUpstreamBinding(input);
      if (parsed.ok) throw new Error(`${input} parsed`);
      expect(parsed.message).toContain(`--tcp-upstream "${input}"`);
      expect(parsed.message).toContain(fragment);
      expect(parsed.message).toContain("service:port=localPort");
    }
  });
});

describe("parseAuthority", () => {
  it("accepts host:port and [v6]:port only", () => {
    expect(parseAuthority("db:5432")).toEqual({ host: "db", port: 5432 });
    expect(parseAuthority("[::1]:80")).toEqual({ host: "::1", port: 80 });
    for (const bad of ["db", ":80", "db:0", "db:65536", "::1:80", "[::1:80", "db:8a"]) expect(parseAuthority(bad), bad).toBeUndefined();
  });
});

describe("a tcp upstream binding", () => {
  it("sends every connection on the local port to the bound service's cluster", async () => {
    const sockets: Socket[] = [];
    const upstream = createServer({ allowHalfOpen: true }, (s) => {
      sockets.push(s);
      s.pipe(s);
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => upstream.close(() => resolve()));
    });
    const upstreamPort = (upstream.address() as { port: number }).port;
    const host = "db.default.svc.cluster.local";
    // One static endpoint (the test's server), answering for the service's host and port.
    const endpointSpec = singleEndpointClusterSpec({ name: `outbound|5432||${host}`, host: "127.0.0.1", addressHost: "127.0.0.1", port: upstreamPort, portName: "tcp", protocol: "tcp", discovery: "static", origin: "test" });
    const spec: ClusterSpec = { ...endpointSpec, host: host, port: 5432, connectTimeoutMs: 1_000, tcpIdleTimeoutMs: 0 };
    const cluster = new ClusterRuntime(spec, new PoolRegistry(), performance.now(), undefined, () => 0);
    const snapshot: TcpSnapshot = {
      tcpRoutes: compileTcpRouteTable([], [], { namespace: "default", domainSuffix: "cluster.local", serviceHosts: [host] }),
      namespace: "default",
      proxyLabels: {},
      clusters: new Map([[cluster.name, cluster]]),
      passthrough: () => undefined,
    };
    const parsed = parseTcpUpstreamBinding("db:5432=15432");
    if (!parsed.ok) throw new Error(parsed.message);
    // The test listens on a free port rather than the fixed one.
    const binding = { ...parsed.binding, localPort: 0 };
    const records: TcpRecord[] = [];
    const listener = await startTcpListener({
      port: binding.localPort,
      host: binding.bindAddress,
      chooseCluster: bindingChooser(binding, () => snapshot, () => 0),
      env: { now: () => performance.now(), wallClockMs: () => Date.now(), finished: (r) => records.push(r) },
    });
    cleanups.push(() => listener.drain(200));
    const reply = await new Promise<string>((resolve, reject) => {
      const client = connect({ port: listener.port, host: "127.0.0.1", allowHalfOpen: true });
      let text = "";
      client.on("data", (c: Buffer) => (text += c.toString()));
      client.on("error", reject);
      client.on("close", () => resolve(text));
      client.end("SELECT 1");
    });
    expect(reply).toBe("SELECT 1");
    for (let i = 0; i < 100 && records.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(records[0]).toMatchObject({ upstreamCluster: `outbound|5432||${host}`, routeName: "default" });
  });
});
