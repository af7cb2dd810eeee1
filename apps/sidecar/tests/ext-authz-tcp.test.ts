// AuthorizationPolicy on inbound TCP ports between real sidecars (in process, port 0 where it can):
// Istio's TCP filter chain runs the network ext_authz filter for a CUSTOM policy whose provider is
// envoyExtAuthzGrpc, then the network RBAC filter. The `db` workload's TCP port (an echo
// application) is checked by the sample gRPC authorizer (tests/support/ext-authz-grpc-server.ts:
// for a check without HTTP attributes it allows service account `sleep`); client sidecars dial it
// with auto mutual TLS from `--tcp-upstream` bindings, as `sleep` and as `web`, and plain-text
// clients dial it directly. A second workload names an envoyExtAuthzHttp provider (Istio ignores it
// on TCP) and a DENY policy; a third one a gRPC provider that cannot be reached.
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@meshwork/testing/processes";
import { eventually } from "@meshwork/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleAllowedServiceAccount, sampleAnswer, startExtAuthzTestServer, type ExtAuthzTestServer } from "./support/ext-authz-grpc-server.ts";
import { createTestPki, writeCertDir, type TestPki } from "./support/mesh-pki.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";
import { tcpRoundTrip } from "./support/tcp-round-trip.ts";

let root: string;
let pki: TestPki;
let app: Server;
let appPort = 0;
/** Connections the application accepted. */
let appConnections = 0;
let authz: ExtAuthzTestServer;
let httpAuthz: HttpServer;
let httpChecks = 0;
/** `db` (gRPC CUSTOM) on 127.0.0.2, `cache` (HTTP CUSTOM + DENY) on 127.0.0.3, `down` (unreachable gRPC provider) on 127.0.0.4. */
let db: TestSidecar;
let cache: TestSidecar;
let down: TestSidecar;
/** Client sidecars with --tcp-upstream bindings to db: as service account sleep, and as web. */
let asSleep: TestSidecar;
let asWeb: TestSidecar;
let sleepToDb = 0;
let webToDb = 0;

/** A service with one TCP port served by a WorkloadEntry on `address` (with a sidecar, serviceAccount db). */
function serviceYaml(name: string, address: string): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${name}.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
    - { number: 5432, name: tcp-db }
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

const custom = (app: string, provider: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ext-authz-${app}, namespace: default }
spec:
  selector: { matchLabels: { app: ${app} } }
  action: CUSTOM
  provider: { name: ${provider} }
  rules:
  - to:
    - operation: { ports: ["${appPort}"] }
`;

const denyFrom9 = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-127-0-0-9, namespace: default }
spec:
  selector: { matchLabels: { app: cache } }
  action: DENY
  rules:
  - from:
    - source: { ipBlocks: ["127.0.0.9/32"] }
`;

async function configDir(name: string, ...docs: string[]): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "mesh.yaml"), docs.join("---\n"));
  return dir;
}

