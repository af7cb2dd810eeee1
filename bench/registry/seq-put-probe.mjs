#!/usr/bin/env node
// bench/registry/seq-put-probe: where does one sequential put spend its time? (issue 5, "p99 ≤ etcd's").
// A figure, not a test. Starts a 3-node registry (apps/registry/dist/main.js, or --main FILE, with
// the launcher's node flags from the file's shebang), then sends --n sequential PUT /v1/kv/<key>
// (256-byte values, one keep-alive connection per member) to: the leader only, one follower only,
// and round-robin to all three (as compare-etcd's sequential phase). Prints p50/p90/p99/max per
// target, the WAL save (fdatasync) histogram delta of each node from its /metrics, the slowest
// requests (start in ms since the probe started), each node's CPU ms per put (utime + stime from
// /proc, the probe's own beside them), and with --trace-gc each node's GC count, pauses ≥ 1 ms and
// longest pause. The target `idle` sends nothing for --idle-s seconds and prints each node's CPU ms
// per second (ticks, heartbeats, gossip, timers).
//
// A/B: --baseline FILE starts a second cluster from FILE (e.g. an esbuild bundle of the tree before
// a change) beside the first; every target then alternates put by put between the two clusters
// (main, baseline, baseline, main, main, ...; idle: both measured over the same seconds), so machine noise hits
// both alike, and prints per node main / baseline and the ratio of the clusters' summed CPU per
// put. --rounds N repeats the targets N times and ends with the median ratio per target.
//
// --main-env / --baseline-env "K=V ..." add environment variables to one cluster's processes (an
// A/B of a runtime setting on the same build: --baseline FILE may name the same file).
//
// usage: node bench/registry/seq-put-probe.mjs [--n 2000] [--trace-gc] [--node-flags="..."]
//          [--targets leader,follower,rr,idle] [--main FILE] [--baseline FILE] [--rounds 1] [--idle-s 5]
//          [--main-env "K=V ..."] [--baseline-env "K=V ..."] [--no-pin]
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, mkdirSync, openSync } from "node:fs";
import http from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { tsImport } from "tsx/esm/api";
import { envAssignments } from "../env-assignments.mjs";
import { freePort } from "../free-port.mjs";
import { canPinCpus, cpuTicks } from "../proc-cpu.mjs";

// The launcher's node flags, read from an entry's shebang as meshctl reads them.
const { launcherNodeFlags } = await tsImport("../../apps/meshctl/src/core/launcher-node-flags.ts", import.meta.url);

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const { values: o } = parseArgs({
  options: {
    n: { type: "string", default: "2000" },
    "trace-gc": { type: "boolean", default: false },
    "node-flags": { type: "string", default: "" },
    targets: { type: "string", default: "leader,follower,rr" },
    main: { type: "string", default: "apps/registry/dist/main.js" },
    baseline: { type: "string" },
    rounds: { type: "string", default: "1" },
    "idle-s": { type: "string", default: "5" },
    "main-env": { type: "string", default: "" },
    "baseline-env": { type: "string", default: "" },
    "no-pin": { type: "boolean", default: false },
  },
});
const n = Number(o.n);
const idleS = Number(o["idle-s"]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const base = mkdtempSync(join(tmpdir(), "seq-put-probe-"));
const ids = ["n1", "n2", "n3"];
/** CPU seconds (user + system) of a process so far. */
const cpuSeconds = (pid) => (cpuTicks(pid) ?? 0) / 100;
const pct = (a, q) => a[Math.min(a.length - 1, Math.floor(a.length * q))];
const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2; };
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
// As compare-etcd: every server (both clusters) on CPU 1, this probe on CPU 0 (--no-pin: off). Pinned,
// the two clusters of an A/B share one core alike (unpinned, an A/A run read the first-started one 2–4 % dearer).
const pin = !o["no-pin"] && canPinCpus();
if (pin) execFileSync("taskset", ["-p", "-c", "0", String(process.pid)], { stdio: "ignore" });
const allChildren = [];
process.on("exit", () => { for (const c of allChildren) c.kill("SIGTERM"); });


