import { connect, createServer, Socket, type AddressInfo, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ConnectionOutcome } from "../authz/authorize-connection.ts";
import { ClusterRuntime } from "../proxy/cluster-runtime.ts";
import { singleEndpointClusterSpec } from "../proxy/single-endpoint-cluster.ts";
import { RESPONSE_FLAGS } from "../telemetry/response-flags.ts";
import { PoolRegistry } from "../upstream/pool-registry.ts";
import type { TcpRecord } from "./tcp-record.ts";
import { startTcpListener, type TcpListener, type TcpListenerOptions } from "./tcp-listener.ts";

const records: TcpRecord[] = [];
const env = { now: () => 0, wallClockMs: () => 0, finished: (record: TcpRecord) => void records.push(record) };
let listener: TcpListener | undefined;

afterEach(async () => {
  await listener?.drain(0);
  listener = undefined;
  records.length = 0;
});

/** Connects to the listener and resolves when the listener closes the connection. */
function closedByListener(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    socket.on("close", () => resolve());
    socket.setTimeout(5_000, () => reject(new Error("the listener did not close the connection")));
  });
}

const refuseAll: TcpListenerOptions["chooseCluster"] = () => ({ type: "refuse", flag: "NR", status: 404, routeName: "", cluster: "" });

describe("TcpListener handshake hook", () => {
  it("chooses the cluster for the socket and SNI the hook hands over, and records the SNI", async () => {
    const chosen: { sni: string | undefined; handedOver: boolean }[] = [];
    const handedOver = new WeakSet<Socket>();
    listener = await startTcpListener({
      port: 0,
      host: "127.0.0.1",
      env,
      // Stands in for a TLS socket over the accepted one: closing it closes the connection.
      handshake: (socket, proceed) => {
        const wrapper = new Socket();
        wrapper.once("close", () => socket.destroy());
        handedOver.add(wrapper);
        proceed(wrapper, "db.example.com");
      },
      chooseCluster: (socket, inspected) => {
        chosen.push({ sni: inspected.sni, handedOver: handedOver.has(socket) });
        return refuseAll(socket, inspected);
      },
    });
    await closedByListener(listener.port);
    expect(chosen).toEqual([{ sni: "db.example.com", handedOver: true }]);
    expect(records.map((r) => [r.requestedServerName, r.responseFlags])).toEqual([["db.example.com", RESPONSE_FLAGS.NR]]);
  });

  it("neither chooses nor records a connection the hook refuses", async () => {
    let chosen = 0;
    listener = await startTcpListener({
      port: 0,
      host: "127.0.0.1",
      env,
      handshake: (socket) => socket.destroy(),
      chooseCluster: (socket, inspected) => {
        chosen += 1;
        return refuseAll(socket, inspected);
      },
    });
    await closedByListener(listener.port);
    expect({ chosen, records: records.length }).toEqual({ chosen: 0, records: 0 });
  });

  it("closes connections still in the hook when it drains", async () => {
    const held: Socket[] = [];
    const started = await startTcpListener({ port: 0, host: "127.0.0.1", env, handshake: (socket) => void held.push(socket), chooseCluster: refuseAll });
    const closed = closedByListener(started.port);
    while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([started.drain(60_000), closed]);
    expect(held[0]?.destroyed).toBe(true);
    expect(records).toEqual([]);
  });
});

