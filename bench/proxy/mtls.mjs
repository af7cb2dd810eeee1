#!/usr/bin/env node
// bench/proxy/mtls.mjs: what mutual TLS costs (issue 7, "Figures"). Two sidecars in a row
// (client outbound → server inbound → upstream, mtls-pair.mjs) with mTLS vs plain text, beside
// nginx proxying to the same upstream in plain text and over mTLS (the lab's nginx / nginx-mtls),
// measured by the shared proxy lab (../shared/peers/proxy-lab/bench.js, run as a process, as
// run.mjs does): CPU µs per request of the proxies on reused connections (max phase, wrk -c50
// keep-alive), added p50/p99 at 1,000 req/s. Then full and resumed handshakes per second against
// the server sidecar (STRICT) and against nginx (ssl_verify_client on), with openssl s_time.
//
// Usage (from the repo root):
//   node bench/proxy/mtls.mjs                                          # 3 rounds, 10 s phases
//   node bench/proxy/mtls.mjs --rounds 1 --duration 3 --warmup 1 --quiet-wait 5 --retries 1   # smoke
//   node bench/proxy/mtls.mjs --summarize bench/proxy/results/<run>/mtls.jsonl
// Options: --rounds N (3), --configs LIST (direct-tuned,nginx,nginx-mtls,sidecars-plain,sidecars-mtls),
//   --handshake-seconds S (5; 0 skips), --out DIR; passed to bench.js: --duration, --warmup, --conns,
//   --rate, --quiet-pct, --quiet-wait, --contam-pct, --retries. Environment: PROXY_LAB, LOAD_CPU (0), SERVER_CPU (1).
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { treeTicks } from "../proc-cpu.mjs";

const ROOT = resolve(import.meta.dirname, "../..");
const LAB = resolve(process.env.PROXY_LAB ?? join(ROOT, "../shared/peers/proxy-lab"));
const LOAD_CPU = process.env.LOAD_CPU ?? "0";
const SERVER_CPU = process.env.SERVER_CPU ?? "1";
const PASSTHROUGH = ["duration", "warmup", "conns", "rate", "quiet-pct", "quiet-wait", "contam-pct", "retries"];
const GOAL_CPU_OVERHEAD = 0.15;

const { values: opts } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    configs: { type: "string", default: "direct-tuned,nginx,nginx-mtls,sidecars-plain,sidecars-mtls" },
    "handshake-seconds": { type: "string", default: "5" },
    out: { type: "string" },
    summarize: { type: "string" },
    ...Object.fromEntries(PASSTHROUGH.map((k) => [k, { type: "string" }])),
  },
});

const median = (xs) => {
  const a = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((x, y) => x - y);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};
const get = (o, p) => p.split(".").reduce((x, k) => (x == null ? undefined : x[k]), o);
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const signed = (x, d = 2) => (Number.isFinite(x) ? (x >= 0 ? "+" : "") + x.toFixed(d) : "–");

const PAIRS = { "sidecars-plain": "plain", "sidecars-mtls": "mtls" };

function runBench(config, file, certDir, runDir, netns) {
  const mode = PAIRS[config];
  const args = ["taskset", "-c", LOAD_CPU, process.execPath, join(LAB, "bench.js"), "--configs", mode ? "custom" : config, "--rounds", "1", "--out", file];
  for (const k of PASSTHROUGH) if (opts[k] !== undefined) args.push(`--${k}`, opts[k]);
  const env = { ...process.env, RUN_DIR: runDir };
  delete env.PROXY_UPSTREAM_TLS;
  if (mode) env.PROXY_CMD = `${process.execPath} ${join(import.meta.dirname, "mtls-pair.mjs")} {PORT} ${mode} ${certDir}`;
  const command = netns ? ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", ...args] : args;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command[0], command.slice(1), { env, stdio: ["ignore", "inherit", "inherit"] });
    child.on("exit", (code, signal) => (code === 0 ? resolvePromise() : reject(new Error(`bench.js for ${config} failed (${signal ?? code})`))));
  });
}

