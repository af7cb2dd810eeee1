// Two control-plane replicas in-process (startControlPlane: real gRPC, real admin HTTP, flags as
// main.ts passes them), each with --console-peers naming the other and a shared --console-token.
// Proxies (DiscoveryClient) stream to different replicas and report there; each replica's console
// shows the whole mesh: graph, identities, a proxy that moved between replicas counted once, and a
// peer that stops answering listed as an error while the local reports still show.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiscoveryClient } from "@meshwork/protocol";
import type { ProxyNode } from "@meshwork/proxy-core";
import { createLogger } from "@meshwork/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type RunningControlPlane } from "../start-control-plane.ts";
import { testControlPlaneConfig } from "../../tests/support/test-config.ts";
import type { ProxyReport } from "./proxy-reports.ts";

/** Fixed admin ports (each replica's --console-peers names the other's before it starts); this task's range is 29000–29499. */
const ADMIN_PORTS = [29_311, 29_312] as const;
const TOKEN = "peers-s3cret";
const bounds = [1, 5, 10, 25, 50, 100, 250];

interface Replica {
  readonly running: RunningControlPlane;
  readonly admin: string;
  readonly stops: (() => Promise<void> | void)[];
}

let dir = "";
const replicas: Replica[] = [];
const clients: DiscoveryClient[] = [];

async function startReplica(i: 0 | 1): Promise<Replica> {
  const stops: (() => Promise<void> | void)[] = [];
  const running = await startControlPlane(
    testControlPlaneConfig({
      id: `cp-${i + 1}`,
      adminPort: ADMIN_PORTS[i],
      configDir: dir,
      consoleToken: TOKEN,
      consolePeers: [`http://127.0.0.1:${ADMIN_PORTS[i === 0 ? 1 : 0]}`],
    }),
    { logger: createLogger({ name: `cp-${i + 1}`, write: () => undefined }), onStop: (_name, hook) => void stops.push(hook), processMetrics: false },
  );
  return { running, admin: `http://127.0.0.1:${running.adminPort}`, stops };
}

async function stopReplica(r: Replica): Promise<void> {
  for (const stop of r.stops.splice(0).reverse()) await stop();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshwork-console-peers-"));
  replicas.push(await startReplica(0), await startReplica(1));
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const r of replicas) await stopReplica(r);
  await rm(dir, { recursive: true, force: true });
});

function node(app: string, version: string): ProxyNode {
  return { id: `${app}-${version}.default`, workload: `${app}-${version}`, namespace: "default", serviceAccount: `bookinfo-${app}`, labels: { app, version }, version: "test", kind: "sidecar" };
}

function connect(proxy: ProxyNode, replica: Replica): DiscoveryClient {
  const client = new DiscoveryClient({ addresses: [`127.0.0.1:${replica.running.grpcPort}`], node: proxy, apply: () => undefined });
  client.start();
  clients.push(client);
  return client;
}

/** `requests` calls `from`-v1 → `to`-v1 (all of 5–10 ms), as the `reporter` side counts them in (startMs, endMs]. */
function report(from: string, to: string, reporter: "source" | "destination", requests: number, startMs: number, endMs: number, serial: string): ProxyReport {
  return {
    intervalStartMs: startMs,
    intervalEndMs: endMs,
    durationBoundsMs: bounds,
    traffic: [
      {
        reporter,
        sourceWorkload: `${from}-v1`,
        sourceNamespace: "default",
        sourceApp: from,
        sourceVersion: "v1",
        sourcePrincipal: `spiffe://cluster.local/ns/default/sa/bookinfo-${from}`,
        destinationService: `${to}.default.svc.cluster.local`,
        destinationServiceName: to,
        destinationServiceNamespace: "default",
        destinationWorkload: `${to}-v1`,
        destinationNamespace: "default",
        destinationApp: to,
        destinationVersion: "v1",
        destinationPrincipal: `spiffe://cluster.local/ns/default/sa/bookinfo-${to}`,
        responseCode: "200",
        connectionSecurityPolicy: reporter === "destination" ? "mutual_tls" : "unknown",
        requests,
        durationCounts: [0, 0, requests],
        durationSumMs: requests * 7,
      },
    ],
    svid: { spiffeId: `spiffe://cluster.local/ns/default/sa/bookinfo-${reporter === "source" ? from : to}`, serial, notBeforeMs: Date.now() - 60_000, notAfterMs: Date.now() + 86_400_000 },
  };
}