describe("TcpListener authorize hook", () => {
  let echo: Server | undefined;
  afterEach(() => {
    echo?.close();
    echo = undefined;
  });

  /** An echo server and a listener whose every connection goes to it, authorized by `authorize`. */
  async function start(authorize: TcpListenerOptions["authorize"], handshake?: TcpListenerOptions["handshake"]): Promise<{ port: number; dialled: () => number }> {
    let dialled = 0;
    const server = createServer((socket) => {
      dialled += 1;
      socket.pipe(socket);
    });
    echo = server;
    const echoPort = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
    const spec = singleEndpointClusterSpec({ name: "outbound|9000||echo.test", host: "127.0.0.1", addressHost: "127.0.0.1", port: echoPort, portName: "tcp", protocol: "tcp", discovery: "static", origin: "test" });
    const cluster = new ClusterRuntime(spec, new PoolRegistry(), 0, undefined, () => 0);
    listener = await startTcpListener({ port: 0, host: "127.0.0.1", env, authorize, handshake, chooseCluster: () => ({ type: "cluster", cluster, routeName: "echo-route" }) });
    return { port: listener.port, dialled: () => dialled };
  }

  /** Sends "ping" and resolves with what came back before the listener closed the connection. */
  function exchange(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => socket.write("ping"));
      let received = "";
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString();
        if (received === "ping") socket.end();
      });
      socket.on("error", () => undefined);
      socket.on("close", () => resolve(received));
      socket.setTimeout(5_000, () => reject(new Error("no answer and no close")));
    });
  }

  const denied: ConnectionOutcome = { type: "deny", flag: undefined, details: "rbac_access_denied_matched_policy[ns[istio-system]-policy[deny-all]-rule[0]]", reason: "denied", policy: "istio-system/deny-all" };

  it("closes a denied connection before the upstream is dialled, with the RBAC details in its record", async () => {
    const { port, dialled } = await start(() => denied);
    expect(await exchange(port)).toBe("");
    expect(dialled()).toBe(0);
    expect(records.map((r) => [r.connectionTerminationDetails, r.routeName, r.upstreamCluster, r.responseFlags])).toEqual([[denied.details, "echo-route", "outbound|9000||echo.test", 0]]);
    expect(listener?.authzStats).toEqual({ allowed: 0, denied: 1, externalDenied: 0, externalError: 0 });
  });

  it("proxies an allowed connection, also when the answer comes later", async () => {
    const allowed: ConnectionOutcome = { type: "allow", decision: { type: "allow", policy: undefined, rule: undefined, effectivePolicyId: "none", audit: false } };
    const { port } = await start(() => new Promise((resolve) => setImmediate(() => resolve(allowed))));
    expect(await exchange(port)).toBe("ping");
    expect(listener?.authzStats).toEqual({ allowed: 1, denied: 0, externalDenied: 0, externalError: 0 });
  });

  it("counts and flags the external authorizer's denial UAEX", async () => {
    const { port } = await start(() => Promise.resolve({ type: "deny", flag: "UAEX", details: "ext_authz_error", reason: "unreachable", policy: "istio-system/ext" }));
    expect(await exchange(port)).toBe("");
    expect(records.map((r) => [r.connectionTerminationDetails, r.responseFlags])).toEqual([["ext_authz_error", RESPONSE_FLAGS.UAEX]]);
    expect(listener?.authzStats).toEqual({ allowed: 0, denied: 0, externalDenied: 0, externalError: 1 });
  });

  it("proxies without counting when the hook has no policies to apply", async () => {
    const { port } = await start(() => undefined);
    expect(await exchange(port)).toBe("ping");
    expect(listener?.authzStats).toEqual({ allowed: 0, denied: 0, externalDenied: 0, externalError: 0 });
  });

  it("hands the SNI and the certificate the handshake hook verified to the hook", async () => {
    const security = { peerSpiffeId: "spiffe://cluster.local/ns/foo/sa/sleep", peerPrincipal: "cluster.local/ns/foo/sa/sleep", tlsVersion: "TLSv1.3", alpn: "" };
    const seen: unknown[] = [];
    const { port } = await start(
      (_socket, inspected) => {
        seen.push(inspected);
        return denied;
      },
      (socket, proceed) => proceed(socket, "db.example.com", security),
    );
    expect(await exchange(port)).toBe("");
    expect(seen).toEqual([{ sni: "db.example.com", security }]);
  });
});