function netnsAvailable() {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("unshare", ["--net", "sh", "-c", "ip link set lo up"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}


async function waitPort(port) {
  for (let i = 0; i < 200; i++) {
    try {
      execFileSync("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`], { stdio: "ignore" });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

/** openssl s_time against a server process (pinned to SERVER_CPU): handshakes/s and the server's CPU µs per handshake. */
async function handshakes(name, server, port, certDir, seconds) {
  const child = spawn("taskset", ["-c", SERVER_CPU, ...server], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"], detached: false });
  try {
    await waitPort(port);
    await new Promise((r) => setTimeout(r, 500));
    const out = {};
    for (const kind of ["new", "reuse"]) {
      const before = treeTicks(child.pid);
      const text = execFileSync("taskset", ["-c", LOAD_CPU, "openssl", "s_time", "-connect", `127.0.0.1:${port}`, `-${kind}`, "-time", String(seconds), "-cert", join(certDir, "client/leaf.pem"), "-key", join(certDir, "client/key.pem"), "-CAfile", join(certDir, "client/root-cert.pem")], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      const ticks = treeTicks(child.pid) - before;
      const m = /(\d+) connections in ([\d.]+) real seconds/.exec(text);
      const count = m ? Number(m[1]) : NaN;
      const secs = m ? Number(m[2]) : NaN;
      out[kind] = { per_s: count / secs, server_us: (ticks * 10_000) / count };
    }
    return { name, ...out };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

function summarize(records, hs) {
  const by = new Map();
  for (const r of records) by.set(r.config, [...(by.get(r.config) ?? []), r]);
  const med = (c, p) => median((by.get(c) ?? []).map((r) => get(r, p)));
  const lines = [];
  const base = { p50: med("direct-tuned", "fixed.lat_p50_us"), p99: med("direct-tuned", "fixed.lat_p99_us") };
  lines.push("| config | rounds (noisy) | proxy CPU µs/req (reused connections) | max rps | p50 @rate ms | p99 @rate ms | added p50 ms | added p99 ms | noise % |");
  lines.push("|---|---|---|---|---|---|---|---|---|");
  for (const [c, recs] of by) {
    const noisy = recs.filter((r) => r.max?.contaminated || r.fixed?.contaminated).length;
    const p50 = med(c, "fixed.lat_p50_us");
    const p99 = med(c, "fixed.lat_p99_us");
    lines.push(`| ${c} | ${recs.length}${noisy ? ` (${noisy} noisy)` : ""} | ${fmt(med(c, "max.proxy_us_per_req"))} | ${fmt(med(c, "max.rps"), 0)} | ${fmt(p50 / 1000, 2)} | ${fmt(p99 / 1000, 2)} | ${c === "direct-tuned" ? "0" : signed((p50 - base.p50) / 1000)} | ${c === "direct-tuned" ? "0" : signed((p99 - base.p99) / 1000)} | ${fmt(med(c, "max.noise_pct"))} |`);
  }
  lines.push("");
  const overhead = (a, b) => (med(a, "max.proxy_us_per_req") - med(b, "max.proxy_us_per_req")) / med(b, "max.proxy_us_per_req");
  const sidecar = overhead("sidecars-mtls", "sidecars-plain");
  const nginx = overhead("nginx-mtls", "nginx");
  lines.push(`mTLS CPU overhead per request on reused connections: two sidecars ${signed(sidecar * 100, 1)} % (goal ≤ ${GOAL_CPU_OVERHEAD * 100} %: ${Number.isFinite(sidecar) ? (sidecar <= GOAL_CPU_OVERHEAD ? "PASS" : "MISS") : "n/a"}); nginx (one TLS side) ${signed(nginx * 100, 1)} %.`);
  lines.push(`Added latency of mTLS between the sidecars: p50 ${signed((med("sidecars-mtls", "fixed.lat_p50_us") - med("sidecars-plain", "fixed.lat_p50_us")) / 1000)} ms, p99 ${signed((med("sidecars-mtls", "fixed.lat_p99_us") - med("sidecars-plain", "fixed.lat_p99_us")) / 1000)} ms.`);
  if (hs?.length) {
    lines.push("");
    lines.push("| handshakes (openssl s_time, client cert) | full /s | server CPU µs per full handshake | resumed /s | server CPU µs per resumed |");
    lines.push("|---|---|---|---|---|");
    for (const h of hs) lines.push(`| ${h.name} | ${fmt(h.new?.per_s, 0)} | ${fmt(h.new?.server_us, 0)} | ${fmt(h.reuse?.per_s, 0)} | ${fmt(h.reuse?.server_us, 0)} |`);
  }
  return lines.join("\n");
}

function nginxTlsServer(dir, certDir, port) {
  mkdirSync(dir, { recursive: true });
  const conf = `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  ssl_session_cache shared:SSL:10m;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_protocols TLSv1.3;
    ssl_certificate ${certDir}/server/leaf.pem;
    ssl_certificate_key ${certDir}/server/key.pem;
    ssl_client_certificate ${certDir}/server/root-cert.pem;
    ssl_verify_client on;
    location / { return 200 "ok"; }
  }
}
`;
  writeFileSync(join(dir, "nginx.conf"), conf);
  return ["/usr/sbin/nginx", "-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"];
}

async function main() {
  if (opts.summarize) {
    const hsFile = opts.summarize.replace(/mtls\.jsonl$/, "handshakes.json");
    console.log(summarize(readFileSync(opts.summarize, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)), existsSync(hsFile) ? JSON.parse(readFileSync(hsFile, "utf8")) : []));
    return;
  }
  const outDir = resolve(opts.out ?? join(import.meta.dirname, "results", `mtls-${new Date().toISOString().replace(/[:.]/g, "-")}`));
  mkdirSync(outDir, { recursive: true });
  const certDir = join(outDir, "certs");
  execFileSync(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", join(import.meta.dirname, "mtls-certs.ts"), certDir], { cwd: ROOT, stdio: "inherit" });
  const results = join(outDir, "mtls.jsonl");
  // Fill tsx's transform cache once, so the sidecars start within the lab's 10 s on a busy machine.
  execFileSync(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", join(ROOT, "apps/sidecar/src/main.ts"), "--help"], { cwd: ROOT, stdio: "ignore" });
  const netns = netnsAvailable();
  const configs = opts.configs.split(",").map((c) => c.trim()).filter(Boolean);
  // The lab's own TLS configs (nginx-mtls: its upstream on 18443 and nginx's client certificate)
  // read the lab's certificates, which its setup writes under /tmp and a fresh machine lacks.
  if (configs.some((c) => c.endsWith("-mtls") && !(c in PAIRS))) execFileSync("bash", [join(LAB, "gen-certs.sh")], { env: { ...process.env, CERT_DIR: process.env.CERT_DIR ?? join(process.env.DEPS_DIR ?? "/tmp/proxybench", "certs") }, stdio: ["ignore", "ignore", "inherit"] });
  for (let round = 1; round <= Number(opts.rounds); round++) {
    for (const config of configs) {
      const file = join(outDir, `.${config}-${round}.jsonl`);
      rmSync(file, { force: true });
      await runBench(config, file, certDir, join(outDir, "run"), netns);
      for (const line of readFileSync(file, "utf8").split("\n").filter(Boolean)) appendFileSync(results, JSON.stringify({ ...JSON.parse(line), config, round }) + "\n");
      rmSync(file, { force: true });
    }
  }
  const hs = [];
  const seconds = Number(opts["handshake-seconds"]);
  if (seconds > 0) {
    const sidecarPort = 18601;
    const cfg = join(outDir, "hs-config");
    mkdirSync(cfg, { recursive: true });
    writeFileSync(join(cfg, "pa.yaml"), "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: default }\nspec:\n  mtls: { mode: STRICT }\n");
    hs.push(await handshakes("server sidecar (STRICT)", [process.execPath, "--import", "tsx", "--conditions=@meshwork/source", join(ROOT, "apps/sidecar/src/main.ts"), "--config", cfg, "--cert-dir", join(certDir, "server"), "--inbound-port", String(sidecarPort), "--app-port", "18099", "--outbound-port=-1", "--admin-port=-1", "--stats-port=-1", "--access-log", "off"], sidecarPort, certDir, seconds));
    hs.push(await handshakes("nginx (ssl_verify_client on)", nginxTlsServer(join(outDir, "run", "nginx-hs"), certDir, 18602), 18602, certDir, seconds));
    writeFileSync(join(outDir, "handshakes.json"), JSON.stringify(hs) + "\n");
  }
  const summary = summarize(readFileSync(results, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)), hs);
  writeFileSync(join(outDir, "summary.md"), summary + "\n");
  console.log(summary);
}

await main();
