// Inbound raw TCP pass-through between real sidecars: a workload port that Istio's protocol
// selection makes TCP (`tcp-db`) gets its own listener on the sidecar's address at the port's
// targetPort, passing bytes to the application at --app-host on that port, under the port's
// PeerAuthentication mode — PERMISSIVE serves plain text and mutual TLS (auto mTLS from a client
// sidecar's --tcp-upstream binding), STRICT refuses plain text — with Istio's TCP metrics
// reported as `destination`. An HTTP port of the same service gets no TCP listener.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, writeCertDir, type TestPki } from "./support/mesh-pki.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";
import { tcpRoundTrip } from "./support/tcp-round-trip.ts";

let root: string;
let pki: TestPki;
let app: Server;
let appPort = 0;
/** Connections the application accepted. */
let appConnections = 0;
let permissive: TestSidecar;
let strict: TestSidecar;
let client: TestSidecar;
/** A sidecar bound to the application's own address (--bind = --app-host). */
let sameAddress: TestSidecar;
let toPermissive = 0;
let toStrict = 0;

/** The db service: a TCP port and an HTTP port, served by a WorkloadEntry on `address` with a sidecar. */
function dbYaml(name: string, address: string): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${name}.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
    - { number: 5432, name: tcp-db }
    - { number: 80, name: http, targetPort: 18080 }
  workloadSelector: { labels: { app: ${name} } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ${name}-1, namespace: default }
spec:
  address: ${address}
  serviceAccount: db
  labels: { app: ${name}, security.istio.io/tlsMode: istio }
  ports: { tcp-db: ${appPort} }
`;
}

async function configDir(name: string, ...docs: string[]): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "mesh.yaml"), docs.join("---\n"));
  return dir;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** `/stats/prometheus` of a sidecar bound to `host`. */
async function metricsOf(sidecar: TestSidecar, host: string): Promise<string> {
  return (await fetch(`http://${host}:${sidecar.port("stats")}/stats/prometheus`)).text();
}

