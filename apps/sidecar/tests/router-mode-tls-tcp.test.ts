// Router mode terminating TLS and forwarding TCP, as Istio serves a Gateway `TLS` server in
// SIMPLE or MUTUAL mode: two Gateways share a port, the client's SNI picks the server (and so the
// certificate and the Gateway whose VirtualService `tcp` route applies), and the decrypted bytes
// go to a raw TCP upstream. A third port's Gateway has no VirtualService. Certificates made with
// openssl; real TLS clients, a real sidecar and real TCP upstreams.
import { X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { freePort, issueWithOpenssl, readIssued, type IssuedFiles } from "@meshwork/testing/processes";
import { eventually } from "@meshwork/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

/** A TCP upstream that answers each chunk with `<name>:<chunk>` and keeps what it received. */
interface TaggedEcho {
  readonly server: Server;
  readonly port: number;
  /** Bytes received, all connections together. */
  received: Buffer;
  connections: number;
}

let dir: string;
let db: TaggedEcho;
let queue: TaggedEcho;
let sidecar: TestSidecar;
let sharedPort: number;
let unroutedPort: number;
let exampleCa: string;
let client: { cert: string; key: string };
let dbSerial: string;
let queueSerial: string;

const issue = (name: string, cn: string, san: string, ca?: string): Promise<IssuedFiles> => issueWithOpenssl(dir, name, cn, san, ca);
const serialOf = async (issued: IssuedFiles): Promise<string> => new X509Certificate((await readIssued(issued)).cert).serialNumber;

async function startTaggedEcho(name: string): Promise<TaggedEcho> {
  const server = createServer((socket) => {
    echo.connections += 1;
    socket.on("data", (chunk: Buffer) => {
      echo.received = Buffer.concat([echo.received, chunk]);
      socket.write(`${name}:${chunk.toString("latin1")}`);
    });
    socket.on("end", () => socket.end());
    socket.on("error", () => undefined);
  });
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
  const echo: TaggedEcho = { server, port, received: Buffer.alloc(0), connections: 0 };
  return echo;
}

const gatewayYaml = (dbCert: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db, namespace: default }
spec:
  hosts: [db.default.svc.cluster.local]
  ports: [{ number: 5432, name: tcp, protocol: TCP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { tcp: ${db.port} } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: queue, namespace: default }
spec:
  hosts: [queue.default.svc.cluster.local]
  ports: [{ number: 5672, name: tcp, protocol: TCP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { tcp: ${queue.port} } }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: db-gateway, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: ${sharedPort}, name: tls-db, protocol: TLS }
    tls: { mode: SIMPLE, serverCertificate: ${join(dir, `${dbCert}.crt`)}, privateKey: ${join(dir, `${dbCert}.key`)} }
    hosts: [db.example.com]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: queue-gateway, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: ${sharedPort}, name: tls-queue, protocol: TLS }
    tls:
      mode: MUTUAL
      serverCertificate: ${join(dir, "queue.crt")}
      privateKey: ${join(dir, "queue.key")}
      caCertificates: ${join(dir, "example.com.crt")}
    hosts: [queue.example.com]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: unrouted-gateway, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: ${unroutedPort}, name: tls-unrouted, protocol: TLS }
    tls: { mode: SIMPLE, serverCertificate: ${join(dir, "db.crt")}, privateKey: ${join(dir, "db.key")} }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: db, namespace: default }
