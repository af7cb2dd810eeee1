// The admin API of the inbound TCP listeners (Istio's protocol selection gives a `tcp-` port a raw
// TCP listener of its own): `/stats` carries their listener and tcp_proxy counters, `/clusters`
// their `inbound|<targetPort>||` cluster with its endpoint and health, and `POST /drain` stops
// them accepting while an open connection keeps flowing until it ends. Real sockets: a TCP echo
// application on 127.0.0.1, sidecars on their own loopback addresses at the port's targetPort.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

let root: string;
let app: Server;
let appPort = 0;
let observed: TestSidecar;
let drained: TestSidecar;
const OBSERVED_HOST = "127.0.0.6";
const DRAINED_HOST = "127.0.0.7";

/** The db service: a TCP port (targetPort = the echo application's port) and an HTTP port, one WorkloadEntry. */
function dbYaml(address: string): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db, namespace: default }
spec:
  hosts: [db.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
    - { number: 5432, name: tcp-db }
    - { number: 80, name: http, targetPort: 18080 }
  workloadSelector: { labels: { app: db } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: db-1, namespace: default }
spec:
  address: ${address}
  serviceAccount: db
  labels: { app: db }
  ports: { tcp-db: ${appPort} }
`;
}

async function startDbSidecar(name: string, bind: string, extra: string[] = []): Promise<TestSidecar> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "mesh.yaml"), dbYaml(bind));
  return startTestSidecar(["--config", dir, "--bind", bind, "--app-host", "127.0.0.1", "--labels", "app=db", "--workload-name", "db-1", "--outbound-port=-1", ...extra], root, name);
}

/** An open client connection with what it has received so far. */
interface Held {
  readonly socket: Socket;
  received: string;
  readonly closed: Promise<void>;
}

async function open(host: string, port: number): Promise<Held> {
  const socket = connect(port, host);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const held: Held = { socket, received: "", closed: new Promise((resolve) => socket.once("close", () => resolve())) };
  socket.on("data", (chunk: Buffer) => (held.received += chunk.toString()));
  socket.on("error", () => undefined);
  return held;
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Sends `text` and waits for the echo. */
async function echo(held: Held, text: string): Promise<void> {
  const before = held.received.length;
  held.socket.write(text);
  await until(() => held.received.length >= before + `echo:${text}`.length, `the echo of "${text}"`);
  expect(held.received.slice(before)).toBe(`echo:${text}`);
}

/** `/stats` of a sidecar as a map. */
async function stats(sidecar: TestSidecar, host: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://${host}:${sidecar.port("admin")}/stats`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const colon = line.lastIndexOf(": ");
    if (colon > 0) out.set(line.slice(0, colon), Number(line.slice(colon + 2)));
  }
  return out;
}

