// The inbound side speaks each port's protocol to the application (Istio's inbound clusters):
// HTTP/2 (h2c) for `grpc` and `http2` ports — a real @grpc/grpc-js server behind the inbound
// listener gets unary and server-streaming calls with status and trailers intact, also from a
// grpc-js client going through a client sidecar and a server sidecar over mutual TLS —,
// HTTP/1.1 for `http` ports whatever the client spoke, and the client's own protocol for ports
// of unknown protocol (sniffed). Real sockets throughout.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { connect, type ClientHttp2Session } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { eventually } from "@meshwork/testing";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { h2Request } from "./support/h2-client.ts";
import { echoService, startGrpcUpstream, startH2Upstream, type EchoHandlers, type GrpcUpstream, type H2UpstreamServer } from "./support/h2-upstream-server.ts";
import { createTestPki, writeCertDir } from "./support/mesh-pki.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

/** The address the sidecar of the protocol tests binds: not the applications' (127.0.0.1), so each port gets a listener of its own. */
const sidecarHost = "127.0.0.2";

type EchoClient = grpc.Client & {
  unary(request: Buffer, callback: (error: grpc.ServiceError | null, response?: Buffer) => void): grpc.ClientUnaryCall;
  stream(request: Buffer): grpc.ClientReadableStream<Buffer>;
};

/** A grpc-js client of test.Echo calling `host:port` with `authority` as :authority (plain text). */
function echoClientAt(host: string, port: number, authority: string): EchoClient {
  const Client = grpc.makeGenericClientConstructor(echoService, "Echo");
  return new Client(`${host}:${port}`, grpc.credentials.createInsecure(), { "grpc.default_authority": authority }) as never;
}

/** Echo handlers: `Unary` answers `echo:<request>` with trailer `x-served-by: echo-app`, or NOT_FOUND with metadata for `missing`; `Stream` answers three messages. */
const echoHandlers: EchoHandlers = {
  unary: (call, callback) => {
    if (call.request.toString() === "missing") {
      const metadata = new grpc.Metadata();
      metadata.set("x-why", "no-such-thing");
      callback({ code: grpc.status.NOT_FOUND, details: "no such thing", metadata });
      return;
    }
    const trailer = new grpc.Metadata();
    trailer.set("x-served-by", "echo-app");
    callback(null, Buffer.concat([Buffer.from("echo:"), call.request]), trailer);
  },
  stream: (call) => {
    for (const part of ["one", "two", "three"]) call.write(Buffer.from(part));
    call.end();
  },
};

interface UnaryResult {
  readonly error: grpc.ServiceError | null;
  readonly response: string | undefined;
  readonly status: grpc.StatusObject | undefined;
}

function unary(client: EchoClient, text: string): Promise<UnaryResult> {
  return new Promise((resolve) => {
    let status: grpc.StatusObject | undefined;
    let done: Omit<UnaryResult, "status"> | undefined;
    const settle = (): void => {
      if (done !== undefined && status !== undefined) resolve({ ...done, status });
    };
    const call = client.unary(Buffer.from(text), (error, response) => {
      done = { error, response: response?.toString() };
      settle();
    });
    call.on("status", (s: grpc.StatusObject) => {
      status = s;
      settle();
    });
  });
}

function streamed(client: EchoClient): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const messages: string[] = [];
    const call = client.stream(Buffer.from("x"));
    call.on("data", (m: Buffer) => messages.push(m.toString()));
    call.on("status", (status: grpc.StatusObject) => (status.code === grpc.status.OK ? resolve(messages) : reject(new Error(status.details))));
    call.on("error", reject);
  });
}

/** The three calls every gRPC path must carry: unary with a trailer, server streaming, an error status with its metadata. */
async function expectEchoCalls(client: EchoClient, upstream: GrpcUpstream): Promise<void> {
  const ok = await unary(client, "hi");
  expect(ok.error).toBeNull();
  expect(ok.response).toBe("echo:hi");
  expect(ok.status?.metadata.get("x-served-by")).toEqual(["echo-app"]);
  expect(await streamed(client)).toEqual(["one", "two", "three"]);
  const failed = await unary(client, "missing");
  expect(failed.error?.code).toBe(grpc.status.NOT_FOUND);
  expect(failed.error?.details).toBe("no such thing");
  expect(failed.error?.metadata.get("x-why")).toEqual(["no-such-thing"]);
  expect(upstream.calls.slice(-3)).toEqual(["/test.Echo/Unary", "/test.Echo/Stream", "/test.Echo/Unary"]);
}

