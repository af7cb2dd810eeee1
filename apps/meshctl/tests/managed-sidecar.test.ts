// Managed mode end to end, every part a real process: `meshctl apply` → control plane (admission,
// registry KV) → discovery stream → a sidecar and an ingress gateway (sidecar in router mode)
// that route real HTTP to two backends. A routing change reaches the proxies without a restart,
// proxy-status reports them SYNCED, a resource the control plane refuses changes nothing, and
// when the control-plane replica a proxy streams from is killed under load, no request fails and
// the proxy follows config changes through the other replica.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { meshctl } from "./support/run-meshctl.ts";
import { freePort } from "@meshwork/testing/processes";
import { startApp, type StartedApp } from "./support/start-app.ts";

let dir: string;
let controlPlane: string;
/** Admin URL → the replica's process. */
const replicas = new Map<string, StartedApp>();
let sidecarOutbound: number;
let gatewayPort: number;
const apps: StartedApp[] = [];
const backends: http.Server[] = [];

/** An HTTP server answering `<name> <path>`. */
async function backend(name: string): Promise<number> {
  const server = http.createServer((req, res) => res.end(`${name} ${req.url ?? ""}`));
  backends.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** GET through a proxy port with an explicit Host header (fetch cannot set one). */
function get(port: number, host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, headers: { host }, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Polls until `predicate` holds for a response (pushes are asynchronous); returns the last response. */
async function until(request: () => Promise<{ status: number; body: string }>, predicate: (r: { status: number; body: string }) => boolean): Promise<{ status: number; body: string }> {
  let last: { status: number; body: string } = { status: 0, body: "(no response)" };
  for (let i = 0; i < 150; i++) {
    try {
      last = await request();
      if (predicate(last)) return last;
    } catch (error) {
      last = { status: 0, body: String(error) };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`condition never held; last response ${last.status}: ${last.body}`);
}

async function apply(name: string, yaml: string): Promise<{ code: number | null; out: string }> {
  const path = join(dir, name);
  await writeFile(path, yaml);
  const run = await meshctl(["apply", "-f", path, "--control-plane", controlPlane]);
  return { code: run.code, out: run.stdout + run.stderr };
}

const routeTo = (subset: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: ${subset} }
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshctl-managed-"));
  const [v1, v2] = [await backend("reviews-v1"), await backend("reviews-v2")];
  const [raft, regHttp, regGrpc, regAdmin, cpGrpc, cpAdmin, outbound, admin, stats, gwAdmin, gwStats, gwPort, cp2Grpc, cp2Admin] = await Promise.all([
    freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort(),
  ]);
  sidecarOutbound = outbound;
  gatewayPort = gwPort;
  apps.push(
    await startApp(
      "registry",
      ["--node-id", "r1", "--peers", `r1=127.0.0.1:${raft}`, "--data-dir", join(dir, "r1"), "--raft-port", `${raft}`, "--http-port", `${regHttp}`, "--grpc-port", `${regGrpc}`, "--admin-port", `${regAdmin}`, "--dns-port", "0", "--tick-ms", "20"],
      `http://127.0.0.1:${regAdmin}/readyz`,
    ),
  );
  for (const [id, grpc, admin] of [["cp-1", cpGrpc, cpAdmin], ["cp-2", cp2Grpc, cp2Admin]] as const) {
    const replica = await startApp(
      "control-plane",
      ["--id", id, "--grpc-port", `${grpc}`, "--admin-port", `${admin}`, "--registry-grpc", `127.0.0.1:${regGrpc}`, "--registry-http", `http://127.0.0.1:${regHttp}`, "--debounce-ms", "10"],
      `http://127.0.0.1:${admin}/ready`,
    );
    apps.push(replica);
    replicas.set(`http://127.0.0.1:${admin}`, replica);
  }
  controlPlane = `http://127.0.0.1:${cpAdmin}`;
  const services = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints:
  - { address: 127.0.0.1, ports: { http: ${v1} }, labels: { app: reviews, version: v1 } }
  - { address: 127.0.0.1, ports: { http: ${v2} }, labels: { app: reviews, version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
`;
  const applied = await apply("services.yaml", `${services}---\n${routeTo("v1")}`);
  expect(applied.code, applied.out).toBe(0);
  const cp = `127.0.0.1:${cpGrpc},127.0.0.1:${cp2Grpc}`;
  apps.push(
    await startApp(
      "sidecar",
      ["--discovery-address", cp, "--namespace", "default", "--labels", "app=productpage,version=v1", "--outbound-port", `${outbound}`, "--inbound-port=-1", "--admin-port", `${admin}`, "--stats-port", `${stats}`, "--access-log", "off"],
      `http://127.0.0.1:${stats}/healthz/ready`,
    ),
  );
  apps.push(
    await startApp(
      "sidecar",
      ["--discovery-address", cp, "--proxy-mode", "router", "--namespace", "istio-system", "--labels", "istio=ingressgateway", "--outbound-port=-1", "--inbound-port=-1", "--admin-port", `${gwAdmin}`, "--stats-port", `${gwStats}`, "--access-log", "off"],
      `http://127.0.0.1:${gwStats}/healthz/ready`,
    ),
  );
}, 180_000);

afterAll(async () => {
  for (const app of apps.reverse()) await app.stop();
  for (const server of backends) server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("a sidecar managed by the control plane", { timeout: 60_000 }, () => {
  it("routes with the pushed config and follows a VirtualService change without a restart", async () => {
    const first = await until(() => get(sidecarOutbound, "reviews:9080", "/reviews/1"), (r) => r.status === 200);
    expect(first.body).toBe("reviews-v1 /reviews/1");
    const applied = await apply("v2.yaml", routeTo("v2"));
    expect(applied.code, applied.out).toBe(0);
    const moved = await until(() => get(sidecarOutbound, "reviews:9080", "/reviews/1"), (r) => r.body.startsWith("reviews-v2"));
    expect(moved.status).toBe(200);
  });

  it("is SYNCED in proxy-status, under the id it reported", async () => {
    let out = "";
    for (let i = 0; i < 50 && !/productpage\.default\s.*SYNCED/.test(out); i++) {
      out = (await meshctl(["proxy-status", "--control-plane", [...replicas.keys()].join(",")])).stdout;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(out).toMatch(/productpage\.default\s.*SYNCED/);
    expect(out).not.toMatch(/NACKED|STALE/);
  });

  it("keeps serving the last good config when the control plane refuses a resource", async () => {
    const bad = await apply("bad.yaml", routeTo("v1").replace("subset: v1", "subset: v1\n      weight: 150"));
    expect(bad.code).not.toBe(0);
    const still = await get(sidecarOutbound, "reviews:9080", "/reviews/2");
    expect(still.body).toBe("reviews-v2 /reviews/2");
  });
});

describe("an ingress gateway managed by the control plane", { timeout: 60_000 }, () => {
  it("opens the pushed Gateway's port and routes with the VirtualServices bound to it", async () => {
    const gateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: ${gatewayPort}, name: http, protocol: HTTP }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge, namespace: default }
spec:
  hosts: ["*"]
  gateways: [edge]
  http:
  - match: [{ uri: { prefix: /reviews } }]
    route:
    - destination: { host: reviews, port: { number: 9080 }, subset: v1 }
`;
    const applied = await apply("gateway.yaml", gateway);
    expect(applied.code, applied.out).toBe(0);
    const routed = await until(() => get(gatewayPort, "bookinfo.example.com", "/reviews/7"), (r) => r.status === 200);
    expect(routed.body).toBe("reviews-v1 /reviews/7");
    const unrouted = await get(gatewayPort, "bookinfo.example.com", "/other");
    expect(unrouted.status).toBe(404);
  });
});

describe("a control-plane replica dying", { timeout: 90_000 }, () => {
  it("fails no request, and the proxies follow config changes through the other replica", async () => {
    const status = await meshctl(["proxy-status", "--control-plane", [...replicas.keys()].join(","), "-o", "json"]);
    const rows = JSON.parse(status.stdout) as { proxy: string; controlPlane: string }[];
    const servedBy = rows.find((r) => r.proxy === "productpage.default")?.controlPlane;
    expect(servedBy === "cp-1" || servedBy === "cp-2", status.stdout).toBe(true);
    const [deadUrl, dead] = [...replicas.entries()][servedBy === "cp-1" ? 0 : 1] ?? [];
    const [aliveUrl] = [...replicas.entries()][servedBy === "cp-1" ? 1 : 0] ?? [];
    if (!dead || !deadUrl || !aliveUrl) throw new Error("two replicas were started");
    // Steady load (4 clients) through the sidecar while its replica is killed.
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const client = async (): Promise<void> => {
      while (!stop) {
        try {
          const r = await get(sidecarOutbound, "reviews:9080", "/load");
          if (r.status === 200) ok++;
          else failures.push(`${r.status} ${r.body}`);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const load = Promise.all([client(), client(), client(), client()]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    dead.child.kill("SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    controlPlane = aliveUrl;
    const applied = await apply("back-to-v1.yaml", routeTo("v1"));
    expect(applied.code, applied.out).toBe(0);
    await until(() => get(sidecarOutbound, "reviews:9080", "/after"), (r) => r.body.startsWith("reviews-v1"));
    stop = true;
    await load;
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(0);
  });
});
