// A sidecar as the injector sets it up for a pod with several ports (--bind 0.0.0.0, the
// applications on 127.0.0.1, --inbound-port-map APP:LISTEN): each mapped listener takes every
// connection as one to its application port, as the capture rules' per-port REDIRECT makes it
// (docs/design/kubernetes.md, "Original destination of captured traffic"). Plain clients reach the
// HTTP application through the HTTP inbound chain (`inbound|<port>||`), the raw TCP application
// byte for byte, and a mapped port no Service names passes through as TCP; a client sidecar's
// mutual TLS is detected on the same listeners (PERMISSIVE), and a port-level STRICT
// PeerAuthentication refuses plain text on that port's listener only.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "@meshwork/testing";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send } from "./support/http-client.ts";
import { createTestPki, writeCertDir } from "./support/mesh-pki.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";
import { tcpRoundTrip } from "./support/tcp-round-trip.ts";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

const host = "multi.default.svc.cluster.local";
let root: string;
let httpApp: UpstreamServer;
/** Raw TCP applications: `tcp` (the Service's tcp-db port) and `other` (a container port no Service names). */
const tcpApps: Record<"tcp" | "other", { server: Server; port: number; connections: number }> = {} as never;
let serverConfig: string;
let server: TestSidecar;
let client: TestSidecar;
/** The mapped listen ports: HTTP app, TCP app, the unnamed port. */
let listenHttp = 0;
let listenTcp = 0;
let listenOther = 0;
/** The client sidecar's --tcp-upstream port for multi:5432. */
let clientTcp = 0;