/** One HTTP/1.1 GET to `host:port` (a fresh connection) with `authority` as Host. */
function get(host: string, port: number, authority: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, headers: { host: authority }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

function h2ConnectTo(host: string, port: number): ClientHttp2Session {
  const session = connect(`http://${host}:${port}`);
  session.on("error", () => undefined);
  return session;
}

/** The access-log records of `sidecar` for cluster `cluster`, once it has written `count` of them. */
function loggedFor(sidecar: TestSidecar, cluster: string, count: number): Promise<Record<string, unknown>[]> {
  return eventually(
    `${count} access-log records of ${cluster}`,
    async () => {
      const records = (await sidecar.accessLog()).filter((r) => r["upstream_cluster"] === cluster);
      return records.length >= count && records;
    },
    { timeoutMs: 5_000, intervalMs: 20 },
  );
}

async function configDir(root: string, name: string, yaml: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "mesh.yaml"), yaml);
  return dir;
}

let root: string;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-inbound-grpc-"));
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("inbound clusters speak the port's protocol", () => {
  let sidecar: TestSidecar;
  let grpcApp: GrpcUpstream;
  let h2App: H2UpstreamServer;
  let sniffedH1App: UpstreamServer;
  let sniffedH2App: H2UpstreamServer;
  let httpApp: UpstreamServer;

  beforeAll(async () => {
    grpcApp = await startGrpcUpstream(echoHandlers);
    h2App = await startH2Upstream("h2-app");
    sniffedH1App = await startUpstream("sniffed-h1");
    sniffedH2App = await startH2Upstream("sniffed-h2");
    httpApp = await startUpstream("http-app");
    closers.push(() => grpcApp.close(), () => h2App.close(), () => sniffedH1App.close(), () => sniffedH2App.close(), () => httpApp.close());
    const dir = await configDir(
      root,
      "protocols",
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
    - { number: 50051, name: grpc, targetPort: ${grpcApp.port} }
    - { number: 8081, name: http2-web, targetPort: ${h2App.port} }
    - { number: 8082, name: web-one, targetPort: ${sniffedH1App.port} }
    - { number: 8083, name: web-two, targetPort: ${sniffedH2App.port} }
    - { number: 8084, name: http-plain, targetPort: ${httpApp.port} }
  workloadSelector: { labels: { app: echo } }
`,
    );
    sidecar = await startTestSidecar(["--config", dir, "--bind", sidecarHost, "--app-host", "127.0.0.1", "--labels", "app=echo", "--outbound-port=-1"], root, "protocols");
    closers.push(() => sidecar.stop());
  });

  it("gRPC through the --inbound-port listener to a grpc-js server: unary with trailers, server streaming, an error status with metadata", async () => {
    // The first HTTP port (grpc) is the --inbound-port listener's; its cluster speaks h2c to the server.
    const client = echoClientAt(sidecarHost, sidecar.port("inbound"), "echo.default.svc.cluster.local:50051");
    try {
      await expectEchoCalls(client, grpcApp);
    } finally {
      client.close();
    }
    const records = await loggedFor(sidecar, `inbound|${grpcApp.port}||`, 3);
    expect(records.map((r) => [r["protocol"], r["response_code"]])).toEqual([
      ["HTTP/2", 200],
      ["HTTP/2", 200],
      ["HTTP/2", 200],
    ]);
  });

  it("gRPC through the grpc port's own listener reaches the same server", async () => {
    const client = echoClientAt(sidecarHost, sidecar.port("inbound-http-grpc"), "echo.default.svc.cluster.local:50051");
    try {
      await expectEchoCalls(client, grpcApp);
    } finally {
      client.close();
    }
  });

  it("an HTTP/1.1 request to an http2 port goes to the application over HTTP/2", async () => {
    const response = await get(sidecarHost, sidecar.port("inbound-http-http2-web"), "echo.default.svc.cluster.local:8081", "/over-h2");
    expect(response.status).toBe(200);
    expect(response.body).toBe("h2-app");
    expect(h2App.requests.map((r) => r.headers[":path"])).toEqual(["/over-h2"]);
  });

  it("a port of unknown protocol keeps the client's: HTTP/1.1 stays HTTP/1.1, HTTP/2 stays HTTP/2", async () => {
    const h1 = await get(sidecarHost, sidecar.port("inbound-http-web-one"), "echo.default.svc.cluster.local:8082", "/h1");
    expect(h1.body).toBe("sniffed-h1");
    expect(sniffedH1App.requests.map((r) => r.url)).toEqual(["/h1"]);
    const session = h2ConnectTo(sidecarHost, sidecar.port("inbound-http-web-two"));
    try {
      const h2 = await h2Request(session, { ":path": "/h2", ":authority": "echo.default.svc.cluster.local:8083" });
      expect(h2.status).toBe(200);
      expect(h2.body).toBe("sniffed-h2");
    } finally {
      session.close();
    }
    expect(sniffedH2App.requests.map((r) => r.headers[":path"])).toEqual(["/h2"]);
  });

  it("an http port gets HTTP/1.1 even from an HTTP/2 client", async () => {
    const session = h2ConnectTo(sidecarHost, sidecar.port("inbound-http-http-plain"));
    try {
      const response = await h2Request(session, { ":path": "/from-h2", ":authority": "echo.default.svc.cluster.local:8084" });
      expect(response.status).toBe(200);
      expect(response.body).toBe("http-app");
    } finally {
      session.close();
    }
    expect(httpApp.requests.map((r) => r.url)).toEqual(["/from-h2"]);
  });

  it("/clusters and /config_dump list one inbound cluster per port with its upstream protocol", async () => {
    const admin = `http://${sidecarHost}:${sidecar.port("admin")}`;
    const clusters = await (await fetch(`${admin}/clusters`)).text();
    for (const port of [grpcApp.port, h2App.port, sniffedH1App.port, sniffedH2App.port, httpApp.port]) {
      expect(clusters).toContain(`inbound|${port}||::127.0.0.1:${port}::health_flags::healthy`);
    }
    const dump = (await (await fetch(`${admin}/config_dump`)).json()) as { inboundClusters: string[]; listeners: { name: string }[] };
    const described = (port: number): string | undefined => dump.inboundClusters.find((c) => c.startsWith(`cluster inbound|${port}||`));
    expect(described(grpcApp.port)).toContain("upstream http2");
    expect(described(h2App.port)).toContain("upstream http2");
    expect(described(sniffedH1App.port)).toContain("upstream client-protocol");
    expect(described(httpApp.port)).not.toContain("upstream");
    expect(dump.listeners.map((l) => l.name)).toEqual(expect.arrayContaining(["inbound", "inbound-http grpc", "inbound-http http2-web", "inbound-http web-one", "inbound-http web-two", "inbound-http http-plain"]));
  });
});

describe("gRPC from a grpc-js client through a client sidecar and a server sidecar (mutual TLS)", () => {
  it("unary with trailers, server streaming and an error status reach the client as the server sent them", async () => {
    const pki = await createTestPki();
    const grpcApp = await startGrpcUpstream(echoHandlers);
    closers.push(() => grpcApp.close());
    const serverInbound = await freePort();
    // Single-port standalone layout: the WorkloadEntry's port is the server sidecar's inbound listener, --app-port the application.
    const yaml = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 50051, name: grpc }]
  workloadSelector: { labels: { app: echo } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo-1, namespace: default }
spec:
  address: 127.0.0.1
  serviceAccount: echo
  labels: { app: echo, security.istio.io/tlsMode: istio }
  ports: { grpc: ${serverInbound} }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: default }
spec:
  mtls: { mode: STRICT }
`;
    const serverCerts = await writeCertDir(join(root, "echo-certs"), await pki.issue("default", "echo"), pki.rootPem);
    const clientCerts = await writeCertDir(join(root, "web-certs"), await pki.issue("default", "web"), pki.rootPem);
    const server = await startTestSidecar(
      ["--config", await configDir(root, "mtls-server", yaml), "--cert-dir", serverCerts, "--labels", "app=echo", "--app-port", String(grpcApp.port), "--inbound-port", String(serverInbound), "--outbound-port=-1"],
      root,
      "mtls-server",
    );
    closers.push(() => server.stop());
    const client = await startTestSidecar(["--config", await configDir(root, "mtls-client", yaml), "--cert-dir", clientCerts, "--labels", "app=web", "--inbound-port=-1"], root, "mtls-client");
    closers.push(() => client.stop());

    const grpcClient = echoClientAt("127.0.0.1", client.port("outbound"), "echo.default.svc.cluster.local:50051");
    try {
      await expectEchoCalls(grpcClient, grpcApp);
    } finally {
      grpcClient.close();
    }
    // The server sidecar got them over mutual TLS from the client sidecar, and passed them to the app as HTTP/2.
    const served = await loggedFor(server, `inbound|${grpcApp.port}||`, 3);
    expect(served.map((r) => [r["protocol"], r["response_code"]])).toEqual([
      ["HTTP/2", 200],
      ["HTTP/2", 200],
      ["HTTP/2", 200],
    ]);
    const metrics = await server.metrics();
    const notFound = metrics
      .split("\n")
      .find((l) => l.startsWith("istio_requests_total{") && l.includes('reporter="destination"') && l.includes('grpc_response_status="5"'));
    expect(notFound).toContain('request_protocol="grpc"');
    expect(notFound).toContain('connection_security_policy="mutual_tls"');
    expect(notFound).toContain('source_principal="spiffe://cluster.local/ns/default/sa/web"');
    expect(notFound).toContain('destination_service="echo.default.svc.cluster.local"');
  });
});