spec:
  hosts: [db.example.com]
  gateways: [istio-system/db-gateway]
  tcp:
  - match: [{ port: ${sharedPort} }]
    route: [{ destination: { host: db.default.svc.cluster.local, port: { number: 5432 } } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: queue, namespace: default }
spec:
  hosts: [queue.example.com]
  gateways: [istio-system/queue-gateway]
  tcp:
  - match: [{ port: ${sharedPort} }]
    route: [{ destination: { host: queue.default.svc.cluster.local, port: { number: 5672 } } }]
`;

/** A TLS connection through the gateway: the certificate it presented, and a way to send a line and read the answer. */
interface Connection {
  readonly socket: TLSSocket;
  readonly serial: string;
  /** Writes `line` and resolves with the next chunk of the answer; rejects when the connection closes first. */
  send(line: string): Promise<string>;
}

/** `anyName`: accept a certificate of the CA whatever names it lists. */
function connect(port: number, servername: string, options: { client?: { cert: string; key: string }; anyName?: true } = {}): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, servername, ca: exampleCa, ...options.client, ...(options.anyName ? { checkServerIdentity: () => undefined } : {}) }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      const send = (line: string): Promise<string> =>
        new Promise((answer, fail) => {
          const onData = (chunk: string): void => {
            socket.off("close", onClose);
            answer(chunk);
          };
          const onClose = (): void => {
            socket.off("data", onData);
            fail(new Error(`the gateway closed the connection before answering ${JSON.stringify(line)}`));
          };
          socket.once("data", onData);
          socket.once("close", onClose);
          socket.write(line);
        });
      resolve({ socket, serial, send });
    });
    socket.setEncoding("utf8");
    socket.on("error", reject);
  });
}

/** Connects, sends one line and closes: the answer. */
async function exchange(port: number, servername: string, line: string, options: { client?: { cert: string; key: string } } = {}): Promise<{ serial: string; reply: string }> {
  const connection = await connect(port, servername, options);
  connection.socket.on("error", () => undefined);
  try {
    return { serial: connection.serial, reply: await connection.send(line) };
  } finally {
    connection.socket.destroy();
  }
}

const stat = (name: string): number => sidecar.running.state.stats().find(([key]) => key === name)?.[1] ?? -1;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-router-tls-tcp-"));
  await mkdir(join(dir, "config"));
  const ca = await issue("example.com", "example.com", "");
  const caPrefix = join(dir, "example.com");
  exampleCa = (await readIssued(ca)).cert;
  dbSerial = await serialOf(await issue("db", "db.example.com", "DNS:db.example.com", caPrefix));
  queueSerial = await serialOf(await issue("queue", "queue.example.com", "DNS:queue.example.com", caPrefix));
  client = await readIssued(await issue("client", "client.example.com", "DNS:client.example.com", caPrefix));
  db = await startTaggedEcho("db");
  queue = await startTaggedEcho("queue");
  sharedPort = await freePort();
  unroutedPort = await freePort();
  await writeFile(join(dir, "config", "gateway.yaml"), gatewayYaml("db"));
  sidecar = await startTestSidecar(["--config", join(dir, "config"), "--proxy-mode", "router", "--labels", "istio=ingressgateway", "--namespace", "istio-system"], dir, "gateway-tls-tcp");
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  db?.server.close();
  queue?.server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("router mode TLS servers that terminate and forward TCP", () => {
  it("terminates SIMPLE TLS with the server's certificate and forwards the plaintext to the tcp route's upstream", async () => {
    const before = db.received.length;
    const answer = await exchange(sharedPort, "db.example.com", "SELECT 1;\n");
    expect(answer).toEqual({ serial: dbSerial, reply: "db:SELECT 1;\n" });
    expect(db.received.subarray(before).toString("latin1")).toBe("SELECT 1;\n");
    expect(sidecar.port(`gateway-${sharedPort}`)).toBe(sharedPort);
    const logged = async (): Promise<Record<string, unknown> | undefined> => (await sidecar.accessLog()).find((l) => l["requested_server_name"] === "db.example.com");
    await eventually("the connection is in the access log", logged, { timeoutMs: 5_000, intervalMs: 50 });
    expect(await logged()).toMatchObject({ route_name: "default/db tcp[0]", upstream_cluster: "outbound|5432||db.default.svc.cluster.local", response_flags: "-" });
  });

  it("lets the SNI pick the server on a shared port: its certificate and its Gateway's tcp route", async () => {
    expect(await exchange(sharedPort, "queue.example.com", "PUBLISH\n", { client })).toEqual({ serial: queueSerial, reply: "queue:PUBLISH\n" });
    expect(await exchange(sharedPort, "db.example.com", "SELECT 2;\n")).toEqual({ serial: dbSerial, reply: "db:SELECT 2;\n" });
  });

  it("refuses a MUTUAL server's client without a certificate, counting it and proxying nothing", async () => {
    const refused = stat(`listener.gateway-${sharedPort}.ssl.refused`);
    const handshakes = stat(`listener.gateway-${sharedPort}.ssl.handshake`);
    expect(refused).toBeGreaterThanOrEqual(0);
    const upstreamConnections = queue.connections;
    await expect(exchange(sharedPort, "queue.example.com", "PUBLISH\n")).rejects.toThrow();
    await eventually("the refusal is counted", () => stat(`listener.gateway-${sharedPort}.ssl.refused`) === refused + 1, { timeoutMs: 5_000, intervalMs: 50 });
    expect(stat(`listener.gateway-${sharedPort}.ssl.handshake`)).toBe(handshakes);
    expect(queue.connections).toBe(upstreamConnections);
    expect((await exchange(sharedPort, "queue.example.com", "PUBLISH\n", { client })).reply).toBe("queue:PUBLISH\n");
    expect(queue.connections).toBe(upstreamConnections + 1);
  });

  it("refuses an SNI no server lists during the handshake", async () => {
    const refused = stat(`listener.gateway-${sharedPort}.ssl.refused`);
    await expect(exchange(sharedPort, "other.example.com", "hello\n")).rejects.toThrow();
    await eventually("the refusal is counted", () => stat(`listener.gateway-${sharedPort}.ssl.refused`) === refused + 1, { timeoutMs: 5_000, intervalMs: 50 });
  });

  it("closes a terminated connection that no tcp route takes, logged with NR and the SNI", async () => {
    const connection = await connect(unroutedPort, "anything.example.com", { anyName: true });
    expect(connection.serial).toBe(dbSerial);
    await expect(connection.send("hello\n")).rejects.toThrow(/closed the connection/);
    const logged = async (): Promise<Record<string, unknown> | undefined> => (await sidecar.accessLog()).find((l) => l["requested_server_name"] === "anything.example.com");
    await eventually("the refusal is logged", logged, { timeoutMs: 5_000, intervalMs: 50 });
    expect(await logged()).toMatchObject({ response_flags: "NR", upstream_cluster: null, route_name: null });
  });

  it("serves a pushed certificate to new handshakes while an open connection keeps going", async () => {
    const open = await connect(sharedPort, "db.example.com");
    open.socket.on("error", () => undefined);
    try {
      expect(await open.send("before\n")).toBe("db:before\n");
      const nextSerial = await serialOf(await issue("db-2", "db.example.com", "DNS:db.example.com", join(dir, "example.com")));
      expect(nextSerial).not.toBe(dbSerial);
      const yaml = await readFile(join(dir, "config", "gateway.yaml"), "utf8");
      await writeFile(join(dir, "config", "gateway.yaml"), yaml.replace(gatewayYaml("db"), gatewayYaml("db-2")));
      await eventually("new handshakes get the pushed certificate", async () => (await exchange(sharedPort, "db.example.com", "ping\n")).serial === nextSerial, { timeoutMs: 10_000, intervalMs: 100 });
      expect(await open.send("after\n")).toBe("db:after\n");
      expect(open.serial).toBe(dbSerial);
    } finally {
      open.socket.destroy();
    }
  });
});