function series(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-inbound-tcp-"));
  pki = await createTestPki();
  app = createServer((socket) => {
    appConnections += 1;
    socket.on("data", (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`));
    socket.on("end", () => socket.end());
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  appPort = (app.address() as { port: number }).port;
  const dbDir = await writeCertDir(join(root, "db-certs"), await pki.issue("default", "db"), pki.rootPem);
  const webDir = await writeCertDir(join(root, "web-certs"), await pki.issue("default", "web"), pki.rootPem);
  const services = [dbYaml("db", "127.0.0.2"), dbYaml("dbstrict", "127.0.0.3")];
  const strictPolicy = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: db, namespace: default }
spec:
  selector: { matchLabels: { app: dbstrict } }
  mtls: { mode: STRICT }
`;
  const server = (bind: string, name: string): string[] => ["--bind", bind, "--app-host", "127.0.0.1", "--cert-dir", dbDir, "--labels", `app=${name}`, "--workload-name", `${name}-1`, "--outbound-port=-1"];
  permissive = await startTestSidecar(["--config", await configDir("permissive", ...services), ...server("127.0.0.2", "db")], root, "permissive");
  strict = await startTestSidecar(["--config", await configDir("strict", ...services, strictPolicy), ...server("127.0.0.3", "dbstrict")], root, "strict");
  sameAddress = await startTestSidecar(["--config", await configDir("same", ...services), ...server("127.0.0.1", "db")], root, "same");
  [toPermissive, toStrict] = await Promise.all([freePort(), freePort()]);
  client = await startTestSidecar(
    [
      "--config", await configDir("client", ...services),
      "--cert-dir", webDir,
      "--labels", "app=web",
      "--inbound-port=-1",
      "--tcp-upstream", `db.default.svc.cluster.local:5432=127.0.0.1:${toPermissive}`,
      "--tcp-upstream", `dbstrict.default.svc.cluster.local:5432=127.0.0.1:${toStrict}`,
    ],
    root,
    "client",
  );
});

afterAll(async () => {
  for (const sidecar of [client, strict, permissive, sameAddress]) await sidecar?.stop();
  await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
  if (root) await rm(root, { recursive: true, force: true });
});

describe("inbound TCP listeners", () => {
  it("listen on the TCP port's targetPort at the sidecar's address, and only for the TCP port", () => {
    expect(permissive.running.ports["inbound-tcp-tcp-db"]).toBe(appPort);
    expect(permissive.running.ports["inbound-tcp-http"]).toBeUndefined();
    expect(permissive.running.state.listeners.find((l) => l.name === "inbound-tcp tcp-db")?.address).toBe(`127.0.0.2:${appPort}`);
  });

  it("PERMISSIVE passes a plain-text client's bytes to the application and reports destination TCP metrics", async () => {
    const before = appConnections;
    expect(await tcpRoundTrip("127.0.0.2", appPort, "plain")).toBe("echo:plain");
    expect(appConnections).toBe(before + 1);
    await until(async () => series(await metricsOf(permissive, "127.0.0.2"), "istio_tcp_connections_closed_total", { reporter: "destination", connection_security_policy: "none" }) !== undefined, "the closed counter");
    const text = await metricsOf(permissive, "127.0.0.2");
    const labels = { reporter: "destination", connection_security_policy: "none", destination_service: "db.default.svc.cluster.local", source_principal: "unknown" };
    expect(series(text, "istio_tcp_connections_opened_total", labels)).toBeGreaterThanOrEqual(1);
    expect(series(text, "istio_tcp_received_bytes_total", labels)).toBeGreaterThanOrEqual("plain".length);
    expect(series(text, "istio_tcp_sent_bytes_total", labels)).toBeGreaterThanOrEqual("echo:plain".length);
  });

  it("PERMISSIVE terminates a client sidecar's mutual TLS and labels the metrics with its principal", async () => {
    expect(await tcpRoundTrip("127.0.0.1", toPermissive, "over-mtls")).toBe("echo:over-mtls");
    const labels = { reporter: "destination", connection_security_policy: "mutual_tls", source_principal: "spiffe://cluster.local/ns/default/sa/web", source_workload_namespace: "default" };
    await until(async () => series(await metricsOf(permissive, "127.0.0.2"), "istio_tcp_connections_closed_total", labels) !== undefined, "the mutual_tls closed counter");
    expect(series(await metricsOf(permissive, "127.0.0.2"), "istio_tcp_received_bytes_total", labels)).toBeGreaterThanOrEqual("over-mtls".length);
  });

  it("STRICT closes a plain-text client without reaching the application", async () => {
    const before = appConnections;
    expect(await tcpRoundTrip("127.0.0.3", appPort, "plain")).toBe("");
    expect(appConnections).toBe(before);
  });

  it("STRICT serves a client sidecar's mutual TLS", async () => {
    expect(await tcpRoundTrip("127.0.0.1", toStrict, "strict-ok")).toBe("echo:strict-ok");
    await until(async () => series(await metricsOf(strict, "127.0.0.3"), "istio_tcp_connections_opened_total", { reporter: "destination", connection_security_policy: "mutual_tls" }) !== undefined, "the strict opened counter");
  });

  it("refuses to listen on the application's own address (the connection would loop) and says how to fix it", async () => {
    expect(sameAddress.running.ports["inbound-tcp-tcp-db"]).toBeUndefined();
    expect(sameAddress.lines.some((l) => l.includes("inbound TCP port not served") && l.includes("--app-host"))).toBe(true);
    expect(await tcpRoundTrip("127.0.0.1", appPort, "direct")).toBe("echo:direct");
  });

  it("passes a half-close through: the application's answer after the client's FIN still arrives", async () => {
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(appPort, "127.0.0.2");
      let received = "";
      socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
      socket.on("close", () => resolve(received));
      socket.on("error", () => undefined);
      socket.end("bye");
    });
    expect(answer).toBe("echo:bye");
  });
});
