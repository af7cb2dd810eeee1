// PeerReports against a peer's reports as its route encodes them (a real ProxyReports on its own
// clock), a peer that hangs (a real HTTP server that never answers) and one that refuses.
import { createServer, type Server } from "node:http";
import type { ProxyNode } from "@meshwork/proxy-core";
import { afterEach, describe, expect, it } from "vitest";
import { consoleConfigError } from "./console-settings.ts";
import { decodeReports, encodeReports, mergeReportDeltas, PeerReports, peerUrlError, type ReportedProxy } from "./peer-reports.ts";
import { ProxyReports, type ProxyReport, type ReportDelta } from "./proxy-reports.ts";
import { sumDeltas } from "./traffic-history.ts";

const proxy: ProxyNode = { id: "reviews-v1.default", workload: "reviews-v1", namespace: "default", serviceAccount: "bookinfo-reviews", labels: { app: "reviews", version: "v1" }, version: "test", kind: "sidecar" };

function report(startMs: number, endMs: number, requests: number, code = "200"): ProxyReport {
  const blank = { sourceNamespace: "default", sourceApp: "", sourceVersion: "", sourcePrincipal: "", destinationService: "", destinationServiceName: "ratings", destinationServiceNamespace: "default", destinationNamespace: "default", destinationApp: "", destinationVersion: "", destinationPrincipal: "", connectionSecurityPolicy: "", durationSumMs: 0 };
  return {
    intervalStartMs: startMs,
    intervalEndMs: endMs,
    durationBoundsMs: [1, 10, 100],
    traffic: [{ ...blank, reporter: "source", sourceWorkload: "reviews-v1", destinationWorkload: "ratings-v1", responseCode: code, requests, durationCounts: [0, requests] }],
    svid: { spiffeId: "spiffe://cluster.local/ns/default/sa/bookinfo-reviews", serial: `0${requests}`, notBeforeMs: 0, notAfterMs: 9e12 },
  };
}

/** A peer replica: its reports on its own clock, answered as GET /console/api/reports encodes them. */
function peer(clockOffsetMs: number, local: { now: number }) {
  const now = () => local.now + clockOffsetMs;
  const reports = new ProxyReports({ now });
  const proxies: ReportedProxy[] = [{ proxy: proxy.id, workload: proxy.workload, namespace: "default", serviceAccount: proxy.serviceAccount, controlPlane: "cp-2", connectedAtMs: now() }];
  const urls: string[] = [];
  const fetch = (url: string): Promise<Response> => {
    urls.push(url);
    const sinceMs = Number(new URL(url).searchParams.get("sinceMs"));
    const body = encodeReports({ controlPlane: "cp-2", nowMs: now(), sinceMs, deltas: reports.deltasSince(sinceMs), svids: reports.svids, proxies, reporters: [...reports.reporters.keys()] });
    // Through JSON, as it travels.
    return Promise.resolve(new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } }));
  };
  return { reports, fetch, urls };
}

const total = (deltas: readonly ReportDelta[]): number => sumDeltas(deltas, 60).requests.reduce((n, s) => n + s.value, 0);

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

describe("encodeReports / decodeReports", () => {
  it("writes each label set once, however many reports carry it, and reads back the same samples sharing label objects", () => {
    const reports = new ProxyReports({ now: () => 5_000 });
    for (let i = 0; i < 3; i++) reports.add(proxy, report(i * 1000, (i + 1) * 1000, i + 1));
    const body = JSON.parse(JSON.stringify(encodeReports({ controlPlane: "cp", nowMs: 5_000, sinceMs: 0, deltas: reports.deltasSince(0), svids: reports.svids, proxies: [], reporters: [proxy.id] }))) as unknown;
    const encoded = body as { labels: unknown[]; deltas: unknown[] };
    // One request series and three buckets (le 10, 100, +Inf; le 1 is empty), for all three reports.
    expect(encoded.labels).toHaveLength(4);
    expect(encoded.deltas).toHaveLength(3);
    const decoded = decodeReports(body);
    expect(decoded.deltas.map((d) => [d.proxyId, d.intervalStartMs, d.intervalEndMs, d.requests.map((s) => s.value)])).toEqual([
      [proxy.id, 0, 1000, [1]],
      [proxy.id, 1000, 2000, [2]],
      [proxy.id, 2000, 3000, [3]],
    ]);
    expect(decoded.deltas.map((d) => d.requests[0]?.labels)).toEqual(reports.deltasSince(0).map((d) => d.requests[0]?.labels));
    expect(decoded.deltas[0]?.requests[0]?.labels).toBe(decoded.deltas[2]?.requests[0]?.labels);
    expect(decoded.deltas[0]?.durationBuckets.map((s) => [s.name, s.labels["le"], s.value])).toEqual([
      ["istio_request_duration_milliseconds_bucket", "10", 1],
      ["istio_request_duration_milliseconds_bucket", "100", 1],
      ["istio_request_duration_milliseconds_bucket", "+Inf", 1],
    ]);
    expect(decoded.svids).toEqual([expect.objectContaining({ proxyId: proxy.id, serial: "03" })]);
  });

  it("names what a foreign answer lacks", () => {
    expect(() => decodeReports("<html>")).toThrow(/not a \/console\/api\/reports body \(not an object\).*admin URL/);
    expect(() => decodeReports({ nowMs: 1 })).toThrow(/\(controlPlane\)/);
    const base = { controlPlane: "cp", nowMs: 1, labels: [], svids: [], proxies: [], reporters: [] };
    expect(() => decodeReports({ ...base, deltas: [{ proxy: "p", atMs: 1, intervalStartMs: 0, intervalEndMs: 1, requests: [[0, 1]], durationBuckets: [] }] })).toThrow(/deltas\[0\]\.requests\[0\]/);
  });
});

