// A workload with two ports on one service (http 8080, grpc 9090), each served by its own
// application port: the server sidecar sends each port's requests to `inbound|<targetPort>||`
// of that port, HTTP/1.1 to the HTTP application and HTTP/2 to the grpc-js server, chosen per
// connection — by the per-port listener that accepted it (the sidecar on its own address), or on
// the shared --inbound-port listener (as under iptables capture, where the original destination
// cannot be read) by the SNI `outbound_.<port>_._.<host>` the client sidecar sent.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { eventually } from "@meshwork/testing";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoClient, startGrpcUpstream, type GrpcUpstream } from "./support/h2-upstream-server.ts";
import { send } from "./support/http-client.ts";
import { createTestPki, writeCertDir, type TestPki } from "./support/mesh-pki.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

let root: string;
let pki: TestPki;
let httpApp: UpstreamServer;
let grpcApp: GrpcUpstream;
const closers: (() => Promise<void>)[] = [];

function unary(client: ReturnType<typeof echoClient>, text: string): Promise<{ error: grpc.ServiceError | null; response: string | undefined }> {
  return new Promise((resolve) => client.unary(Buffer.from(text), (error, response) => resolve({ error, response: response?.toString() })));
}

async function configDir(name: string, yaml: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "mesh.yaml"), yaml);
  return dir;
}

/** Istio metric lines of `text` reported by the destination for `service`. */
function destinationLines(text: string, service: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("istio_requests_total{") && l.includes('reporter="destination"') && l.includes(`destination_service="${service}"`));
}

/** The server sidecar's access-log records once it has written `count` (the line of a finished request may still be on its way to the file). */
function loggedRecords(server: TestSidecar, count: number): Promise<Record<string, unknown>[]> {
  return eventually(
    `${count} access-log records`,
    async () => {
      const records = await server.accessLog();
      return records.length >= count && records;
    },
    { timeoutMs: 5_000, intervalMs: 20 },
  );
}

