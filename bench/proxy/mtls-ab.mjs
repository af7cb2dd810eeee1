#!/usr/bin/env node
// bench/proxy/mtls-ab.mjs: the mTLS pair and the plain-text pair (mtls-pair.mjs) measured at the
// same time, so other tenants' load on this shared machine hits both alike. Each pair has its own
// upstream (the lab's upstream.js, tuned); both pairs and upstreams are pinned to SERVER_CPU, two
// paced wrk (lab's rate.lua, RATE req/s each, keep-alive) to LOAD_CPU. CPU µs per request of each
// pair = utime+stime of its two sidecars (/proc) over the requests wrk completed; repeated ROUNDS
// times. On reused connections (wrk keep-alive, pooled upstream connections) no handshake happens
// after warm-up, so the difference is TLS record work plus Node's TLS stream. --floor adds, at the
// same time, the same two hops done by the least Node can do (node-forwarder-pair.mjs: byte pipes,
// plain and mutual TLS): what TLS costs in Node itself, beside what it costs the sidecars.
// --main BUNDLE runs the two sidecar pairs from a bundle's main.js (apps/sidecar/bundle-sidecar.mjs
// --outdir DIR) instead of the sources; --base BUNDLE adds, in place of the floor's pairs (same
// ports), the same two pairs run from another bundle (a change and its baseline at the same time).
//   node bench/proxy/mtls-ab.mjs [--rounds 5] [--seconds 10] [--rate 400] [--cert-dir DIR] [--floor | --base BUNDLE] [--main BUNDLE]
import { execFileSync, spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { treeTicks } from "../proc-cpu.mjs";

const ROOT = resolve(import.meta.dirname, "../..");
const LAB = resolve(process.env.PROXY_LAB ?? join(ROOT, "../shared/peers/proxy-lab"));
const LOAD_CPU = process.env.LOAD_CPU ?? "0";
const SERVER_CPU = process.env.SERVER_CPU ?? "1";
const { values: opts } = parseArgs({ options: { rounds: { type: "string", default: "5" }, seconds: { type: "string", default: "10" }, rate: { type: "string", default: "400" }, "cert-dir": { type: "string" }, floor: { type: "boolean", default: false }, main: { type: "string" }, base: { type: "string" } } });
if (opts.floor && opts.base) throw new Error("--floor and --base use the same ports: give one of them");
const certDir = opts["cert-dir"] ?? join(tmpdir(), `meshwork-mtls-ab-${process.pid}`);
if (!opts["cert-dir"]) execFileSync(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", join(import.meta.dirname, "mtls-certs.ts"), certDir], { cwd: ROOT, stdio: "inherit" });
execFileSync(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", join(ROOT, "apps/sidecar/src/main.ts"), "--help"], { cwd: ROOT, stdio: "ignore" });

const waitPort = async (port) => {
  for (let i = 0; i < 600; i++) {
    try {
      execFileSync("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`], { stdio: "ignore" });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing listens on ${port}`);
};

const procs = [];
const start = (args, env = {}) => {
  const child = spawn("taskset", ["-c", SERVER_CPU, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] });
  procs.push(child);
  return child;
};
const sidecarPair = join(import.meta.dirname, "mtls-pair.mjs");
const nodePair = join(import.meta.dirname, "node-forwarder-pair.mjs");
const pairs = [
  { name: "plain", mode: "plain", script: sidecarPair, port: 18100, server: 18101, upstream: 18102, main: opts.main },
  { name: "mtls", mode: "mtls", script: sidecarPair, port: 18200, server: 18201, upstream: 18202, main: opts.main },
  ...(opts.base
    ? [
        { name: "base-plain", mode: "plain", script: sidecarPair, port: 18300, server: 18301, upstream: 18302, main: opts.base },
        { name: "base-mtls", mode: "mtls", script: sidecarPair, port: 18400, server: 18401, upstream: 18402, main: opts.base },
      ]
    : []),
  ...(opts.floor
    ? [
        { name: "node-plain", mode: "plain", script: nodePair, port: 18300, server: 18301, upstream: 18302 },
        { name: "node-mtls", mode: "mtls", script: nodePair, port: 18400, server: 18401, upstream: 18402 },
      ]
    : []),
];
try {
  for (const p of pairs) {
    start([process.execPath, join(LAB, "upstream.js")], { PORT: String(p.upstream), MODE: "tuned" });
    p.proc = start([process.execPath, p.script, String(p.port), p.mode, certDir], { MTLS_PAIR_SERVER_PORT: String(p.server), MTLS_PAIR_UPSTREAM_PORT: String(p.upstream), ...(p.main ? { MTLS_PAIR_MAIN: p.main } : {}) });
  }
  for (const p of pairs) await waitPort(p.port);
  // The launcher's children: its pids are in the tree once the sidecars run.
  await new Promise((r) => setTimeout(r, 2000));
  const wrk = (p, seconds) =>
    new Promise((resolvePromise, reject) => {
      const child = spawn("taskset", ["-c", LOAD_CPU, "wrk", "-t1", "-c10", `-d${seconds}s`, "--timeout", "5s", "-s", join(LAB, "lua/rate.lua"), `http://127.0.0.1:${p.port}/`], { env: { ...process.env, RATE: opts.rate, CONNS: "10" }, stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.on("exit", (code) => {
        const m = /WRKJSON (\{.*\})/.exec(out);
        if (code === 0 && m) resolvePromise(JSON.parse(m[1]));
        else reject(new Error(`wrk failed: ${out}`));
      });
    });
  await Promise.all(pairs.map((p) => wrk(p, 3))); // warm-up: JIT, pooled connections, handshakes
  const rows = [];
  for (let round = 1; round <= Number(opts.rounds); round++) {
    const before = pairs.map((p) => treeTicks(p.proc.pid));
    const results = await Promise.all(pairs.map((p) => wrk(p, Number(opts.seconds))));
    const after = pairs.map((p) => treeTicks(p.proc.pid));
    const row = pairs.map((p, i) => ({ mode: p.name, usPerReq: ((after[i] - before[i]) * 10_000) / results[i].requests, errors: results[i].err_status + results[i].err_connect + results[i].err_read + results[i].err_timeout, p50: results[i].lat_p50_us, p99: results[i].lat_p99_us, rps: results[i].rps }));
    rows.push(row);
    console.log(`round ${round}: ${row.map((r) => `${r.mode} ${r.usPerReq.toFixed(1)} µs/req p50 ${(r.p50 / 1000).toFixed(2)} ms p99 ${(r.p99 / 1000).toFixed(2)} ms ${r.rps.toFixed(0)} rps errors ${r.errors}`).join(" | ")} | mTLS/plain ${(row[1].usPerReq / row[0].usPerReq).toFixed(3)}${opts.floor ? ` | node mTLS/plain ${(row[3].usPerReq / row[2].usPerReq).toFixed(3)}` : ""}${opts.base ? ` | base mTLS/plain ${(row[3].usPerReq / row[2].usPerReq).toFixed(3)} | new/base plain ${(row[0].usPerReq / row[2].usPerReq).toFixed(3)} mTLS ${(row[1].usPerReq / row[3].usPerReq).toFixed(3)}` : ""}`);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const ratio = median(rows.map((r) => r[1].usPerReq / r[0].usPerReq));
  console.log(`median over ${rows.length} rounds: plain ${median(rows.map((r) => r[0].usPerReq)).toFixed(1)} µs/req, mTLS ${median(rows.map((r) => r[1].usPerReq)).toFixed(1)} µs/req, per-round ratio mTLS/plain median ${ratio.toFixed(3)} (${((ratio - 1) * 100).toFixed(1)} %; goal ≤ +15 %); added p50 ${((median(rows.map((r) => r[1].p50)) - median(rows.map((r) => r[0].p50))) / 1000).toFixed(2)} ms, p99 ${((median(rows.map((r) => r[1].p99)) - median(rows.map((r) => r[0].p99))) / 1000).toFixed(2)} ms`);
  if (opts.base) {
    console.log(`base: plain ${median(rows.map((r) => r[2].usPerReq)).toFixed(1)} µs/req, mTLS ${median(rows.map((r) => r[3].usPerReq)).toFixed(1)} µs/req, mTLS/plain median ${median(rows.map((r) => r[3].usPerReq / r[2].usPerReq)).toFixed(3)}; new/base per round, median: plain ${median(rows.map((r) => r[0].usPerReq / r[2].usPerReq)).toFixed(3)}, mTLS ${median(rows.map((r) => r[1].usPerReq / r[3].usPerReq)).toFixed(3)}`);
  }
  if (opts.floor) {
    const added = (i, j) => median(rows.map((r) => r[j].usPerReq - r[i].usPerReq));
    console.log(`TLS added per request (median over rounds): sidecars ${added(0, 1).toFixed(1)} µs, bare Node pipes ${added(2, 3).toFixed(1)} µs (node plain ${median(rows.map((r) => r[2].usPerReq)).toFixed(1)}, node mTLS ${median(rows.map((r) => r[3].usPerReq)).toFixed(1)} µs/req; ratio ${median(rows.map((r) => r[3].usPerReq / r[2].usPerReq)).toFixed(3)})`);
  }
} finally {
  for (const p of procs) p.kill("SIGTERM");
}