async function startCluster(file, tag, env) {
  const launcherFlags = launcherNodeFlags(readFileSync(resolve(repo, file), "utf8"));
  const nodeFlags = [...launcherFlags, ...o["node-flags"].split(/\s+/).filter(Boolean), ...(o["trace-gc"] ? ["--trace-gc"] : [])];
  const ports = [];
  for (let i = 0; i < 3; i++) ports.push({ raft: await freePort(), http: await freePort(), admin: await freePort(), dns: await freePort(), grpc: await freePort() });
  const peers = ids.map((id, i) => `${id}=127.0.0.1:${ports[i].raft}`).join(",");
  const children = ids.map((id, i) => {
    mkdirSync(join(base, tag, id), { recursive: true });
    const out = openSync(join(base, tag, id, "stdout.log"), "w");
    const args = [...nodeFlags, file, "--node-id", id, "--peers", peers, "--data-dir", join(base, tag, id, "data"), "--raft-port", String(ports[i].raft), "--http-port", String(ports[i].http), "--admin-port", String(ports[i].admin), "--dns-port", String(ports[i].dns), "--grpc-port", String(ports[i].grpc), "--log-level", "warn"];
    return pin ? spawn("taskset", ["-c", "1", process.execPath, ...args], { cwd: repo, env, stdio: ["ignore", out, out] }) : spawn(process.execPath, args, { cwd: repo, env, stdio: ["ignore", out, out] });
  });
  allChildren.push(...children);
  const agents = ports.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const req = (i, method, path, body) => new Promise((res, rej) => {
    const r = http.request({ host: "127.0.0.1", port: ports[i].http, method, path, agent: agents[i], headers: body === undefined ? {} : { "content-length": Buffer.byteLength(body) } }, (resp) => { let s = ""; resp.setEncoding("utf8"); resp.on("data", (d) => (s += d)); resp.on("end", () => res({ status: resp.statusCode, text: s })); });
    r.on("error", rej);
    r.end(body);
  });
  const adminReq = (i, path) => new Promise((res) => { http.get({ host: "127.0.0.1", port: ports[i].admin, path }, (r) => { let s = ""; r.on("data", (d) => (s += d)); r.on("end", () => res(s)); }).on("error", () => res("")); });
  let leader = -1;
  for (let t = 0; t < 300 && leader < 0; t++) {
    await sleep(100);
    try { const r = await req(0, "GET", "/v1/status/leader"); const a = JSON.parse(r.text); if (a) leader = ports.findIndex((p) => a.endsWith(":" + p.raft) || a.endsWith(":" + p.http)); } catch { /* not up yet */ }
  }
  if (leader < 0) throw new Error(`${tag}: no leader`);
  for (let i = 0; i < 3; i++) await req(i, "PUT", "/v1/kv/warm" + i, "x");
  return { tag, file, children, ports, leader, req, adminReq, k: 0, name: (i) => `${ids[i]}${i === leader ? "(L)" : ""}` };
}

const value = "v".repeat(256);
const parseHist = (text) => {
  const h = {};
  for (const line of text.split("\n")) {
    const m = /wal_save_duration_seconds_bucket\{.*fsync="true".*le="([^"]+)".*\} (\d+)/.exec(line) ?? /wal_save_duration_seconds_bucket\{.*le="([^"]+)".*fsync="true".*\} (\d+)/.exec(line);
    if (m) h[m[1]] = Number(m[2]);
  }
  return h;
};

