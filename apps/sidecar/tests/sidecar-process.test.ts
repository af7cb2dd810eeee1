// The sidecar as a real process in standalone mode (`--config DIR`): outbound and inbound
// forwarding, Istio metrics on the stats port, JSON access log, traces to a real OTLP/HTTP
// receiver, local rate limiting, admin pages, a bad config that leaves the last good one serving,
// and graceful drain on SIGTERM with a request in flight.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { connect, createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defined, send } from "./support/http-client.ts";
import { startSidecarProcess, type SidecarProcess } from "./support/sidecar-process.ts";
import { serviceEntryYaml, startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

let dir: string;
let app: UpstreamServer;
let backend: UpstreamServer;
let sidecar: SidecarProcess;
let otlp: Server;
let echo: TcpServer;
let echoPort = 0;
let tcpLocalPort = 0;
const spans: unknown[] = [];
let otlpPort = 0;

const rateLimitYaml = `apiVersion: policy.meshwork.io/v1alpha1
kind: HTTPLocalRateLimitPolicy
metadata: { name: app-limit, namespace: default }
spec:
  targetRef: { workloadSelector: { matchLabels: { app: web } } }
  total: { requestsPerSecond: 5 }
`;

function port(name: string): number {
  return defined(sidecar.ports[name], `the ${name} port`);
}

/** Sends `message` over a TCP connection (after `preamble`) and returns what came back once `expect` bytes arrived. */
function tcpRoundTrip(port: number, preamble: string, message: string, expect: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (received.length >= expect) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.write(preamble + message);
  });
}

async function poll<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await read();
    if (ok(value)) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-process-"));
  app = await startUpstream("app");
  backend = await startUpstream("backend");
  backend.handle((req, res) => {
    if (req.url === "/slow") setTimeout(() => res.end("slow done"), 700);
    else res.end("backend");
  });
  otlp = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      spans.push(JSON.parse(body));
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => otlp.listen(0, "127.0.0.1", resolve));
  otlpPort = (otlp.address() as { port: number }).port;
  echo = createTcpServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  echoPort = (echo.address() as { port: number }).port;
  tcpLocalPort = await freePort();
  await writeFile(join(dir, "backend.yaml"), serviceEntryYaml("backend.test", 80, [backend]));
  await writeFile(
    join(dir, "db.yaml"),
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db, namespace: default }
spec:
  hosts: [db.test]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 5432, name: tcp-db, protocol: TCP }]
  endpoints: [{ address: 127.0.0.1, ports: { tcp-db: ${echoPort} } }]
`,
  );
  await writeFile(join(dir, "limit.yaml"), rateLimitYaml);
  sidecar = await startSidecarProcess([
    "--config", dir,
    "--labels", "app=web,version=v1",
    "--app-port", String(app.port),
    "--access-log", join(dir, "access.log"),
    "--trace-sampling", "100",
    "--otlp-endpoint", `http://127.0.0.1:${otlpPort}/v1/traces`,
    "--drain-seconds", "3",
    "--tcp-upstream", `db.test:5432=${tcpLocalPort}`,
  ]);
}, 30_000);

