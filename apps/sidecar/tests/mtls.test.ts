// Mutual TLS between real sidecars (in-process, real sockets, certificates made with @meshwork/pki):
// PeerAuthentication STRICT refuses plain text and certificates that are not SVIDs of the mesh
// (another trust domain, expired, self-signed); PERMISSIVE serves TLS and plain text on one port;
// auto mTLS between two sidecars with source_principal and (metadata exchange) the source workload
// in the inbound metrics; secure naming
// refuses a server with a valid SVID of the wrong identity (503 UF, access-log detail).
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import { eventually } from "@meshwork/testing";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { h2Connect, h2Request } from "./support/h2-client.ts";
import { rawExchange, send } from "./support/http-client.ts";
import { createTestPki, selfSignedSvid, writeCertDir, type TestPki, type TestSvid } from "./support/mesh-pki.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";
import { firstDifference, patternedBody, readSlowly, sendInPieces } from "./support/patterned-body.ts";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

/** A service `name` served by a WorkloadEntry on 127.0.0.1:`port` with service account `sa` and a sidecar. */
function serviceYaml(name: string, port: number, sa: string, portName = "http"): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${name}.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: ${portName} }]
  workloadSelector: { labels: { app: ${name} } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ${name}-1, namespace: default }
spec:
  address: 127.0.0.1
  serviceAccount: ${sa}
  labels: { app: ${name}, security.istio.io/tlsMode: istio }
  ports: { ${portName}: ${port} }
`;
}

function peerAuthenticationYaml(mode: string): string {
  return `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: default }
spec:
  mtls: { mode: ${mode} }
