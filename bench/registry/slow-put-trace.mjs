#!/usr/bin/env node
// bench/registry/slow-put-trace: what the slowest sequential puts met (issue 5, "p99 ≤ etcd's").
// A figure, not a test. Starts a 3-node registry from --main (a bundle or apps/registry/dist/main.js,
// with the launcher's node flags from its shebang; servers pinned to CPU 1, this driver to CPU 0,
// as compare-etcd), each node with slow-put-events.mjs preloaded, and sends --rounds × --n
// sequential PUTs round-robin over the three nodes (256-byte values, keys modulo --keys, as
// compare-etcd's sequential phase). Per round: the servers' CPU ms per put and p50/p90/p99. Then,
// for the slowest 1 % of the puts after the first round, the events of ≥ --min-ms on any node that
// overlapped each put (fdatasync, GC, synchronous fs calls), a count per combination of event kinds,
// how often the same kinds overlapped any warm put, and each node's fdatasync p50/p99.
//   node bench/registry/slow-put-trace.mjs [--main FILE] [--n 3000] [--rounds 3] [--keys 1000] [--min-ms 0.5]
//        [--node-flags "..."] [--registry-flags "--snapshot-every=1000000 ..."]
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { tsImport } from "tsx/esm/api";
import { freePort } from "../free-port.mjs";
import { canPinCpus, cpuTicks } from "../proc-cpu.mjs";

// The launcher's node flags, read from the entry's shebang as meshctl reads them.
const { launcherNodeFlags } = await tsImport("../../apps/meshctl/src/core/launcher-node-flags.ts", import.meta.url);

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const { values: o } = parseArgs({
  options: {
    main: { type: "string", default: "apps/registry/dist/main.js" },
    n: { type: "string", default: "3000" },
    rounds: { type: "string", default: "3" },
    keys: { type: "string", default: "1000" },
    "min-ms": { type: "string", default: "0.5" },
    "node-flags": { type: "string", default: "" },
    "registry-flags": { type: "string", default: "" },
  },
});
const n = Number(o.n);
const rounds = Number(o.rounds);
const minMs = Number(o["min-ms"]);
const words = (s) => s.split(/\s+/).filter(Boolean);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
const pin = canPinCpus();
if (pin) execFileSync("taskset", ["-p", "-c", "0", String(process.pid)], { stdio: "ignore" });

const base = mkdtempSync(join(tmpdir(), "slow-put-trace-"));
const main = resolve(repo, o.main);
const launcherFlags = launcherNodeFlags(readFileSync(main, "utf8"));
const ids = ["n1", "n2", "n3"];
const ports = [];
for (let i = 0; i < 3; i++) ports.push({ raft: await freePort(), http: await freePort(), admin: await freePort() });
const peers = ids.map((id, i) => `${id}=127.0.0.1:${ports[i].raft}`).join(",");
const children = ids.map((id, i) => {
  const args = [...launcherFlags, ...words(o["node-flags"]), "--import", join(here, "slow-put-events.mjs"), main, "--node-id", id, "--peers", peers, "--data-dir", join(base, id), "--raft-port", String(ports[i].raft), "--http-port", String(ports[i].http), "--admin-port", String(ports[i].admin), "--dns-port=-1", "--grpc-port=-1", "--log-level", "warn", ...words(o["registry-flags"])];
  const env = { ...process.env, SLOW_PUT_EVENTS_FILE: join(base, `${id}.events.json`) };
  return pin ? spawn("taskset", ["-c", "1", process.execPath, ...args], { env, stdio: ["ignore", "ignore", "inherit"] }) : spawn(process.execPath, args, { env, stdio: ["ignore", "ignore", "inherit"] });
});
process.on("exit", () => { for (const c of children) c.kill("SIGTERM"); });