/** Whether a fresh connection to `host:port` is refused (nothing listens). */
function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-inbound-tcp-admin-"));
  app = createServer((socket) => {
    socket.on("data", (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`));
    socket.on("end", () => socket.end());
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  appPort = (app.address() as { port: number }).port;
  observed = await startDbSidecar("observed", OBSERVED_HOST);
  // A drain time long enough that the held connection ends by itself, not by the deadline.
  drained = await startDbSidecar("drained", DRAINED_HOST, ["--drain-seconds", "20"]);
});

afterAll(async () => {
  for (const sidecar of [observed, drained]) await sidecar?.stop();
  await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
  if (root) await rm(root, { recursive: true, force: true });
});

describe("admin API of the inbound TCP listeners", () => {
  it("/stats counts the listener's connections and the bytes its TCP proxy carried", async () => {
    const cluster = `inbound|${appPort}||`;
    const before = await stats(observed, OBSERVED_HOST);
    expect(before.get("listener.inbound_tcp.tcp-db.downstream_cx_total")).toBe(0);
    expect(before.get(`tcp.${cluster}.downstream_cx_total`)).toBe(0);

    const held = await open(OBSERVED_HOST, appPort);
    await echo(held, "hello");
    const during = await stats(observed, OBSERVED_HOST);
    expect(during.get("listener.inbound_tcp.tcp-db.downstream_cx_total")).toBe(1);
    expect(during.get("listener.inbound_tcp.tcp-db.downstream_cx_active")).toBe(1);
    expect(during.get(`tcp.${cluster}.downstream_cx_total`)).toBe(1);
    expect(during.get(`tcp.${cluster}.downstream_cx_rx_bytes_total`)).toBe("hello".length);
    expect(during.get(`tcp.${cluster}.downstream_cx_tx_bytes_total`)).toBe("echo:hello".length);
    expect(during.get("listener.inbound_tcp.plaintext")).toBe(1);

    held.socket.end();
    await held.closed;
    await until(async () => (await stats(observed, OBSERVED_HOST)).get("listener.inbound_tcp.tcp-db.downstream_cx_active") === 0, "the connection to close");
    const after = await stats(observed, OBSERVED_HOST);
    // The bytes of a closed connection stay counted.
    expect(after.get(`tcp.${cluster}.downstream_cx_rx_bytes_total`)).toBe("hello".length);
    expect(after.get(`tcp.${cluster}.downstream_cx_tx_bytes_total`)).toBe("echo:hello".length);
    // The inbound TCP cluster's own counters are listed like every cluster's.
    expect(after.get(`cluster.${cluster}.connectFailures`)).toBe(0);
  });

  it("/clusters lists the inbound TCP cluster with its application endpoint and health, in text and JSON", async () => {
    const cluster = `inbound|${appPort}||`;
    const held = await open(OBSERVED_HOST, appPort);
    await echo(held, "x");
    const text = await (await fetch(`http://${OBSERVED_HOST}:${observed.port("admin")}/clusters`)).text();
    const endpoint = `${cluster}::127.0.0.1:${appPort}`;
    expect(text).toContain(`${endpoint}::health_flags::healthy`);
    expect(text).toContain(`${endpoint}::cx_active::1`);
    expect(text).toContain(`${cluster}::default_priority::max_connections::`);
    const json = (await (await fetch(`http://${OBSERVED_HOST}:${observed.port("admin")}/clusters?format=json`)).json()) as { name: string; endpoints: { address: string; ejected: boolean; connections: number }[] }[];
    const entry = json.find((c) => c.name === cluster);
    expect(entry?.endpoints).toEqual([{ address: `127.0.0.1:${appPort}`, active: expect.any(Number) as number, ejected: false, connections: 1 }]);
    held.socket.end();
    await held.closed;
  });

  it("POST /drain stops accepting on the TCP listener, lets an open connection finish, then closes the listener", async () => {
    const admin = `http://${DRAINED_HOST}:${drained.port("admin")}`;
    const held = await open(DRAINED_HOST, appPort);
    await echo(held, "before");

    const response = await fetch(`${admin}/drain`, { method: "POST" });
    expect(response.status).toBe(200);
    expect(await (await fetch(`${admin}/ready`)).text()).toBe("DRAINING\n");

    // No new connection is accepted…
    await until(() => refused(DRAINED_HOST, appPort), "the listener to stop accepting");
    // …while the open one still carries bytes both ways, and is counted as draining.
    await echo(held, "during-drain");
    const during = await stats(drained, DRAINED_HOST);
    expect(during.get("listener.inbound_tcp.tcp-db.draining")).toBe(1);
    expect(during.get("listener.inbound_tcp.tcp-db.downstream_cx_active")).toBe(1);
    expect(held.socket.destroyed).toBe(false);

    // Once the client ends it, the drained listener is gone.
    held.socket.end();
    await held.closed;
    await until(async () => !(await stats(drained, DRAINED_HOST)).has("listener.inbound_tcp.tcp-db.draining"), "the drained listener to close");
    expect(drained.running.state.listeners.some((l) => l.name === "inbound-tcp tcp-db")).toBe(true);
    expect(await refused(DRAINED_HOST, appPort)).toBe(true);
  });
});