afterAll(async () => {
  await sidecar?.stop();
  await app?.close();
  await backend?.close();
  otlp?.close();
  echo?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("sidecar process (standalone)", () => {
  it("forwards outbound by Host and inbound to the app, and reports Istio metrics for both", async () => {
    const out = await send(port("outbound"), { host: "backend.test", path: "/hello" });
    expect([out.status, out.body]).toEqual([200, "backend"]);
    const inbound = await send(port("inbound"), { host: "web.test", path: "/in" });
    expect([inbound.status, inbound.body]).toEqual([200, "app"]);
    const metrics = await (await fetch(`http://127.0.0.1:${sidecar.ports["stats"]}/stats/prometheus`)).text();
    expect(metrics).toMatch(/istio_requests_total\{reporter="source",[^}]*destination_service="backend.test"[^}]*response_code="200"[^}]*\} 1/);
    expect(metrics).toMatch(/istio_requests_total\{reporter="destination",[^}]*destination_app="web"[^}]*response_code="200"/);
    expect(metrics).toContain("istio_request_duration_milliseconds_bucket");
    // The upstream got the proxy's trace context and a request id.
    const seen = defined(backend.requests.at(-1), "the backend's last request");
    expect(seen.headers["traceparent"]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(seen.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("writes JSON access log lines with Istio's fields", async () => {
    const lines = await poll(
      // Complete lines only: the last one may still be being written.
      async () => (await readFile(join(dir, "access.log"), "utf8").catch(() => "")).split("\n").slice(0, -1).filter(Boolean),
      (l) => l.length >= 2,
      "access log lines",
    );
    const entry = JSON.parse(defined(lines.find((l) => l.includes("/hello")), "the /hello log line")) as Record<string, unknown>;
    expect(entry).toMatchObject({ method: "GET", path: "/hello", response_code: 200, response_flags: "-", upstream_cluster: "outbound|80||backend.test", authority: "backend.test" });
    expect(typeof entry["request_id"]).toBe("string");
    // The client's address; no SNI on a plain-text connection (Envoy prints null).
    expect(entry["downstream_remote_address"]).toMatch(/^127\.0\.0\.1:\d+$/);
    // The pooled upstream connection's own end.
    expect(entry["upstream_local_address"]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(entry["requested_server_name"]).toBeNull();
  });

  it("exports spans over OTLP/HTTP with the trace id sent upstream", async () => {
    const traceparent = String(defined(backend.requests.find((r) => r.url === "/hello"), "the /hello request").headers["traceparent"]);
    const traceId = defined(traceparent.split("-")[1], "the trace id");
    // The batch span processor exports every 5 s.
    await poll(async () => JSON.stringify(spans), (s) => s.includes(traceId), "the outbound span at the OTLP receiver");
  }, 15_000);

  it("rate limits inbound requests by HTTPLocalRateLimitPolicy with 429 RL", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => send(port("inbound"), { host: "web.test" })));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    const first = defined(limited[0], "a limited response");
    expect(first.headers["x-envoy-ratelimited"]).toBe("true");
    expect(first.body).toBe("local_rate_limited");
  });

  it("keeps the last good config when a file is bad, and shows the error in /config_dump", async () => {
    const admin = `http://127.0.0.1:${sidecar.ports["admin"]}`;
    const before = (await (await fetch(`${admin}/config_dump`)).json()) as { version: string };
    await writeFile(join(dir, "bad.yaml"), "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: bad }\nspec:\n  hosts: [backend.test]\n  http: [{ route: [{ destination: { host: backend.test } , weight: -5 }] }]\n");
    const dump = await poll(
      async () => (await (await fetch(`${admin}/config_dump`)).json()) as { version: string; lastRejected?: { errors: string[] } },
      (d) => d.lastRejected !== undefined,
      "the rejected config in /config_dump",
    );
    expect(dump.version).toBe(before.version);
    expect(defined(dump.lastRejected, "lastRejected").errors.join("\n")).toContain("bad.yaml");
    const still = await send(port("outbound"), { host: "backend.test" });
    expect(still.status).toBe(200);
    await rm(join(dir, "bad.yaml"));
    await poll(async () => (await (await fetch(`${admin}/config_dump`)).json()) as { lastRejected?: unknown }, (d) => d.lastRejected === undefined, "recovery");
    const clusters = await (await fetch(`${admin}/clusters`)).text();
    expect(clusters).toContain(`outbound|80||backend.test::127.0.0.1:${backend.port}::health_flags::healthy`);
    expect(await (await fetch(`${admin}/ready`)).text()).toBe("LIVE\n");
  });

  it("tunnels TCP through CONNECT on the outbound port and through a --tcp-upstream binding", async () => {
    const viaConnect = await tcpRoundTrip(port("outbound"), "CONNECT db.test:5432 HTTP/1.1\r\nHost: db.test:5432\r\n\r\n", "ping", 43);
    expect(viaConnect).toBe("HTTP/1.1 200 Connection Established\r\n\r\nping");
    const viaBinding = await tcpRoundTrip(tcpLocalPort, "", "hello tcp", 9);
    expect(viaBinding).toBe("hello tcp");
    const metrics = await poll(
      async () => (await fetch(`http://127.0.0.1:${port("stats")}/stats/prometheus`)).text(),
      (m) => /istio_tcp_connections_closed_total\{[^}]*destination_service="db.test"[^}]*\} 2/.test(m),
      "two closed TCP connections in the metrics",
    );
    expect(metrics).toMatch(/istio_tcp_received_bytes_total\{[^}]*destination_service="db.test"[^}]*\} 13/);
  });

  it("drains on SIGTERM: the request in flight completes, then the process exits 0", async () => {
    const inFlight = send(port("outbound"), { host: "backend.test", path: "/slow" });
    await new Promise((r) => setTimeout(r, 150));
    sidecar.child.kill("SIGTERM");
    const res = await inFlight;
    expect([res.status, res.body]).toEqual([200, "slow done"]);
    expect(await sidecar.exited).toBe(0);
  }, 15_000);
});
