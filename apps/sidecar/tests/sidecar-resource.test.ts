// Istio's Sidecar resource on a real sidecar (standalone config, real sockets): its ingress
// listeners replace the workload's service ports, each listening on its own port number and
// forwarding to its defaultEndpoint — an HTTP application on another loopback port, one on a Unix
// socket, a raw TCP application (whose connectionPool limits connections), and an HTTPS port where
// the sidecar terminates TLS itself with the listener's certificate. Its egress listener on port
// 9080 imports only bank's services there: shop's service on 9080 is not routed (404 NR under
// REGISTRY_ONLY) while the catch-all listener still imports shop's other ports.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "@meshwork/testing";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testCertificatePem, testPrivateKeyPem } from "./support/h2-test-certificate.ts";
import { send } from "./support/http-client.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";
import { tcpRoundTrip } from "./support/tcp-round-trip.ts";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

let root: string;
let sidecar: TestSidecar;
let httpApp: UpstreamServer;
let unixApp: HttpServer;
let tcpApp: Server;
let ledger: UpstreamServer;
let web: UpstreamServer;
/** The ingress listeners' port numbers (free ports: the Sidecar names them). */
const listen = { http: 0, unix: 0, tcp: 0, https: 0 };
const closers: (() => Promise<void>)[] = [];

/** A ServiceEntry of `namespace` giving `host` the ports (number → name) served by `upstream`. */
function serviceEntry(host: string, namespace: string, ports: Record<number, string>, upstream: UpstreamServer): string {
  const names = Object.values(ports);
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${host.split(".")[0]}, namespace: ${namespace} }
spec:
  hosts: [${host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [${Object.entries(ports).map(([number, name]) => `{ number: ${number}, name: ${name}, protocol: HTTP }`).join(", ")}]
  endpoints:
    - address: 127.0.0.1
      ports: { ${names.map((n) => `${n}: ${upstream.port}`).join(", ")} }
`;
}

function httpsGet(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: "127.0.0.1", port, path: "/secure", servername: "localhost", ca: testCertificatePem, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A connection to `port` that has had `text` echoed once and stays open. */
function openEchoed(port: number, text: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString();
      if (received === `echo:${text}`) resolve(socket);
    });
    socket.on("error", reject);
    socket.write(text);
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-sidecar-resource-"));
  httpApp = await startUpstream("http-app");
  ledger = await startUpstream("ledger");
  web = await startUpstream("web");
  closers.push(() => httpApp.close(), () => ledger.close(), () => web.close());
  const socketPath = join(root, "app.sock");
  unixApp = createHttpServer((_req, res) => res.end("unix-app"));
  await new Promise<void>((resolve) => unixApp.listen(socketPath, resolve));
  closers.push(() => new Promise((resolve) => unixApp.close(() => resolve())));
  tcpApp = createServer((socket) => socket.on("data", (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`)));
  await new Promise<void>((resolve) => tcpApp.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise((resolve) => tcpApp.close(() => resolve())));
  const tcpAppPort = (tcpApp.address() as { port: number }).port;
  for (const key of Object.keys(listen) as (keyof typeof listen)[]) listen[key] = await freePort();
  await writeFile(join(root, "tls.crt"), testCertificatePem);
  await writeFile(join(root, "tls.key"), testPrivateKeyPem);

  const dir = join(root, "config");
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, "mesh.yaml"),
    [
      // The workload's own service names port 9080: the Sidecar's ingress listeners replace it.
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings, namespace: shop }
spec:
  hosts: [ratings.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http }]
  workloadSelector: { labels: { app: ratings } }
`,
      serviceEntry("ledger.bank.svc.cluster.local", "bank", { 9080: "http" }, ledger),
      serviceEntry("web.shop.svc.cluster.local", "shop", { 9080: "http", 7070: "http-admin" }, web),
      `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: ratings, namespace: shop }