`;
}

async function configDir(root: string, name: string, ...docs: string[]): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "mesh.yaml"), docs.join("---\n"));
  return dir;
}

/** One HTTP/1.1 request over mutual TLS straight to a sidecar's inbound port, with `svid` as the client certificate. */
function tlsRequest(
  port: number,
  svid: TestSvid | undefined,
  ca: string,
  extra: ConnectionOptions = {},
  seen: { session?: (session: Buffer) => void; secure?: (socket: TLSSocket) => void } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: "127.0.0.1",
      port,
      ca,
      ...(svid ? { cert: svid.chainPem, key: svid.keyPem } : {}),
      ALPNProtocols: ["http/1.1"],
      checkServerIdentity: () => undefined,
      ...extra,
    });
    socket.on("session", (session: Buffer) => seen.session?.(session));
    socket.on("secureConnect", () => seen.secure?.(socket));
    let text = "";
    socket.on("secureConnect", () => socket.write("GET / HTTP/1.1\r\nhost: api.default.svc.cluster.local\r\nconnection: close\r\n\r\n"));
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
    });
    socket.on("error", reject);
    socket.on("close", () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (status) resolve({ status: Number(status[1]), text });
      else reject(new Error(`connection closed without a response${text ? `: ${text}` : ""}`));
    });
  });
}

let root: string;
let pki: TestPki;
let app: UpstreamServer;
let strict: TestSidecar;
let permissive: TestSidecar;
let client: TestSidecar;
let impostor: TestSidecar;
let webSvid: TestSvid;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-mtls-"));
  pki = await createTestPki();
  app = await startUpstream("app");
  const [strictPort, permissivePort, impostorPort] = await Promise.all([freePort(), freePort(), freePort()]);
  webSvid = await pki.issue("default", "web");
  const apiDir = await writeCertDir(join(root, "api-certs"), await pki.issue("default", "api"), pki.rootPem);
  const webDir = await writeCertDir(join(root, "web-certs"), webSvid, pki.rootPem);
  const evilDir = await writeCertDir(join(root, "evil-certs"), await pki.issue("default", "evil"), pki.rootPem);
  const services = [serviceYaml("api", strictPort, "api"), serviceYaml("open", permissivePort, "api"), serviceYaml("lookalike", impostorPort, "api"), serviceYaml("h2api", strictPort, "api", "http2")];
  const common = (dir: string, certs: string, labels: string, inbound: number): string[] => ["--config", dir, "--cert-dir", certs, "--labels", labels, "--app-port", String(app.port), "--inbound-port", String(inbound)];
  strict = await startTestSidecar(common(await configDir(root, "strict", ...services, peerAuthenticationYaml("STRICT")), apiDir, "app=api", strictPort), root, "strict");
  permissive = await startTestSidecar(common(await configDir(root, "permissive", ...services, peerAuthenticationYaml("PERMISSIVE")), apiDir, "app=open", permissivePort), root, "permissive");
  impostor = await startTestSidecar(common(await configDir(root, "impostor", ...services), evilDir, "app=lookalike", impostorPort), root, "impostor");
  client = await startTestSidecar(["--config", await configDir(root, "client", ...services), "--cert-dir", webDir, "--labels", "app=web", "--inbound-port=-1"], root, "client");
});

afterAll(async () => {
  for (const sidecar of [client, strict, permissive, impostor]) await sidecar?.stop();
  await app?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("mutual TLS between sidecars", () => {
  it("STRICT refuses a plain-text client: the connection closes without an HTTP response", async () => {
    const answer = await rawExchange(strict.port("inbound"), "GET / HTTP/1.1\r\nhost: api.default.svc.cluster.local\r\n\r\n");
    expect(answer).toBe("");
    expect(app.requests.length).toBe(0);
  });

  it("auto mTLS: the client sidecar originates ISTIO_MUTUAL and the server sees its principal", async () => {
    const response = await send(client.port("outbound"), { host: "api.default.svc.cluster.local" });
    expect(response.status).toBe(200);
    expect(response.body).toBe("app");
    // One service time, the client sidecar's: it replaces the server sidecar's, as Envoy's router does.
    expect(response.headers["x-envoy-upstream-service-time"]).toMatch(/^\d+$/);
    const metrics = await strict.metrics();
    const line = metrics.split("\n").find((l) => l.startsWith("istio_requests_total{") && l.includes('reporter="destination"') && l.includes('response_code="200"'));
    expect(line).toBeDefined();
    expect(line).toContain('source_principal="spiffe://cluster.local/ns/default/sa/web"');
    expect(line).toContain('connection_security_policy="mutual_tls"');
    expect(line).toContain('source_workload_namespace="default"');
    // Istio's metadata exchange: the server sidecar knows the client's workload, and neither app sees the headers.
    expect(line).toContain('source_workload="web"');
    expect(line).toContain('source_app="web"');
    expect(line).toContain('source_canonical_service="web"');
    const served = app.requests[app.requests.length - 1];
    expect(served?.headers["x-envoy-peer-metadata"]).toBeUndefined();
    expect(served?.headers["x-envoy-peer-metadata-id"]).toBeUndefined();
    expect(response.headers["x-envoy-peer-metadata"]).toBeUndefined();
    expect(response.headers["x-envoy-peer-metadata-id"]).toBeUndefined();
    const outbound = (await client.metrics()).split("\n").find((l) => l.startsWith("istio_requests_total{") && l.includes('reporter="source"') && l.includes('destination_service="api.default.svc.cluster.local"'));
    expect(outbound).toContain('destination_principal="spiffe://cluster.local/ns/default/sa/api"');
  });

  // The server sidecar reads its app's bytes into a reused buffer and writes them to a TLS
  // downstream: a write queued behind earlier ones must not send bytes a later read put there.
  // A slow client behind the client sidecar makes the server sidecar's TLS writes queue up; the
  // body differs from position to position, so a reused byte shows.
  it("a large response crosses the mTLS hop byte for byte to a slow client", async () => {
    const body = patternedBody(12 * 1024 * 1024);
    app.handle((req, res) => {
      if (req.url === "/patterned") sendInPieces(res, body);
      else {
        res.setHeader("content-type", "text/plain");
        res.end("app");
      }
    });
    const response = await readSlowly(client.port("outbound"), "GET /patterned HTTP/1.1\r\nHost: api.default.svc.cluster.local\r\n\r\n", body.length, 1500);
    expect(response.statusLine).toBe("HTTP/1.1 200 OK");
    expect(firstDifference(response.body, body)).toEqual([body.length, -1]);
  }, 60_000);

  it("STRICT accepts a direct mTLS client with a mesh SVID", async () => {
    const response = await tlsRequest(strict.port("inbound"), webSvid, pki.rootPem);
    expect(response.status).toBe(200);
  });

  it("offers TLS 1.3 only by default (a TLS 1.2 client is refused) and resumes sessions with tickets", async () => {
    await expect(tlsRequest(strict.port("inbound"), webSvid, pki.rootPem, { maxVersion: "TLSv1.2" })).rejects.toThrow();
    let ticket: Buffer | undefined;
    let version = "";
    await tlsRequest(strict.port("inbound"), webSvid, pki.rootPem, {}, {
      session: (session) => {
        ticket = session;
      },
      secure: (socket) => {
        version = socket.getProtocol() ?? "";
      },
    });
    expect(version).toBe("TLSv1.3");
    expect(ticket).toBeDefined();
    let reused = false;
    const again = await tlsRequest(strict.port("inbound"), webSvid, pki.rootPem, ticket ? { session: ticket } : {}, {
      secure: (socket) => {
        reused = socket.isSessionReused();
      },
    });
    expect(again.status).toBe(200);
    expect(reused).toBe(true);
  });

  it("STRICT refuses a client certificate from another trust domain", async () => {
    const other = await createTestPki("other.example");
    const foreign = await other.issue("default", "web");
    await expect(tlsRequest(strict.port("inbound"), foreign, pki.rootPem)).rejects.toThrow();
  });

  it("STRICT refuses an expired client certificate", async () => {
    const expired = await pki.issue("default", "web", { now: new Date(Date.now() - 2 * 3600_000), ttlSeconds: 3600 });
    await expect(tlsRequest(strict.port("inbound"), expired, pki.rootPem)).rejects.toThrow();
  });

  it("STRICT refuses a self-signed client certificate and a client without one", async () => {
    const self = await selfSignedSvid(root, "spiffe://cluster.local/ns/default/sa/web");
    await expect(tlsRequest(strict.port("inbound"), self, pki.rootPem)).rejects.toThrow();
    await expect(tlsRequest(strict.port("inbound"), undefined, pki.rootPem)).rejects.toThrow();
    const refused = await strict.running.state.stats().find(([name]) => name === "listener.inbound.ssl.refused");
    expect(refused?.[1]).toBeGreaterThanOrEqual(4);
  });

  it("PERMISSIVE serves mutual TLS and plain text on the same port", async () => {
    const plain = await send(permissive.port("inbound"), { host: "open.default.svc.cluster.local" });
    expect(plain.status).toBe(200);
    const mutual = await tlsRequest(permissive.port("inbound"), webSvid, pki.rootPem);
    expect(mutual.status).toBe(200);
    const viaSidecar = await send(client.port("outbound"), { host: "open.default.svc.cluster.local" });
    expect(viaSidecar.status).toBe(200);
    const metrics = await permissive.metrics();
    const series = metrics.split("\n").filter((l) => l.startsWith("istio_requests_total{") && l.includes('reporter="destination"'));
    expect(series.some((l) => l.includes('connection_security_policy="none"') && l.includes('source_principal="unknown"'))).toBe(true);
    expect(series.some((l) => l.includes('connection_security_policy="mutual_tls"') && l.includes('source_principal="spiffe://cluster.local/ns/default/sa/web"'))).toBe(true);
  });

  it("HTTP/2 between sidecars is negotiated with ALPN h2 inside mutual TLS", async () => {
    // The client speaks h2c to its sidecar; the http2 port makes the sidecars speak HTTP/2 to each other.
    const session = h2Connect(client.port("outbound"));
    const response = await h2Request(session, { ":authority": "h2api.default.svc.cluster.local" });
    session.close();
    expect(response.status).toBe(200);
    expect(response.body).toBe("app");
    let entry: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !entry; i++) {
      entry = (await strict.accessLog()).find((e) => e["authority"] === "h2api.default.svc.cluster.local");
      if (!entry) await new Promise((r) => setTimeout(r, 20));
    }
    expect(entry?.["protocol"]).toBe("HTTP/2");
    // The server side logs the SNI the client sidecar sent, Istio's name of the cluster.
    expect(entry?.["requested_server_name"]).toMatch(/^outbound_\.\d+_\._\.h2api\.default\.svc\.cluster\.local$/);
    // Towards the app the server sidecar's HTTP/2 request went over node:http: its connection's end.
    expect(entry?.["upstream_local_address"]).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("an HTTP/1.1 client's requests to an http2 port cross between the sidecars as HTTP/2 streams (ALPN h2)", async () => {
    const response = await send(client.port("outbound"), { host: "h2api.default.svc.cluster.local", path: "/from-http1", method: "POST", body: "ping" });
    expect(response.status).toBe(200);
    expect(response.body).toBe("app");
    expect(response.headers["x-envoy-upstream-service-time"]).toMatch(/^\d+$/);
    let entry: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !entry; i++) {
      entry = (await strict.accessLog()).find((e) => e["path"] === "/from-http1");
      if (!entry) await new Promise((r) => setTimeout(r, 20));
    }
    expect(entry).toMatchObject({ protocol: "HTTP/2", response_code: 200 });
    expect(app.requests.find((r) => r.url === "/from-http1")?.body).toBe("ping");
    // The client sidecar's line: the request went as a stream of its HTTP/2 session to the server sidecar.
    const sent = await eventually("the client's line for /from-http1", async () => (await client.accessLog()).find((e) => e["path"] === "/from-http1"), { timeoutMs: 5_000, intervalMs: 20 });
    expect(sent["upstream_local_address"]).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("secure naming: a server with a valid SVID of another identity is refused (503 UF with the TLS detail)", async () => {
    const before = app.requests.length;
    const response = await send(client.port("outbound"), { host: "lookalike.default.svc.cluster.local" });
    expect(response.status).toBe(503);
    expect(app.requests.length).toBe(before);
    let entry: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !entry; i++) {
      entry = (await client.accessLog()).find((e) => e["authority"] === "lookalike.default.svc.cluster.local");
      if (!entry) await new Promise((r) => setTimeout(r, 20));
    }
    // Istio's default retry policy retries connect failures: UF, then URX when the attempts are spent.
    expect(entry?.["response_flags"]).toBe("UF,URX");
    expect(String(entry?.["response_code_details"])).toContain("connection_failure,TLS_error:secure_naming");
    expect(String(entry?.["response_code_details"])).toContain("spiffe://cluster.local/ns/default/sa/evil");
  });

  it("auto mTLS follows a PeerAuthentication change: DISABLE for the destination turns the client to plain text", async () => {
    const plaintext = (): number => permissive.running.state.stats().find(([name]) => name === "listener.inbound.plaintext")?.[1] ?? -1;
    const services = [serviceYaml("api", strict.port("inbound"), "api"), serviceYaml("open", permissive.port("inbound"), "api")];
    expect((await send(client.port("outbound"), { host: "open.default.svc.cluster.local" })).status).toBe(200);
    const before = plaintext();
    await configDir(root, "client", ...services, peerAuthenticationYaml("DISABLE"));
    let after = before;
    for (let i = 0; i < 100 && after === before; i++) {
      expect((await send(client.port("outbound"), { host: "open.default.svc.cluster.local" })).status).toBe(200);
      after = plaintext();
      if (after === before) await new Promise((r) => setTimeout(r, 50));
    }
    expect(after).toBeGreaterThan(before);
  });
});
