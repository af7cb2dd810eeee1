// A Sidecar resource's explicit egress listeners on a real sidecar (standalone config, real
// sockets): an application that is not captured dials 127.0.0.1:<port> and reaches the services
// its egress listener imports there — HTTP by Host (any other host: 404 NR), TCP to the one
// imported service — and a config change that drops a listener closes it. On a port scoped by an
// egress listener, a service host that listener does not import is treated like an unknown host:
// 404 NR under REGISTRY_ONLY, the PassthroughCluster (the authority itself) under ALLOW_ANY — here
// set by the Sidecar's own outboundTrafficPolicy, which replaces the proxy's flag, as in Istio.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "@meshwork/testing";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send } from "./support/http-client.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";
import { tcpRoundTrip } from "./support/tcp-round-trip.ts";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

let root: string;
let dir: string;
let sidecar: TestSidecar;
let ledger: UpstreamServer;
let web: UpstreamServer;
let db: Server;
/** The explicit listeners' ports (free ports: the Sidecar names them, and the services use the same numbers). */
const egress = { http: 0, tcp: 0 };
const closers: (() => Promise<void>)[] = [];

/** A ServiceEntry of `namespace` for `host` with `ports` (number → [name, protocol]), all served by 127.0.0.1:`target`. */
function serviceEntry(host: string, namespace: string, ports: Record<number, [string, string]>, target: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${host.split(".")[0]}, namespace: ${namespace} }
spec:
  hosts: [${host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [${Object.entries(ports).map(([number, [name, protocol]]) => `{ number: ${number}, name: ${name}, protocol: ${protocol} }`).join(", ")}]
  endpoints:
    - address: 127.0.0.1
      ports: { ${Object.values(ports).map(([name]) => `${name}: ${target}`).join(", ")} }
`;
}

/** Writes the mesh config: the Sidecar's explicit HTTP listener only `withHttpListener`, its outboundTrafficPolicy when `policy` is given. */
async function writeConfig(options: { withHttpListener: boolean; policy?: "ALLOW_ANY" | "REGISTRY_ONLY" }): Promise<void> {
  const httpListener = `    - port: { number: ${egress.http}, protocol: HTTP, name: http-egress }
      captureMode: NONE
      hosts: ["bank/ledger.bank.svc.cluster.local"]
`;
  const docs = [
    serviceEntry("ledger.bank.svc.cluster.local", "bank", { [egress.http]: ["http", "HTTP"] }, ledger.port),
    serviceEntry("db.bank.svc.cluster.local", "bank", { [egress.tcp]: ["tcp-db", "TCP"] }, (db.address() as { port: number }).port),
    serviceEntry("web.shop.svc.cluster.local", "shop", { [egress.http]: ["http", "HTTP"] }, web.port),
    // A service host that resolves, on the port the web upstream really listens on: a passthrough reaches it.
    serviceEntry("localhost", "shop", { [web.port]: ["http", "HTTP"], 7071: ["http-other", "HTTP"] }, web.port),
    `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: ratings, namespace: shop }
spec:
  workloadSelector: { labels: { app: ratings } }
  egress:
${options.withHttpListener ? httpListener : ""}    - port: { number: ${egress.tcp}, protocol: TCP, name: tcp-db }
      bind: 127.0.0.1
      hosts: ["bank/db.bank.svc.cluster.local"]
    - port: { number: ${web.port}, protocol: HTTP, name: http-scoped }
      hosts: ["bank/*"]
    - hosts: ["./*"]
${options.policy === undefined ? "" : `  outboundTrafficPolicy: { mode: ${options.policy} }\n`}`,
  ];
  await writeFile(join(dir, "mesh.yaml"), docs.join("---\n"));
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-sidecar-egress-"));
  dir = join(root, "config");
  await mkdir(dir, { recursive: true });
  ledger = await startUpstream("ledger");
  web = await startUpstream("web");
  closers.push(() => ledger.close(), () => web.close());
  db = createServer((socket) => socket.on("data", (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`)));
  await new Promise<void>((resolve) => db.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise((resolve) => db.close(() => resolve())));
  egress.http = await freePort();
  egress.tcp = await freePort();
  await writeConfig({ withHttpListener: true });
  sidecar = await startTestSidecar(["--config", dir, "--namespace", "shop", "--labels", "app=ratings", "--outbound-traffic-policy", "REGISTRY_ONLY"], root, "ratings");
  closers.push(() => sidecar.stop());
}, 30_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await rm(root, { recursive: true, force: true });
});

describe("Sidecar egress listeners the sidecar binds itself", () => {
  it("reach an imported HTTP service from an app dialling 127.0.0.1:<port> directly", async () => {
    expect(sidecar.running.ports[`egress-${egress.http}`]).toBe(egress.http);
    const response = await send(egress.http, { host: "ledger.bank.svc.cluster.local", path: "/accounts/7" });
    expect([response.status, response.body]).toEqual([200, "ledger"]);
    expect(ledger.requests.at(-1)?.url).toBe("/accounts/7");
  });

  it("refuse a host the listener does not import with 404 NR, even one with a service on that port", async () => {
    const before = web.requests.length;
    const other = await send(egress.http, { host: `web.shop.svc.cluster.local:${egress.http}` });
    expect(other.status).toBe(404);
    const unknown = await send(egress.http, { host: `127.0.0.1:${egress.http}` });
    expect(unknown.status).toBe(404);
    expect(web.requests.length).toBe(before);
  });

  it("proxy a TCP listener's connections to its imported service", async () => {
    expect(await tcpRoundTrip("127.0.0.1", egress.tcp, "ping")).toBe("echo:ping");
  });
});

describe("a host not imported on a scoped port", () => {
  it("gets 404 NR under REGISTRY_ONLY, like an unknown host", async () => {
    const before = web.requests.length;
    const response = await send(sidecar.port("outbound"), { host: `localhost:${web.port}` });
    expect(response.status).toBe(404);
    expect(web.requests.length).toBe(before);
    // The catch-all still imports the host's other port.
    expect((await send(sidecar.port("outbound"), { host: "localhost:7071" })).status).toBe(200);
  });

  it("goes to the PassthroughCluster (the authority itself) under the Sidecar's ALLOW_ANY", async () => {
    await writeConfig({ withHttpListener: true, policy: "ALLOW_ANY" });
    await eventually(
      "the non-imported host is passed through to the web upstream",
      async () => {
        const response = await send(sidecar.port("outbound"), { host: `localhost:${web.port}`, path: "/passthrough" });
        return response.status === 200 && response.body === "web";
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(web.requests.at(-1)?.url).toBe("/passthrough");
    // The explicit listener has no original destination to pass through to: still refused there.
    expect((await send(egress.http, { host: `web.shop.svc.cluster.local:${egress.http}` })).status).toBe(404);
  });
});

describe("a config change", () => {
  it("closes an explicit listener the Sidecar no longer has and keeps the others", async () => {
    await writeConfig({ withHttpListener: false, policy: "ALLOW_ANY" });
    await eventually("the HTTP egress listener is closed", async () => !(await accepts(egress.http)), { timeoutMs: 10_000, intervalMs: 100 });
    expect(sidecar.running.ports[`egress-${egress.http}`]).toBeUndefined();
    expect(await tcpRoundTrip("127.0.0.1", egress.tcp, "still")).toBe("echo:still");
  });
});