const agents = ports.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
const put = (i, key, body) => new Promise((res, rej) => {
  const r = http.request({ host: "127.0.0.1", port: ports[i].http, method: "PUT", path: `/v1/kv/${key}`, agent: agents[i], headers: { "content-length": Buffer.byteLength(body) } }, (resp) => { resp.resume(); resp.on("end", () => res(resp.statusCode)); });
  r.on("error", rej);
  r.end(body);
});
for (let t = 0; ; t++) {
  try { if ((await put(0, "warm", "x")) === 200) break; } catch { /* not up yet */ }
  if (t > 300) throw new Error("slow-put-trace: the cluster did not accept a write within 30 s");
  await sleep(100);
}

const value = "v".repeat(256);
const serverTicks = () => children.reduce((sum, c) => sum + (cpuTicks(c.pid) ?? 0), 0);
const puts = [];
let k = 0;
for (let round = 0; round < rounds; round++) {
  const ticks = serverTicks();
  const lat = [];
  for (let j = 0; j < n; j++) {
    const i = j % 3;
    const start = now();
    const status = await put(i, `k${String(k++ % Number(o.keys)).padStart(7, "0")}`, value);
    const took = now() - start;
    if (status !== 200) throw new Error(`PUT to ${ids[i]}: HTTP ${status}`);
    lat.push(took);
    puts.push({ round, start, took, node: i });
  }
  lat.sort((a, b) => a - b);
  console.log(`round ${round + 1}: servers ${(((serverTicks() - ticks) * 10) / n).toFixed(3)} CPU-ms per put, p50 ${pct(lat, 0.5).toFixed(2)} p90 ${pct(lat, 0.9).toFixed(2)} p99 ${pct(lat, 0.99).toFixed(2)} ms`);
}

for (const c of children) c.kill("SIGUSR2");
await sleep(1000);
const events = ids.map((id) => JSON.parse(readFileSync(join(base, `${id}.events.json`), "utf8")));
const overlapping = (p) => {
  const found = [];
  events.forEach((list, i) => { for (const [kind, start, took] of list) if (took >= minMs && start < p.start + p.took && start + took > p.start) found.push({ node: ids[i], kind, took }); });
  return found;
};
const warm = puts.filter((p) => p.round > 0);
const slowest = [...warm].sort((a, b) => b.took - a.took).slice(0, Math.ceil(warm.length / 100));
const combos = {};
console.log(`\nthe ${slowest.length} slowest of ${warm.length} puts after round 1 (ms, node sent to; events ≥ ${minMs} ms overlapping it):`);
for (const p of slowest) {
  const found = overlapping(p);
  const key = found.length === 0 ? "none" : [...new Set(found.map((e) => e.kind))].sort().join("+");
  combos[key] = (combos[key] ?? 0) + 1;
  console.log(`  ${p.took.toFixed(2)} ${ids[p.node]}  ${found.map((e) => `${e.node}:${e.kind}:${e.took.toFixed(1)}`).join(" ")}`);
}
console.log("by kinds met:", JSON.stringify(combos));
const share = {};
for (const p of warm) for (const kind of new Set(overlapping(p).map((e) => e.kind))) share[kind] = (share[kind] ?? 0) + 1;
console.log("share of all warm puts meeting each kind:", JSON.stringify(Object.fromEntries(Object.entries(share).map(([kind, c]) => [kind, +(c / warm.length).toFixed(3)]))));
events.forEach((list, i) => {
  const syncs = list.filter((e) => e[0] === "fdatasync").map((e) => e[2]).sort((a, b) => a - b);
  const gcs = list.filter((e) => e[0].startsWith("gc"));
  console.log(`${ids[i]}: ${syncs.length} fdatasyncs p50 ${pct(syncs, 0.5)?.toFixed(2)} p99 ${pct(syncs, 0.99)?.toFixed(2)} ms; ${gcs.length} GCs, ${gcs.filter((e) => e[2] >= minMs).length} of ≥ ${minMs} ms`);
});
for (const c of children) c.kill("SIGTERM");
await sleep(500);
rmSync(base, { recursive: true, force: true });
process.exit(0);
