// The status port with the application's rewritten probes: a real stats server (createStatsServer)
// on port 0 in front of a real application on port 0, as the kubelet would call it.
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { testCertificatePem, testPrivateKeyPem } from "../../tests/support/h2-test-certificate.ts";
import { createStatsServer, type SidecarState } from "../admin-server.ts";
import { appHealthRoutes } from "./app-health-routes.ts";
import { parseAppProbers } from "./parse-app-probers.ts";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function listen<T extends { listen(port: number, host: string, cb: () => void): unknown; address(): unknown; close(cb: () => void): unknown }>(server: T): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

const state = { ready: true, draining: false, registry: new Registry() } as unknown as SidecarState;

async function statsServerFor(probers: Record<string, unknown>): Promise<number> {
  const parsed = parseAppProbers(JSON.stringify(probers));
  if (!parsed.ok) throw new Error(parsed.message);
  const server: Server = createStatsServer(state, appHealthRoutes(parsed.probers, { defaultHost: "127.0.0.1" }));
  return listen(server);
}

describe("/app-health/<container>/<probe> on the status port", () => {
  it("answers with the application's own status for HTTP probes, passing the probe's headers and the kubelet's user agent", async () => {
    let appHealthy = true;
    const seen: Record<string, string | undefined>[] = [];
    const app = createHttpServer((req, res) => {
      seen.push({ url: req.url, probe: req.headers["x-probe"] as string | undefined, agent: req.headers["user-agent"] });
      res.writeHead(req.url === "/healthz" && appHealthy ? 200 : 503).end();
    });
    const appPort = await listen(app);
    const stats = await statsServerFor({
      "/app-health/web/livez": { httpGet: { path: "/healthz", port: appPort, httpHeaders: [{ name: "X-Probe", value: "live" }] }, timeoutSeconds: 1 },
      "/app-health/web/readyz": { httpGet: { path: "/not-here", port: appPort } },
    });
    const probe = (path: string) => fetch(`http://127.0.0.1:${stats}${path}`, { headers: { "user-agent": "kube-probe/1.32" } }).then((r) => r.status);
    expect(await probe("/app-health/web/livez")).toBe(200);
    expect(await probe("/app-health/web/readyz")).toBe(503);
    appHealthy = false;
    expect(await probe("/app-health/web/livez")).toBe(503);
    expect(seen[0]).toEqual({ url: "/healthz", probe: "live", agent: "kube-probe/1.32" });
    // Paths without a prober stay unknown; the sidecar's own pages are still there.
    expect(await probe("/app-health/other/livez")).toBe(404);
    expect(await probe("/healthz/ready")).toBe(200);
  });

  it("probes an HTTPS application over TLS without verifying its certificate, as the kubelet does", async () => {
    // node:https is loaded by the first HTTPS probe (not at start): this is that first probe.
    const app = createHttpsServer({ key: testPrivateKeyPem, cert: testCertificatePem }, (req, res) => res.writeHead(req.url === "/healthz" ? 204 : 503).end());
    const appPort = await listen(app);
    const stats = await statsServerFor({
      "/app-health/web/livez": { httpGet: { path: "/healthz", port: appPort, scheme: "HTTPS" } },
      "/app-health/web/readyz": { httpGet: { path: "/not-here", port: appPort, scheme: "HTTPS" } },
    });
    expect((await fetch(`http://127.0.0.1:${stats}/app-health/web/livez`)).status).toBe(204);
    expect((await fetch(`http://127.0.0.1:${stats}/app-health/web/readyz`)).status).toBe(503);
  });

  it("fails an HTTP probe with 500 when the application is down or does not answer in time", async () => {
    const closed = createTcpServer();
    const closedPort = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    closers.pop();
    const silent = createTcpServer((socket) => socket.resume()); // reads, never answers
    const silentPort = await listen(silent);
    const stats = await statsServerFor({
      "/app-health/down/livez": { httpGet: { path: "/", port: closedPort } },
      "/app-health/slow/livez": { httpGet: { path: "/", port: silentPort }, timeoutSeconds: 1 },
    });
    const down = await fetch(`http://127.0.0.1:${stats}/app-health/down/livez`);
    expect([down.status, await down.text()]).toEqual([500, expect.stringContaining("ECONNREFUSED")]);
    const slow = await fetch(`http://127.0.0.1:${stats}/app-health/slow/livez`);
    expect([slow.status, await slow.text()]).toEqual([500, expect.stringContaining("no answer within 1000 ms")]);
  });

  it("passes a TCP probe when the application accepts and fails it when nothing listens", async () => {
    const app = createTcpServer((socket) => socket.end());
    const appPort = await listen(app);
    const closed = createTcpServer();
    const closedPort = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    closers.pop();
    const stats = await statsServerFor({ "/app-health/db/readyz": { tcpSocket: { port: appPort } }, "/app-health/db/livez": { tcpSocket: { port: closedPort } } });
    expect((await fetch(`http://127.0.0.1:${stats}/app-health/db/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${stats}/app-health/db/livez`)).status).toBe(500);
  });
});