/** Through the client sidecar: one HTTP/1.1 request to port 8080 and one gRPC call to port 9090 of `host`. */
async function callBothPorts(client: TestSidecar, host: string): Promise<void> {
  const response = await send(client.port("outbound"), { host: `${host}:8080`, path: "/page" });
  expect(response.status).toBe(200);
  expect(response.body).toBe("http-app");
  const grpcClient = echoClient(client.port("outbound"), `${host}:9090`);
  try {
    const result = await unary(grpcClient, "hi");
    expect(result.error).toBeNull();
    expect(result.response).toBe("echo:hi");
  } finally {
    grpcClient.close();
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-inbound-ports-"));
  pki = await createTestPki();
  httpApp = await startUpstream("http-app");
  grpcApp = await startGrpcUpstream({
    unary: (call, callback) => callback(null, Buffer.concat([Buffer.from("echo:"), call.request])),
    stream: (call) => call.end(),
  });
  closers.push(() => httpApp.close(), () => grpcApp.close());
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("a workload with an http port and a grpc port", () => {
  it("per-port listeners: each port's requests reach its own application port with the port's protocol", async () => {
    const host = "multi.default.svc.cluster.local";
    // The sidecar on its own address (as a pod IP), the applications on 127.0.0.1 at the ports' targetPorts.
    const yaml = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: multi, namespace: default }
spec:
  hosts: [${host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 8080, name: http }, { number: 9090, name: grpc }]
  workloadSelector: { labels: { app: multi } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: multi-1, namespace: default }
spec:
  address: 127.0.0.4
  labels: { app: multi }
  ports: { http: ${httpApp.port}, grpc: ${grpcApp.port} }
`;
    const server = await startTestSidecar(
      ["--config", await configDir("listeners-server", yaml), "--bind", "127.0.0.4", "--app-host", "127.0.0.1", "--labels", "app=multi", "--workload-name", "multi-1", "--outbound-port=-1"],
      root,
      "listeners-server",
    );
    closers.push(() => server.stop());
    const client = await startTestSidecar(["--config", await configDir("listeners-client", yaml), "--labels", "app=web", "--inbound-port=-1"], root, "listeners-client");
    closers.push(() => client.stop());
    const httpBefore = httpApp.requests.length;
    const grpcBefore = grpcApp.calls.length;

    await callBothPorts(client, host);

    expect(httpApp.requests.slice(httpBefore).map((r) => r.url)).toEqual(["/page"]);
    expect(grpcApp.calls.slice(grpcBefore)).toEqual(["/test.Echo/Unary"]);
    const records = await loggedRecords(server, 2);
    expect(records.map((r) => [r["upstream_cluster"], r["protocol"], r["downstream_local_address"]])).toEqual([
      [`inbound|${httpApp.port}||`, "HTTP/1.1", `127.0.0.4:${httpApp.port}`],
      [`inbound|${grpcApp.port}||`, "HTTP/2", `127.0.0.4:${grpcApp.port}`],
    ]);
    const metrics = destinationLines(await (await fetch(`http://127.0.0.4:${server.port("stats")}/stats/prometheus`)).text(), host);
    expect(metrics.filter((l) => l.includes('request_protocol="http"') && l.includes('response_code="200"'))).toHaveLength(1);
    expect(metrics.filter((l) => l.includes('request_protocol="grpc"') && l.includes('grpc_response_status="0"'))).toHaveLength(1);
  });

  it("one shared inbound listener (as under capture): the client sidecar's SNI picks the port; plain text goes to the first", async () => {
    const host = "multi2.default.svc.cluster.local";
    const inbound = await freePort();
    // The server's view of its ports (workloadSelector, targetPort) says where each port's application listens; the
    // client's endpoints are the server sidecar's one inbound listener for both ports (what iptables makes of pod-ip:8080 and pod-ip:9090).
    const service = (ports: string, rest: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: multi2, namespace: default }
spec:
  hosts: [${host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
${ports}
${rest}`;
    const serverYaml = service(`    - { number: 8080, name: http, targetPort: ${httpApp.port} }\n    - { number: 9090, name: grpc, targetPort: ${grpcApp.port} }`, "  workloadSelector: { labels: { app: multi2 } }\n");
    const clientYaml = service(
      "    - { number: 8080, name: http }\n    - { number: 9090, name: grpc }",
      `  endpoints:
    - address: 127.0.0.1
      ports: { http: ${inbound}, grpc: ${inbound} }
      serviceAccount: multi2
      labels: { app: multi2, security.istio.io/tlsMode: istio }
`,
    );
    const serverCerts = await writeCertDir(join(root, "multi2-certs"), await pki.issue("default", "multi2"), pki.rootPem);
    const clientCerts = await writeCertDir(join(root, "web-certs"), await pki.issue("default", "web"), pki.rootPem);
    const server = await startTestSidecar(
      ["--config", await configDir("shared-server", serverYaml), "--cert-dir", serverCerts, "--labels", "app=multi2", "--inbound-port", String(inbound), "--outbound-port=-1"],
      root,
      "shared-server",
    );
    closers.push(() => server.stop());
    // --bind is the application's address: no per-port listener, everything arrives on the inbound port.
    expect(Object.keys(server.running.ports).filter((name) => name.startsWith("inbound-http-"))).toEqual([]);
    expect(server.lines.some((l) => l.includes("inbound HTTP port served on the inbound listener only"))).toBe(true);
    const client = await startTestSidecar(["--config", await configDir("shared-client", clientYaml), "--cert-dir", clientCerts, "--labels", "app=web", "--inbound-port=-1"], root, "shared-client");
    closers.push(() => client.stop());
    const httpBefore = httpApp.requests.length;
    const grpcBefore = grpcApp.calls.length;

    await callBothPorts(client, host);

    expect(httpApp.requests.slice(httpBefore).map((r) => r.url)).toEqual(["/page"]);
    expect(grpcApp.calls.slice(grpcBefore)).toEqual(["/test.Echo/Unary"]);
    const records = await loggedRecords(server, 2);
    expect(records.map((r) => [r["upstream_cluster"], r["protocol"], r["requested_server_name"]])).toEqual([
      [`inbound|${httpApp.port}||`, "HTTP/1.1", `outbound_.8080_._.${host}`],
      [`inbound|${grpcApp.port}||`, "HTTP/2", `outbound_.9090_._.${host}`],
    ]);
    const metrics = destinationLines(await server.metrics(), host);
    expect(metrics.filter((l) => l.includes('request_protocol="grpc"') && l.includes('connection_security_policy="mutual_tls"'))).toHaveLength(1);

    // Plain text names no port: the first HTTP port's application (PERMISSIVE lets it in).
    const plain = await send(inbound, { host: `${host}:9090`, path: "/plain" });
    expect(plain.body).toBe("http-app");
    expect(httpApp.requests.at(-1)?.url).toBe("/plain");
  });
});