/** A `/stats` counter of a sidecar whose admin port listens on `host`. */
async function stat(sidecar: TestSidecar, host: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${host}:${sidecar.port("admin")}/stats`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}: `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 2));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-ext-authz-tcp-"));
  pki = await createTestPki();
  authz = await startExtAuthzTestServer(sampleAnswer);
  httpAuthz = createHttpServer((_req, res) => {
    httpChecks += 1;
    res.writeHead(403).end();
  });
  const httpAuthzPort = await new Promise<number>((resolve) => httpAuthz.listen(0, "127.0.0.1", () => resolve((httpAuthz.address() as { port: number }).port)));
  app = createServer((socket) => {
    appConnections += 1;
    socket.on("data", (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`));
    socket.on("end", () => socket.end());
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  appPort = (app.address() as { port: number }).port;
  const deadPort = await freePort();
  await writeFile(
    join(root, "mesh-config.yaml"),
    `extensionProviders:
- name: sample-ext-authz-grpc
  envoyExtAuthzGrpc: { service: 127.0.0.1, port: ${authz.port}, timeout: 2s }
- name: sample-ext-authz-http
  envoyExtAuthzHttp: { service: 127.0.0.1, port: ${httpAuthzPort} }
- name: ext-authz-down
  envoyExtAuthzGrpc: { service: 127.0.0.1, port: ${deadPort}, timeout: 2s }
`,
  );
  const dbCerts = await writeCertDir(join(root, "db-certs"), await pki.issue("default", "db"), pki.rootPem);
  const services = [serviceYaml("db", "127.0.0.2"), serviceYaml("cache", "127.0.0.3"), serviceYaml("down", "127.0.0.4")];
  const policies = [custom("db", "sample-ext-authz-grpc"), custom("cache", "sample-ext-authz-http"), denyFrom9, custom("down", "ext-authz-down")];
  const server = (bind: string, name: string): string[] => [
    "--bind", bind, "--app-host", "127.0.0.1", "--cert-dir", dbCerts, "--labels", `app=${name}`, "--workload-name", `${name}-1`,
    "--outbound-port=-1", "--mesh-config", join(root, "mesh-config.yaml"),
  ];
  const config = await configDir("servers", ...services, ...policies);
  db = await startTestSidecar(["--config", config, ...server("127.0.0.2", "db")], root, "db");
  cache = await startTestSidecar(["--config", config, ...server("127.0.0.3", "cache")], root, "cache");
  down = await startTestSidecar(["--config", config, ...server("127.0.0.4", "down")], root, "down");
  [sleepToDb, webToDb] = await Promise.all([freePort(), freePort()]);
  const client = async (sa: string, localPort: number): Promise<TestSidecar> =>
    startTestSidecar(
      [
        "--config", await configDir(`client-${sa}`, ...services),
        "--cert-dir", await writeCertDir(join(root, `${sa}-certs`), await pki.issue("default", sa), pki.rootPem),
        "--labels", `app=${sa}`,
        "--inbound-port=-1",
        "--tcp-upstream", `db.default.svc.cluster.local:5432=127.0.0.1:${localPort}`,
      ],
      root,
      `client-${sa}`,
    );
  asSleep = await client(sampleAllowedServiceAccount, sleepToDb);
  asWeb = await client("web", webToDb);
});

afterAll(async () => {
  for (const sidecar of [asSleep, asWeb, db, cache, down]) await sidecar?.stop();
  await authz?.close();
  httpAuthz?.close();
  await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
  if (root) await rm(root, { recursive: true, force: true });
});

describe("CUSTOM with an envoyExtAuthzGrpc provider on inbound TCP ports", () => {
  it("lets through a mutual-TLS connection the authorizer allows, having told it both ends and no request", async () => {
    const before = authz.checks.length;
    expect(await tcpRoundTrip("127.0.0.1", sleepToDb, "as-sleep")).toBe("echo:as-sleep");
    const attributes = authz.checks[before]?.request["attributes"];
    expect(attributes.request).toBeUndefined();
    expect(attributes.source).toMatchObject({ principal: `spiffe://cluster.local/ns/default/sa/${sampleAllowedServiceAccount}`, address: { socket_address: { address: "127.0.0.1" } } });
    expect(attributes.destination).toMatchObject({
      principal: "spiffe://cluster.local/ns/default/sa/db",
      service: "outbound_.5432_._.db.default.svc.cluster.local",
      address: { socket_address: { address: "127.0.0.2", port_value: appPort } },
    });
    expect(await stat(db, "127.0.0.2", "tcp.rbac.allowed")).toBeGreaterThanOrEqual(1);
  });

  it("closes a mutual-TLS connection the authorizer denies before the application is dialled, logged UAEX", async () => {
    const before = appConnections;
    expect(await tcpRoundTrip("127.0.0.1", webToDb, "as-web")).toBe("");
    expect(appConnections).toBe(before);
    expect(await stat(db, "127.0.0.2", "ext_authz.tcp.denied")).toBeGreaterThanOrEqual(1);
    const line = await eventually(
      "the denied connection's access-log line",
      async () => (await db.accessLog()).find((l) => l["connection_termination_details"] === "ext_authz_denied"),
      { timeoutMs: 5_000, intervalMs: 20 },
    );
    expect(line).toMatchObject({ response_flags: "UAEX", upstream_cluster: `inbound|${appPort}||` });
  });

  it("closes a plain-text connection (no principal: the sample denies it)", async () => {
    const before = authz.checks.length;
    const connections = appConnections;
    expect(await tcpRoundTrip("127.0.0.2", appPort, "plain")).toBe("");
    expect(appConnections).toBe(connections);
    expect(authz.checks[before]?.request["attributes"].source.principal).toBeUndefined();
  });

  it("closes the connection when the provider cannot be reached (ext_authz_error)", async () => {
    const before = appConnections;
    expect(await tcpRoundTrip("127.0.0.4", appPort, "plain")).toBe("");
    expect(appConnections).toBe(before);
    expect(await stat(down, "127.0.0.4", "ext_authz.tcp.error")).toBe(1);
  });
});

describe("AuthorizationPolicy on inbound TCP ports without a gRPC provider", () => {
  it("does not ask an envoyExtAuthzHttp provider about TCP connections (Istio ignores it on TCP)", async () => {
    expect(await tcpRoundTrip("127.0.0.3", appPort, "plain")).toBe("echo:plain");
    expect(httpChecks).toBe(0);
  });

  it("applies DENY policies on TCP attributes (source.ip): the connection is closed", async () => {
    const before = appConnections;
    expect(await tcpRoundTrip("127.0.0.3", appPort, "from-9", "127.0.0.9")).toBe("");
    expect(appConnections).toBe(before);
    expect(await stat(cache, "127.0.0.3", "tcp.rbac.denied")).toBe(1);
    const line = await eventually(
      "the RBAC denial's access-log line",
      async () => (await cache.accessLog()).find((l) => String(l["connection_termination_details"]).startsWith("rbac_access_denied")),
      { timeoutMs: 5_000, intervalMs: 20 },
    );
    expect(line).toMatchObject({ connection_termination_details: "rbac_access_denied_matched_policy[ns[default]-policy[deny-127-0-0-9]-rule[0]]", response_flags: "-" });
  });
});