describe("mergeReportDeltas", () => {
  it("counts a report two replicas hold (same proxy and interval) once, oldest first", () => {
    const a = new ProxyReports({ now: () => 2_000 });
    const b = new ProxyReports({ now: () => 1_000 });
    a.add(proxy, report(0, 5_000, 4));
    b.add(proxy, report(0, 5_000, 4));
    b.add(proxy, report(5_000, 10_000, 6));
    b.add({ ...proxy, id: "reviews-v2.default" }, report(0, 5_000, 1));
    const merged = mergeReportDeltas(a.deltasSince(0), b.deltasSince(0));
    expect(merged.map((d) => [d.proxyId, d.intervalStartMs, d.atMs])).toEqual([
      [proxy.id, 5_000, 1_000],
      ["reviews-v2.default", 0, 1_000],
      [proxy.id, 0, 2_000],
    ]);
    expect(total(merged)).toBe(11);
  });
});

describe("PeerReports", () => {
  it("fetches a peer from its last answer (overlap deduplicated), on this replica's clock, at most once a second", async () => {
    const local = { now: 1_800_000_000_000 };
    // The peer's clock runs 10 s ahead.
    const p = peer(10_000, local);
    p.reports.add(proxy, report(0, 5_000, 4));
    const peers = new PeerReports({ peers: ["http://cp-2.test:15014/"], token: "s3cret", fetch: p.fetch, now: () => local.now });
    expect(await peers.refresh()).toEqual([]);
    expect(p.urls).toEqual(["http://cp-2.test:15014/console/api/reports?sinceMs=0&token=s3cret"]);
    // Received "now" at the peer: now here too.
    expect(peers.deltasSince(0).map((d) => d.atMs)).toEqual([local.now]);
    expect(peers.proxies().map((x) => [x.proxy, x.controlPlane, x.connectedAtMs])).toEqual([[proxy.id, "cp-2", local.now]]);
    expect(peers.svids().map((s) => s.reportedAtMs)).toEqual([local.now]);

    local.now += 500;
    p.reports.add(proxy, report(5_000, 10_000, 6));
    expect(await peers.refresh()).toEqual([]);
    expect(p.urls).toHaveLength(1);
    local.now += 1_000;
    await peers.refresh();
    // From 5 s before the peer's last answer (its clock): the first report again, counted once.
    expect(p.urls[1]).toBe(`http://cp-2.test:15014/console/api/reports?sinceMs=${1_800_000_000_000 + 10_000 - 5_000}&token=s3cret`);
    expect(peers.deltasSince(0).map((d) => d.intervalStartMs)).toEqual([0, 5_000]);
    expect(total(peers.deltasSince(0))).toBe(10);
    expect(total(peers.deltasSince(local.now - 1_200))).toBe(6);
    expect([...peers.reporters()]).toEqual([proxy.id]);
    // An hour on, the history is gone.
    local.now += 3_600_000;
    await peers.refresh();
    expect(peers.deltasSince(0)).toEqual([]);
  });

  it("names a peer that does not answer or refuses, keeps what it sent before and lists none of its proxies", async () => {
    const local = { now: 1_800_000_000_000 };
    const p = peer(0, local);
    p.reports.add(proxy, report(0, 5_000, 4));
    const hung = createServer(() => undefined);
    servers.push(hung);
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    const hungUrl = `http://127.0.0.1:${(hung.address() as { port: number }).port}`;
    let mode: "ok" | "down" = "ok";
    const fetcher = (url: string, init?: RequestInit): Promise<Response> => {
      if (url.startsWith(hungUrl)) return fetch(url, init);
      if (mode === "ok") return p.fetch(url);
      return Promise.resolve(Response.json({ error: "this console needs its token: open /console/?token=TOKEN (the control plane's --console-token)" }, { status: 401 }));
    };
    const peers = new PeerReports({ peers: ["http://cp-2.test:15014", hungUrl], fetch: fetcher, now: () => local.now, timeoutMs: 200 });
    expect(await peers.refresh()).toEqual([`console peer ${hungUrl} failed: no answer within 200 ms; its proxies' reports are missing from this reading`]);
    expect(total(peers.deltasSince(0))).toBe(4);
    mode = "down";
    local.now += 2_000;
    const errors = await peers.refresh();
    expect(errors).toContain("console peer http://cp-2.test:15014 failed: HTTP 401: this console needs its token: open /console/?token=TOKEN (the control plane's --console-token); its proxies' reports are missing from this reading");
    expect(errors).toHaveLength(2);
    expect(total(peers.deltasSince(0))).toBe(4);
    expect(peers.proxies()).toEqual([]);
  });
});

describe("--console-peers", () => {
  it("takes admin base URLs and names the flag and the fix otherwise", () => {
    expect(peerUrlError("http://10.0.0.6:15014")).toBeUndefined();
    expect(peerUrlError("https://cp-2.mesh:15014/")).toBeUndefined();
    expect(peerUrlError("10.0.0.6:15014")).toMatch(/^--console-peers 10\.0\.0\.6:15014: .*http:\/\/10\.0\.0\.6:15014/);
    expect(peerUrlError("http://10.0.0.6:15014/console/api/reports")).toMatch(/without a path/);
    expect(consoleConfigError({ consolePeers: ["http://a:1", "grpc://b:2"] })).toMatch(/^--console-peers grpc:\/\/b:2: use http:\/\/ or https:\/\//);
    expect(consoleConfigError({ consolePeers: [] })).toBeUndefined();
  });
});
