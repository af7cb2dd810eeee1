#!/usr/bin/env node
// bench/registry/seq-put-probe: where does one sequential put spend its time? (issue 5, "p99 ≤ etcd's").
// A figure, not a test. Starts a 3-node registry (apps/registry/dist/main.js with the launcher's
// node flags), then sends --n sequential PUT /v1/kv/<key> (256-byte values, one keep-alive
// connection per member) to: the leader only, one follower only, and round-robin to all three
// (as compare-etcd's sequential phase). Prints p50/p90/p99/max per target, the WAL save
// (fdatasync) histogram delta of each node from its /metrics, the slowest requests (start in ms
// since the probe started), each node's CPU ms per put (utime + stime from /proc, the probe's own
// beside them), and with --trace-gc each node's GC count, pauses ≥ 1 ms and longest pause.
//
// usage: node bench/registry/seq-put-probe.mjs [--n 2000] [--trace-gc] [--node-flags="..."] [--targets leader,follower,rr,idle]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, mkdirSync, openSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cpuTicks } from "../proc-cpu.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const { values: o } = parseArgs({ options: { n: { type: "string", default: "2000" }, "trace-gc": { type: "boolean", default: false }, "node-flags": { type: "string", default: "" }, targets: { type: "string", default: "leader,follower,rr" } } });
const n = Number(o.n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () => new Promise((res) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => res(p)); }); });
const shebang = readFileSync(join(repo, "apps/registry/dist/main.js"), "utf8").split("\n")[0];
const launcherFlags = shebang.startsWith("#!") ? shebang.split(/\s+/).filter((f) => f.startsWith("--")) : [];
const nodeFlags = [...launcherFlags, ...o["node-flags"].split(/\s+/).filter(Boolean), ...(o["trace-gc"] ? ["--trace-gc"] : [])];
const base = mkdtempSync(join(tmpdir(), "seq-put-probe-"));
const ids = ["n1", "n2", "n3"];
const ports = [];
for (let i = 0; i < 3; i++) ports.push({ raft: await freePort(), http: await freePort(), admin: await freePort(), dns: await freePort(), grpc: await freePort() });
const peers = ids.map((id, i) => `${id}=127.0.0.1:${ports[i].raft}`).join(",");
const children = ids.map((id, i) => {
  mkdirSync(join(base, id), { recursive: true });
  const out = openSync(join(base, id, "stdout.log"), "w");
  return spawn(process.execPath, [...nodeFlags, "apps/registry/dist/main.js", "--node-id", id, "--peers", peers, "--data-dir", join(base, id, "data"), "--raft-port", String(ports[i].raft), "--http-port", String(ports[i].http), "--admin-port", String(ports[i].admin), "--dns-port", String(ports[i].dns), "--grpc-port", String(ports[i].grpc), "--log-level", "warn"], { cwd: repo, stdio: ["ignore", out, out] });
});
process.on("exit", () => { for (const c of children) c.kill("SIGTERM"); });
const agents = ports.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
const req = (i, method, path, body) => new Promise((res, rej) => {
  const r = http.request({ host: "127.0.0.1", port: ports[i].http, method, path, agent: agents[i], headers: body === undefined ? {} : { "content-length": Buffer.byteLength(body) } }, (resp) => { let s = ""; resp.setEncoding("utf8"); resp.on("data", (d) => (s += d)); resp.on("end", () => res({ status: resp.statusCode, text: s })); });
  r.on("error", rej);
  r.end(body);
});
let leader = -1;
for (let t = 0; t < 300 && leader < 0; t++) {
  await sleep(100);
  try { const r = await req(0, "GET", "/v1/status/leader"); const a = JSON.parse(r.text); if (a) leader = ports.findIndex((p) => a.endsWith(":" + p.raft) || a.endsWith(":" + p.http)); } catch { /* not up yet */ }
}
if (leader < 0) throw new Error("no leader");
const follower = (leader + 1) % 3;
for (let i = 0; i < 3; i++) await req(i, "PUT", "/v1/kv/warm" + i, "x");
const value = "v".repeat(256);
const parseHist = (text) => {
  const h = {};
  for (const line of text.split("\n")) {
    const m = /wal_save_duration_seconds_bucket\{.*fsync="true".*le="([^"]+)".*\} (\d+)/.exec(line) ?? /wal_save_duration_seconds_bucket\{.*le="([^"]+)".*fsync="true".*\} (\d+)/.exec(line);
    if (m) h[m[1]] = Number(m[2]);
  }
  return h;
};
const adminReq = (i, path) => new Promise((res) => { http.get({ host: "127.0.0.1", port: ports[i].admin, path }, (r) => { let s = ""; r.on("data", (d) => (s += d)); r.on("end", () => res(s)); }).on("error", () => res("")); });
/** CPU seconds (user + system) of a process so far. */
const cpuSeconds = (pid) => (cpuTicks(pid) ?? 0) / 100;
const pct = (a, q) => a[Math.min(a.length - 1, Math.floor(a.length * q))];
let k = 0;
const report = {};
for (const target of o.targets.split(",")) {
  const before = await Promise.all([0, 1, 2].map((i) => adminReq(i, "/metrics")));
  const lat = [];
  const slow = [];
  const cpuBefore = children.map((c) => cpuSeconds(c.pid));
  const probeBefore = process.cpuUsage();
  if (target === "idle") {
    // No puts: what the nodes spend on ticks, heartbeats, gossip and timers, as CPU ms per second.
    await sleep(5000);
    console.log("idle CPU ms per s:", children.map((c, i) => `${ids[i]}${i === leader ? "(L)" : ""} ${((cpuSeconds(c.pid) - cpuBefore[i]) * 1000 / 5).toFixed(1)}`).join(", "));
    continue;
  }
  for (let j = 0; j < n; j++) {
    const i = target === "leader" ? leader : target === "follower" ? follower : j % 3;
    const s = performance.now();
    const r = await req(i, "PUT", `/v1/kv/k${String(k++).padStart(7, "0")}`, value);
    const d = performance.now() - s;
    if (r.status !== 200) throw new Error(`PUT: HTTP ${r.status} ${r.text}`);
    lat.push(d);
    slow.push({ start: s, d, node: i });
  }
  const cpuPerPut = children.map((c, i) => `${ids[i]}${i === leader ? "(L)" : ""} ${((cpuSeconds(c.pid) - cpuBefore[i]) * 1000 / n).toFixed(3)}`);
  const probeCpu = process.cpuUsage(probeBefore);
  const after = await Promise.all([0, 1, 2].map((i) => adminReq(i, "/metrics")));
  lat.sort((a, b) => a - b);
  const fsync = [0, 1, 2].map((i) => { const a = parseHist(after[i]), b = parseHist(before[i]); return Object.fromEntries(Object.keys(a).map((le) => [le, a[le] - (b[le] ?? 0)])); });
  slow.sort((a, b) => b.d - a.d);
  report[target] = { p50: +pct(lat, 0.5).toFixed(2), p90: +pct(lat, 0.9).toFixed(2), p99: +pct(lat, 0.99).toFixed(2), max: +lat[lat.length - 1].toFixed(2), slowest: slow.slice(0, Math.ceil(n / 100)).map((x) => ({ atMs: Math.round(x.start), d: +x.d.toFixed(1), node: ids[x.node] })) };
  console.log(target, JSON.stringify({ p50: report[target].p50, p90: report[target].p90, p99: report[target].p99, max: report[target].max }));
  console.log("  CPU ms per put:", cpuPerPut.join(", "), `| probe ${((probeCpu.user + probeCpu.system) / 1000 / n).toFixed(3)}`);
  console.log("  fsync buckets per node (cumulative le→count):", JSON.stringify(fsync.map((f, i) => `${ids[i]}${i === leader ? "(L)" : ""} ` + Object.entries(f).filter(([, c]) => c > 0).map(([le, c]) => `${le}:${c}`).join(" "))));
}
if (o["trace-gc"]) {
  await sleep(200);
  for (let i = 0; i < 3; i++) {
    const lines = readFileSync(join(base, ids[i], "stdout.log"), "utf8").split("\n").filter((l) => /Scavenge|Mark-Compact|Mark-sweep/.test(l));
    // [pid:addr]  12345 ms: Scavenge 10.1 (12.0) -> 9.8 (12.5) MB, 1.2 / 0.0 ms ...
    const gcs = lines.map((l) => { const m = /\s(\d+) ms: (\S+(?: \(reduce\))?)[^,]*, ([\d.]+) \/ ([\d.]+) ms/.exec(l); return m ? { at: Number(m[1]), kind: m[2], pause: Number(m[3]) } : null; }).filter(Boolean);
    const big = gcs.filter((g) => g.pause >= 1);
    console.log(`${ids[i]}${i === leader ? "(L)" : ""}: ${gcs.length} GCs, ${gcs.filter((g) => g.kind.startsWith("Mark")).length} mark-compacts, pauses ≥1 ms: ${big.length}, max ${Math.max(0, ...gcs.map((g) => g.pause))} ms`);
  }
}
console.log(JSON.stringify(Object.fromEntries(Object.entries(report).map(([t, r]) => [t, r.slowest.slice(0, 8)]))));
for (const c of children) c.kill("SIGTERM");
await sleep(500);
rmSync(base, { recursive: true, force: true });
process.exit(0);