spec:
  workloadSelector: { labels: { app: ratings } }
  ingress:
    - port: { number: ${listen.http}, protocol: HTTP, name: http }
      defaultEndpoint: 127.0.0.1:${httpApp.port}
    - port: { number: ${listen.unix}, protocol: HTTP, name: http-unix }
      defaultEndpoint: unix://${socketPath}
    - port: { number: ${listen.tcp}, protocol: TCP, name: tcp-echo }
      defaultEndpoint: 127.0.0.1:${tcpAppPort}
      connectionPool: { tcp: { maxConnections: 1 } }
    - port: { number: ${listen.https}, protocol: HTTPS, name: https }
      defaultEndpoint: 127.0.0.1:${httpApp.port}
      tls: { mode: SIMPLE, serverCertificate: ${join(root, "tls.crt")}, privateKey: ${join(root, "tls.key")} }
  egress:
    - port: { number: 9080, protocol: HTTP, name: http }
      hosts: ["bank/*"]
    - hosts: ["./*"]
`,
    ].join("---\n"),
  );
  sidecar = await startTestSidecar(["--config", dir, "--namespace", "shop", "--labels", "app=ratings", "--outbound-traffic-policy", "REGISTRY_ONLY"], root, "ratings");
  closers.push(() => sidecar.stop());
}, 30_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await rm(root, { recursive: true, force: true });
});

describe("Sidecar ingress listeners", () => {
  it("forward an HTTP port to its defaultEndpoint on another port", async () => {
    const response = await send(listen.http, { host: "ratings.shop.svc.cluster.local", path: "/ratings/1" });
    expect([response.status, response.body]).toEqual([200, "http-app"]);
    expect(httpApp.requests.at(-1)?.url).toBe("/ratings/1");
  });

  it("forward an HTTP port to an application on a Unix socket", async () => {
    const response = await send(listen.unix, { host: "ratings.shop.svc.cluster.local" });
    expect([response.status, response.body]).toEqual([200, "unix-app"]);
  });

  it("replace the port the workload's service gives it: no listener opens at 9080's own target", () => {
    expect(Object.keys(sidecar.running.ports).filter((name) => name.startsWith("inbound-")).sort()).toEqual(
      ["inbound-http-http", "inbound-http-http-unix", "inbound-http-https", "inbound-tcp-tcp-echo"].sort(),
    );
    expect(sidecar.running.ports["inbound-http-http"]).toBe(listen.http);
  });

  it("pass a TCP port's bytes to its defaultEndpoint, at most connectionPool.tcp.maxConnections at once", async () => {
    expect(await tcpRoundTrip("127.0.0.1", listen.tcp, "ping")).toBe("echo:ping");
    const held = await openEchoed(listen.tcp, "hold");
    try {
      // The second connection overflows the inbound cluster's limit (Envoy's UO): closed without an answer.
      expect(await tcpRoundTrip("127.0.0.1", listen.tcp, "extra")).toBe("");
    } finally {
      held.destroy();
    }
    await eventually("a connection is let through once the held one closed", async () => (await tcpRoundTrip("127.0.0.1", listen.tcp, "again")) === "echo:again", { timeoutMs: 5_000, intervalMs: 50 });
  });

  it("terminate TLS on a port with tls SIMPLE using the listener's certificate, and refuse plain text there", async () => {
    const response = await httpsGet(listen.https);
    expect([response.status, response.body]).toEqual([200, "http-app"]);
    expect(httpApp.requests.at(-1)?.url).toBe("/secure");
    await expect(send(listen.https, { host: "ratings.shop.svc.cluster.local" })).rejects.toThrow();
  });
});

describe("Sidecar egress listener with a port", () => {
  it("imports only its own hosts on that port; the catch-all imports the other ports", async () => {
    const outbound = sidecar.port("outbound");
    const toLedger = await send(outbound, { host: "ledger.bank.svc.cluster.local:9080" });
    expect([toLedger.status, toLedger.body]).toEqual([200, "ledger"]);
    // web.shop is imported by the catch-all, but port 9080 belongs to the listener that imports bank only.
    const toWeb9080 = await send(outbound, { host: "web.shop.svc.cluster.local:9080" });
    expect(toWeb9080.status).toBe(404);
    const toWeb7070 = await send(outbound, { host: "web.shop.svc.cluster.local:7070" });
    expect([toWeb7070.status, toWeb7070.body]).toEqual([200, "web"]);
    expect(web.requests.length).toBe(1);
  });
});