const clusters = [await startCluster(o.main, "main", { ...process.env, ...envAssignments(o["main-env"], "--main-env") })];
if (o.baseline !== undefined) clusters.push(await startCluster(o.baseline, "baseline", { ...process.env, ...envAssignments(o["baseline-env"], "--baseline-env") }));
const ab = clusters.length === 2;
/** target → [ratio of summed CPU per put (or per idle second), main / baseline] per round. */
const ratios = {};
const report = {};
const targetNode = (c, target, j) => (target === "leader" ? c.leader : target === "follower" ? (c.leader + 1) % 3 : j % 3);
for (let round = 1; round <= Number(o.rounds); round++) {
  for (const target of o.targets.split(",")) {
    const loadBefore = load();
    const before = await Promise.all(clusters.map((c) => Promise.all([0, 1, 2].map((i) => c.adminReq(i, "/metrics")))));
    const lat = clusters.map(() => []);
    const slow = clusters.map(() => []);
    const cpuBefore = clusters.map((c) => c.children.map((ch) => cpuSeconds(ch.pid)));
    const probeBefore = process.cpuUsage();
    const per = target === "idle" ? idleS : n; // CPU ms per put, or per second when idle
    if (target === "idle") await sleep(idleS * 1000);
    else {
      for (let j = 0; j < n; j++) {
        // Which cluster goes first alternates put by put (the first of a pair ran ~1.5 % dearer in A/A runs).
        for (let step = 0; step < clusters.length; step++) {
          const ci = (step + j) % clusters.length;
          const c = clusters[ci];
          const i = targetNode(c, target, j);
          const s = performance.now();
          const r = await c.req(i, "PUT", `/v1/kv/k${String(c.k++).padStart(7, "0")}`, value);
          const d = performance.now() - s;
          if (r.status !== 200) throw new Error(`${c.tag} PUT: HTTP ${r.status} ${r.text}`);
          lat[ci].push(d);
          slow[ci].push({ start: s, d, node: i });
        }
      }
    }
    const cpu = clusters.map((c, ci) => c.children.map((ch, i) => ((cpuSeconds(ch.pid) - cpuBefore[ci][i]) * 1000) / per));
    const probeCpu = process.cpuUsage(probeBefore);
    const sums = cpu.map((a) => a.reduce((x, y) => x + y, 0));
    const unit = target === "idle" ? "CPU ms per s" : "CPU ms per put";
    console.log(`${ab ? `round ${round} ` : ""}${target} (load ${loadBefore} → ${load()})`);
    for (let ci = 0; ci < clusters.length; ci++) {
      const c = clusters[ci];
      const line = `  ${c.tag.padEnd(8)} ${unit}: ${cpu[ci].map((x, i) => `${c.name(i)} ${x.toFixed(target === "idle" ? 1 : 3)}`).join(", ")}, sum ${sums[ci].toFixed(3)}`;
      if (target === "idle") { console.log(line); continue; }
      lat[ci].sort((a, b) => a - b);
      slow[ci].sort((a, b) => b.d - a.d);
      const l = lat[ci];
      report[`${c.tag}/${target}`] = { p50: +pct(l, 0.5).toFixed(2), p90: +pct(l, 0.9).toFixed(2), p99: +pct(l, 0.99).toFixed(2), max: +l[l.length - 1].toFixed(2), slowest: slow[ci].slice(0, Math.ceil(n / 100)).map((x) => ({ atMs: Math.round(x.start), d: +x.d.toFixed(1), node: ids[x.node] })) };
      const r = report[`${c.tag}/${target}`];
      console.log(`${line} | p50 ${r.p50} p90 ${r.p90} p99 ${r.p99} max ${r.max} ms`);
      if (target === "rr") {
        // Round-robin: the puts sent to the leader against those a follower took (and proposed through it).
        const split = (toLeader) => slow[ci].filter((x) => (x.node === c.leader) === toLeader).map((x) => x.d).sort((a, b) => a - b);
        const line2 = (name, xs) => `${name} p50 ${pct(xs, 0.5).toFixed(2)} p90 ${pct(xs, 0.9).toFixed(2)} p99 ${pct(xs, 0.99).toFixed(2)}`;
        console.log(`    by target: ${line2("leader", split(true))} | ${line2("followers", split(false))} ms`);
      }
      const after = await Promise.all([0, 1, 2].map((i) => c.adminReq(i, "/metrics")));
      const fsync = [0, 1, 2].map((i) => { const a = parseHist(after[i]), b = parseHist(before[ci][i]); return Object.fromEntries(Object.keys(a).map((le) => [le, a[le] - (b[le] ?? 0)])); });
      console.log("    fsync buckets per node (cumulative le→count):", JSON.stringify(fsync.map((f, i) => `${c.name(i)} ` + Object.entries(f).filter(([, cnt]) => cnt > 0).map(([le, cnt]) => `${le}:${cnt}`).join(" "))));
    }
    if (target !== "idle") console.log(`  probe CPU ms per put ${((probeCpu.user + probeCpu.system) / 1000 / (n * clusters.length)).toFixed(3)}`);
    if (ab) {
      const ratio = sums[0] / sums[1];
      (ratios[target] ??= []).push(ratio);
      console.log(`  main / baseline: ${ratio.toFixed(3)}`);
    }
  }
}
if (ab) for (const [target, rs] of Object.entries(ratios)) console.log(`${target}: main / baseline per round ${rs.map((r) => r.toFixed(3)).join(" ")}; median ${median(rs).toFixed(3)}`);
if (o["trace-gc"]) {
  await sleep(200);
  for (const c of clusters) for (let i = 0; i < 3; i++) {
    const lines = readFileSync(join(base, c.tag, ids[i], "stdout.log"), "utf8").split("\n").filter((l) => /Scavenge|Mark-Compact|Mark-sweep/.test(l));
    // [pid:addr]  12345 ms: Scavenge 10.1 (12.0) -> 9.8 (12.5) MB, 1.2 / 0.0 ms ...
    const gcs = lines.map((l) => { const m = /\s(\d+) ms: (\S+(?: \(reduce\))?)[^,]*, ([\d.]+) \/ ([\d.]+) ms/.exec(l); return m ? { at: Number(m[1]), kind: m[2], pause: Number(m[3]) } : null; }).filter(Boolean);
    const big = gcs.filter((g) => g.pause >= 1);
    console.log(`${c.tag} ${c.name(i)}: ${gcs.length} GCs, ${gcs.filter((g) => g.kind.startsWith("Mark")).length} mark-compacts, pauses ≥1 ms: ${big.length}, max ${Math.max(0, ...gcs.map((g) => g.pause))} ms`);
  }
}
console.log(JSON.stringify(Object.fromEntries(Object.entries(report).map(([t, r]) => [t, r.slowest.slice(0, 8)]))));
for (const c of allChildren) c.kill("SIGTERM");
await sleep(500);
rmSync(base, { recursive: true, force: true });
process.exit(0);