async function startTcpApp(name: string): Promise<{ server: Server; port: number; connections: number }> {
  const app = { server: createServer(), port: 0, connections: 0 };
  app.server.on("connection", (socket) => {
    app.connections += 1;
    socket.on("data", (chunk: Buffer) => socket.write(`${name}:${chunk.toString()}`));
    socket.on("end", () => socket.end());
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => app.server.listen(0, "127.0.0.1", resolve));
  app.port = (app.server.address() as { port: number }).port;
  return app;
}

/** The service as the server sees it (its ports' targetPorts are where its applications listen) and `extra` documents. */
function serviceYaml(...extra: string[]): string {
  return [
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: multi, namespace: default }
spec:
  hosts: [${host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
    - { number: 8080, name: http, targetPort: ${httpApp.port} }
    - { number: 5432, name: tcp-db, targetPort: ${tcpApps.tcp.port} }
  workloadSelector: { labels: { app: multi } }
`,
    ...extra,
  ].join("---\n");
}

async function writeConfig(dir: string, yaml: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "mesh.yaml"), yaml);
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-inbound-port-map-"));
  const pki = await createTestPki();
  httpApp = await startUpstream("http-app");
  tcpApps.tcp = await startTcpApp("tcp-app");
  tcpApps.other = await startTcpApp("other-app");
  [listenHttp, listenTcp, listenOther, clientTcp] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const multiCerts = await writeCertDir(join(root, "multi-certs"), await pki.issue("default", "multi"), pki.rootPem);
  const webCerts = await writeCertDir(join(root, "web-certs"), await pki.issue("default", "web"), pki.rootPem);
  serverConfig = await writeConfig(join(root, "server"), serviceYaml());
  server = await startTestSidecar(
    [
      "--config", serverConfig,
      "--bind", "0.0.0.0",
      "--app-host", "127.0.0.1",
      "--app-port", String(httpApp.port),
      "--inbound-port-map", `${httpApp.port}:${listenHttp},${tcpApps.tcp.port}:${listenTcp},${tcpApps.other.port}:${listenOther}`,
      "--cert-dir", multiCerts,
      "--labels", "app=multi",
      "--outbound-port=-1",
    ],
    root,
    "server",
  );
  // The client's endpoints are the server's mapped listeners (what the capture rules make of pod-ip:8080 and pod-ip:5432).
  const clientYaml = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: multi, namespace: default }
spec:
  hosts: [${host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 8080, name: http }, { number: 5432, name: tcp-db }]
  endpoints:
    - address: 127.0.0.1
      ports: { http: ${listenHttp}, tcp-db: ${listenTcp} }
      serviceAccount: multi
      labels: { app: multi, security.istio.io/tlsMode: istio }
`;
  client = await startTestSidecar(
    ["--config", await writeConfig(join(root, "client"), clientYaml), "--cert-dir", webCerts, "--labels", "app=web", "--inbound-port=-1", "--tcp-upstream", `${host}:5432=127.0.0.1:${clientTcp}`],
    root,
    "client",
  );
});

afterAll(async () => {
  for (const sidecar of [client, server]) await sidecar?.stop();
  await httpApp?.close();
  for (const app of Object.values(tcpApps)) await new Promise<void>((resolve) => app.server.close(() => resolve()));
  if (root) await rm(root, { recursive: true, force: true });
});

describe("--inbound-port-map: one inbound listener per application port", () => {
  it("opens the mapped listeners on the wildcard address, each for its application port", () => {
    expect(server.running.ports).toMatchObject({ "inbound-http-http": listenHttp, "inbound-tcp-tcp-db": listenTcp, [`inbound-tcp-passthrough-${tcpApps.other.port}`]: listenOther });
    expect(server.running.state.listeners.find((l) => l.name === "inbound-tcp tcp-db")?.address).toBe(`0.0.0.0:${listenTcp}`);
  });

  it("plain HTTP on the HTTP port's listener reaches the HTTP application through inbound|<port>||", async () => {
    const response = await send(listenHttp, { host: `${host}:8080`, path: "/mapped" });
    expect(response.status).toBe(200);
    expect(response.body).toBe("http-app");
    expect(httpApp.requests.at(-1)?.url).toBe("/mapped");
    const record = await eventually(
      "the access-log record of /mapped",
      async () => (await server.accessLog()).find((r) => r["path"] === "/mapped"),
      { timeoutMs: 5_000, intervalMs: 20 },
    );
    expect(record["upstream_cluster"]).toBe(`inbound|${httpApp.port}||`);
    expect(record["requested_server_name"]).toBeNull();
  });

  it("plain bytes on the TCP port's listener reach the TCP application, not the HTTP one", async () => {
    const httpBefore = httpApp.requests.length;
    expect(await tcpRoundTrip("127.0.0.1", listenTcp, "GET / HTTP/1.1\r\n\r\n")).toBe("tcp-app:GET / HTTP/1.1\r\n\r\n");
    expect(tcpApps.tcp.connections).toBeGreaterThanOrEqual(1);
    expect(httpApp.requests.length).toBe(httpBefore);
  });

  it("a mapped port no Service names is passed through as TCP to its application", async () => {
    const before = tcpApps.other.connections;
    expect(await tcpRoundTrip("127.0.0.1", listenOther, "hello")).toBe("other-app:hello");
    expect(tcpApps.other.connections).toBe(before + 1);
  });

  it("PERMISSIVE: a client sidecar's mutual TLS is detected on the same listeners", async () => {
    const response = await send(client.port("outbound"), { host: `${host}:8080`, path: "/over-mtls" });
    expect(response.body).toBe("http-app");
    expect(await tcpRoundTrip("127.0.0.1", clientTcp, "over-mtls")).toBe("tcp-app:over-mtls");
    const record = await eventually(
      "the access-log record of /over-mtls",
      async () => (await server.accessLog()).find((r) => r["path"] === "/over-mtls"),
      { timeoutMs: 5_000, intervalMs: 20 },
    );
    expect(record["upstream_cluster"]).toBe(`inbound|${httpApp.port}||`);
    // The client sidecar's SNI arrived on the mapped listener: it was mutual TLS, not plain text.
    expect(record["requested_server_name"]).toBe(`outbound_.8080_._.${host}`);
  });

  it("a port-level STRICT PeerAuthentication refuses plain text on that port's listener only", async () => {
    await writeConfig(
      serverConfig,
      serviceYaml(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: multi, namespace: default }
spec:
  selector: { matchLabels: { app: multi } }
  mtls: { mode: PERMISSIVE }
  portLevelMtls:
    ${tcpApps.tcp.port}: { mode: STRICT }
`),
    );
    // Until the reloaded config applies, plain text still gets through.
    await eventually("plain text refused on the STRICT port's listener", async () => (await tcpRoundTrip("127.0.0.1", listenTcp, "plain")) === "", { timeoutMs: 10_000, intervalMs: 100 });
    const before = tcpApps.tcp.connections;
    expect(await tcpRoundTrip("127.0.0.1", listenTcp, "plain")).toBe("");
    expect(tcpApps.tcp.connections).toBe(before);
    // Mutual TLS still gets through on it, and plain HTTP on the PERMISSIVE port still does.
    expect(await tcpRoundTrip("127.0.0.1", clientTcp, "strict-ok")).toBe("tcp-app:strict-ok");
    expect((await send(listenHttp, { host: `${host}:8080`, path: "/still-plain" })).body).toBe("http-app");
  });
});