async function get<T>(replica: Replica, path: string, token: string | null = TOKEN): Promise<{ status: number; body: T }> {
  const response = await fetch(`${replica.admin}${path}${token === null ? "" : `${path.includes("?") ? "&" : "?"}token=${token}`}`);
  return { status: response.status, body: (await response.json()) as T };
}

async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < 300; i++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`);
}

interface Graph {
  source: string;
  errors: string[];
  edges: { source: string; target: string; responseCodes: Record<string, number>; mtls: boolean }[];
}
interface Identities {
  identities: { proxy: string; controlPlane: string; spiffeId: string; serial: string | null; state: string }[];
  errors: string[];
}
interface Reports {
  controlPlane: string;
  nowMs: number;
  deltas: { proxy: string; intervalStartMs: number }[];
  proxies: { proxy: string }[];
}

const requests = (g: Graph, source: string, target: string): number | undefined => {
  const e = g.edges.find((x) => x.source === source && x.target === target);
  return e === undefined ? undefined : Object.values(e.responseCodes).reduce((a, b) => a + b, 0);
};

/** Waits until `replica` holds reports of `proxy`, `count` of them. */
async function reportsReach(replica: Replica, proxy: string, count: number): Promise<void> {
  await until(`${count} report(s) of ${proxy} at ${replica.admin}`, async () => {
    const r = await get<Reports>(replica, "/console/api/reports");
    return r.body.deltas.filter((d) => d.proxy === proxy).length === count ? true : undefined;
  });
}

describe("the console across control-plane replicas (--console-peers)", { timeout: 60_000 }, () => {
  const [productpage, reviews, details] = [node("productpage", "v1"), node("reviews", "v1"), node("details", "v1")];
  const t0 = Date.now() - 20_000;

  it("serves each replica's own reports at /console/api/reports, under the console's token", async () => {
    const [cp1, cp2] = [replicas[0], replicas[1]] as [Replica, Replica];
    const pp = connect(productpage, cp1);
    const rv = connect(reviews, cp2);
    await until("both proxies to connect", async () => (cp1.running.discovery.status().length === 1 && cp2.running.discovery.status().length === 1 ? true : undefined));
    // Each replica alone sees one of the two calls: productpage → reviews at cp-1, reviews → ratings at cp-2.
    expect(pp.report(report("productpage", "reviews", "source", 12, t0, t0 + 5_000, "0a01"))).toBe(true);
    expect(rv.report(report("reviews", "ratings", "source", 7, t0, t0 + 5_000, "0b01"))).toBe(true);
    await reportsReach(cp1, productpage.id, 1);
    await reportsReach(cp2, reviews.id, 1);

    const own = await get<Reports>(cp2, "/console/api/reports?sinceMs=0");
    expect(own.status).toBe(200);
    // Its own proxy and report only (never what it fetched from its peer).
    expect(own.body.controlPlane).toBe("cp-2");
    expect(own.body.deltas.map((d) => d.proxy)).toEqual([reviews.id]);
    expect(own.body.proxies.map((p) => p.proxy)).toEqual([reviews.id]);
    // Nothing received after its own clock's now.
    expect((await get<Reports>(cp2, `/console/api/reports?sinceMs=${own.body.nowMs}`)).body.deltas).toEqual([]);
    expect((await get<{ error: string }>(cp2, "/console/api/reports", null)).status).toBe(401);
    const bad = await get<{ error: string }>(cp2, "/console/api/reports?sinceMs=yesterday");
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/sinceMs=yesterday.*milliseconds since the epoch/);
  });

  it("shows both replicas' proxies in each replica's graph and identities", async () => {
    for (const [i, replica] of replicas.entries()) {
      const graph = (await get<Graph>(replica, "/console/api/graph?window=60")).body;
      expect(graph.errors, `cp-${i + 1}`).toEqual([]);
      expect(graph.source).toBe("reports of 2 proxy(ies) on the discovery stream of this replica and 1 peer(s)");
      // productpage's calls (reported to cp-1) and reviews' (reported to cp-2), each once.
      expect(requests(graph, "wl:default/productpage-v1", "svc:default/reviews"), `cp-${i + 1}`).toBe(12);
      expect(requests(graph, "wl:default/reviews-v1", "svc:default/ratings"), `cp-${i + 1}`).toBe(7);
      const identities = (await get<Identities>(replica, "/console/api/identities")).body;
      expect(identities.errors).toEqual([]);
      expect(identities.identities.map((x) => [x.proxy, x.controlPlane, x.spiffeId, x.serial, x.state])).toEqual([
        [productpage.id, "cp-1", "spiffe://cluster.local/ns/default/sa/bookinfo-productpage", "0a01", "valid"],
        [reviews.id, "cp-2", "spiffe://cluster.local/ns/default/sa/bookinfo-reviews", "0b01", "valid"],
      ]);
    }
  });

  it("counts a proxy that moved between replicas once per report interval", async () => {
    const [cp1, cp2] = [replicas[0], replicas[1]] as [Replica, Replica];
    const before = connect(details, cp2);
    await until("details to connect to cp-2", async () => (cp2.running.discovery.status().some((s) => s.node.id === details.id) ? true : undefined));
    const first = report("productpage", "details", "destination", 4, t0, t0 + 5_000, "0c01");
    expect(before.report(first)).toBe(true);
    await reportsReach(cp2, details.id, 1);
    before.close();
    // It moves to cp-1, sends the interval again (it could not tell whether cp-2 got it) and the next one.
    const after = connect(details, cp1);
    await until("details to connect to cp-1", async () => (cp1.running.discovery.status().some((s) => s.node.id === details.id) ? true : undefined));
    expect(after.report(first)).toBe(true);
    expect(after.report(report("productpage", "details", "destination", 6, t0 + 5_000, t0 + 10_000, "0c02"))).toBe(true);
    await reportsReach(cp1, details.id, 2);
    for (const [i, replica] of replicas.entries()) {
      // A replica fetches its peer at most once a second: wait for a fetch after both reports.
      const graph = await until(`cp-${i + 1}'s graph to count details' reports`, async () => {
        const g = (await get<Graph>(replica, "/console/api/graph?window=60")).body;
        return (requests(g, "svc:default/details", "wl:default/details-v1") ?? 0) >= 10 ? g : undefined;
      });
      expect(requests(graph, "svc:default/details", "wl:default/details-v1"), `cp-${i + 1}`).toBe(10);
      const identities = (await get<Identities>(replica, "/console/api/identities")).body;
      // Listed once, at the replica it streams from now, with the SVID it reported last.
      expect(identities.identities.filter((x) => x.proxy === details.id).map((x) => [x.controlPlane, x.serial])).toEqual([["cp-1", "0c02"]]);
    }
    // The service page's series merges the same way (both intervals were received in this window).
    const series = (await get<{ series: { points: { requestsPerSecond: number }[] } }>(cp2, "/console/api/services/default/details?window=60")).body.series;
    expect(series.points.reduce((n, p) => n + p.requestsPerSecond * 5, 0)).toBeCloseTo(10);
  });

  it("lists a peer that does not answer among the errors and still shows the local reports", async () => {
    const [cp1, cp2] = [replicas[0], replicas[1]] as [Replica, Replica];
    await stopReplica(cp2);
    const graph = await until("cp-1 to notice its peer is gone", async () => {
      const g = (await get<Graph>(cp1, "/console/api/graph?window=60")).body;
      return g.errors.length > 0 ? g : undefined;
    });
    expect(graph.errors).toEqual([expect.stringMatching(/^console peer http:\/\/127\.0\.0\.1:29312 failed: .+; its proxies' reports are missing from this reading$/)]);
    // Local: productpage's calls to reviews and details' reports (it moved here).
    expect(requests(graph, "wl:default/productpage-v1", "svc:default/reviews")).toBe(12);
    expect(requests(graph, "svc:default/details", "wl:default/details-v1")).toBe(10);
    const identities = await until("the identities page to notice too", async () => {
      const body = (await get<Identities>(cp1, "/console/api/identities")).body;
      return body.errors.length > 0 ? body : undefined;
    });
    // reviews streamed to cp-2 only: no longer listed; cp-1's own proxies are.
    expect(identities.identities.map((x) => x.proxy)).toEqual([details.id, productpage.id]);
    expect(identities.errors[0]).toMatch(/console peer http:\/\/127\.0\.0\.1:29312 failed/);
  });
});
