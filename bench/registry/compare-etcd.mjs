#!/usr/bin/env node
// bench/registry/compare-etcd: our 3-node registry against a 3-member etcd (Debian etcd-server 3.4)
// on loopback, in the same run, with the same Node load generator (DESIGN.md §3.4, §5; issue 5
// "Benchmark against etcd"). A figure, not a test: nothing here asserts.
//
// Both clusters run side by side; every phase alternates etcd / registry so machine noise hits both.
// The load generator runs as a child process (this file with --load) so its CPU is its own:
//   etcd      v3 HTTP/JSON gateway  POST /v3/kv/put, POST /v3/kv/range {serializable:false}
//   registry  Consul HTTP API       PUT /v1/kv/<key>, GET /v1/kv/<key>?consistent
// Requests go round-robin to all 3 members over keep-alive connections (followers forward to the
// leader in both systems), as /work/shared/peers/etcd/bench.mjs does. Keys "k%07d", 256-byte values.
//
// Phases (median over --runs): sequential put (1 client) p50/p99; put at --clients closed-loop
// clients: ops/s, p50/p99; linearizable get at --clients; failover (SIGKILL the leader, time until
// a put issued after the kill succeeds; p50 over --kills, the member is restarted between kills);
// RSS per node after loading --rss-keys distinct keys. Beside each figure: the load generator's
// CPU (cores), server CPU, CPU-ms per operation, and the machine's other load (noise).
//
// usage: node bench/registry/compare-etcd.mjs [--quick] [--runs 3] [--duration 10] [--clients 64]
//          [--seq-n 2000] [--warmup N] [--kills 10] [--rss-keys 100000] [--only etcd|registry]
//          [--registry tsx|dist] [--tick-ms N] [--profile] [--skip a,b] [--node-flags="--flag ..."] [--out file.json]
//   --quick       runs 1, duration 3 s, seq-n 300, kills 3, rss-keys 20000 (development)
//   --warmup N    N sequential puts per system before the first run, not counted (default: seq-n;
//                 0 = cold: a fresh Node process runs its first thousands of puts before V8 has
//                 optimised their code, which etcd, compiled ahead of time, does not need)
//   --registry    dist (default; needs `npx nx build registry`) = node apps/registry/dist/main.js,
//                 tsx = node --import tsx --conditions=@meshwork/source apps/registry/src/main.ts
//   --tick-ms     registry --tick-ms (default: the registry's own default, 100 ms = etcd's
//                 heartbeat 100 ms / election timeout 1000 ms)
//   --profile     afterwards, a fresh registry cluster under node --cpu-prof, the put load at
//                 --clients for --duration, then a self-time breakdown of the leader's profile
//                 (every node's profile is kept in results/)
//   --skip        phases to skip: seq,put,get,rss,failover
//   --rss-only    just the RSS fill (= --skip seq,put,get,failover); with --only registry, ~3 min on a quiet box
//   --rss-settle  also record the RSS this many seconds after the fill, once idle (default 3: only the 3 s figure)
//   --node-flags  extra node/V8 flags for every registry process, e.g. --node-flags=--max-semi-space-size=2
//   --main FILE   run the registry from FILE (e.g. an esbuild bundle) instead of apps/registry/dist/main.js
//   --baseline FILE  a third system "baseline": a registry cluster from FILE (a bundle of the tree
//                 before a change), in the same phases, alternating; the summary adds reg/baseline ratios
//   --together    run the systems' loads of each phase at the same time (same noise for CPU per op;
//                 their throughputs then share the servers' core: compare CPU per op, not ops/s)
//   --baseline-flags="--flag ..."  node flags for the baseline cluster only (after the others): with
//                 no --baseline, the same build under other runtime flags (A/B of a V8 setting)
//   --baseline-env="K=V ..."  environment for the baseline cluster only: the same build under
//                 another setting it reads from its environment (e.g. MESHWORK_REGISTRY_SNAPSHOT_EVERY)
// Needs: etcd on PATH (apt-get install -y etcd-server), Node 20. Everything listens on 127.0.0.1;
// only the processes this script started are signalled. Data under a fresh os.tmpdir() dir.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, mkdirSync, readdirSync, writeFileSync, openSync, statSync } from "node:fs";
import http from "node:http";
import { cpus, tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { envAssignments } from "../env-assignments.mjs";
import { freePort } from "../free-port.mjs";
import { canPinCpus, contextSwitches, cpuTicks } from "../proc-cpu.mjs";
import { smapsBreakdown } from "./smaps-breakdown.mjs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { tsImport } from "tsx/esm/api";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const key = (i) => "k" + String(i).padStart(7, "0");

// ===================================================================== load generator (child)
if (process.argv[2] === "--load") {
  const job = JSON.parse(process.argv[3]);
  console.log(JSON.stringify(await runLoad(job)));
  process.exit(0);
}

function makeClient(system, endpoints, timeoutMs) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  let rr = 0;
  function request(ep, method, path, body) {
    const [host, port] = ep.split(":");
    return new Promise((resolvePromise, reject) => {
      const headers = body === undefined ? {} : { "content-type": system === "etcd" ? "application/json" : "application/octet-stream", "content-length": Buffer.byteLength(body) };
      const req = http.request({ host, port, path, method, agent, timeout: timeoutMs, headers }, (res) => {
        let s = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (s += d));
        res.on("end", () => (res.statusCode === 200 ? resolvePromise(s) : reject(new Error(`HTTP ${res.statusCode} ${s.slice(0, 60)}`))));
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end(body);
    });
  }
  const pick = () => endpoints[rr++ % endpoints.length];
  const b64 = (s) => Buffer.from(s).toString("base64");
  if (system === "etcd") {
    return {
      put: (k, v) => request(pick(), "POST", "/v3/kv/put", JSON.stringify({ key: b64(k), value: b64(v) })),
      get: (k) => request(pick(), "POST", "/v3/kv/range", JSON.stringify({ key: b64(k), serializable: false })),
      close: () => agent.destroy(),
    };
  }
  return {
    put: async (k, v) => {
      const s = await request(pick(), "PUT", "/v1/kv/" + k, v);
      if (!s.includes("true")) throw new Error("put answered " + s.slice(0, 40));
    },
    get: async (k) => {
      const s = await request(pick(), "GET", "/v1/kv/" + k + "?consistent");
      if (s.length < 10) throw new Error("get answered " + s.slice(0, 40));
    },
    close: () => agent.destroy(),
  };
}

// ---- CPU accounting (Linux /proc; USER_HZ 100)
function procStat() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return { total: f.reduce((a, b) => a + b, 0), idle: f[3] + f[4], task: f[0] + f[1] + f[2] };
}
function startCpu(pids) {
  const s0 = procStat(), self0 = process.cpuUsage(), w0 = performance.now(), p0 = pids.map(cpuTicks), c0 = pids.map(contextSwitches);
  return (count) => {
    const s1 = procStat(), self = process.cpuUsage(self0), secs = (performance.now() - w0) / 1000;
    const n = cpus().length, dt = s1.total - s0.total;
    const frac = (x) => (dt ? (x / dt) * n : 0);
    const clientCpuS = (self.user + self.system) / 1e6;
    const srvS = pids.map((p, i) => { const t = cpuTicks(p); return t === null || p0[i] === null ? 0 : (t - p0[i]) / 100; });
    const srvSum = srvS.reduce((a, b) => a + b, 0);
    const taskCores = frac(s1.task - s0.task);
    // Sleeps and preemptions of the servers' threads per operation: on this VM a wakeup costs
    // tens of µs of CPU on its own (cold caches after the core ran something else).
    const switches = pids.map((p, i) => { const c = contextSwitches(p); return c === null || c0[i] === null ? { voluntary: 0, involuntary: 0 } : { voluntary: c.voluntary - c0[i].voluntary, involuntary: c.involuntary - c0[i].involuntary }; });
    const perOp = (k) => (count ? +(switches.reduce((a, x) => a + x[k], 0) / count).toFixed(2) : null);
    return {
      client_cores: +(clientCpuS / secs).toFixed(2),
      server_cores: srvS.map((x) => +(x / secs).toFixed(2)),
      client_cpu_ms_per_op: count ? +((clientCpuS * 1000) / count).toFixed(3) : null,
      server_cpu_ms_per_op: count ? +((srvSum * 1000) / count).toFixed(3) : null,
      server_sleeps_per_op: perOp("voluntary"),
      server_preemptions_per_op: perOp("involuntary"),
      machine_busy_cores: +frac(s1.total - s0.total - (s1.idle - s0.idle)).toFixed(2),
      // every other task on the machine (other tenants' tests): the noise figure
      other_cores: +Math.max(0, taskCores - clientCpuS / secs - srvSum / secs).toFixed(2),
    };
  };
}

function summary(lat, errors, seconds, cpu, extra = {}) {
  const a = Float64Array.from(lat).sort();
  const p = (q) => (a.length ? +a[Math.min(a.length - 1, Math.floor(q * a.length))].toFixed(3) : null);
  return { count: a.length, errors, seconds: +seconds.toFixed(2), ops_per_s: +(a.length / seconds).toFixed(1), p50_ms: p(0.5), p99_ms: p(0.99), max_ms: a.length ? +a[a.length - 1].toFixed(3) : null, cpu: cpu(a.length), ...extra };
}

async function runLoad(job) {
  const client = makeClient(job.system, job.endpoints, job.timeoutMs ?? 5000);
  const value = "x".repeat(job.valueSize ?? 256);
  const keys = job.keys ?? 1000;
  const timed = async (fn) => { const t0 = performance.now(); await fn(); return performance.now() - t0; };
  try {
    if (job.mode === "seq-put") {
      for (let i = 0; i < 50; i++) await client.put(key(i), value);
      const lat = []; let errors = 0;
      const cpu = startCpu(job.pids); const t0 = performance.now();
      for (let i = 0; i < job.n; i++) { try { lat.push(await timed(() => client.put(key(i % keys), value))); } catch { errors++; } }
      return summary(lat, errors, (performance.now() - t0) / 1000, cpu);
    }
    if (job.mode === "put" || job.mode === "get") {
      const op = job.mode;
      if (op === "get") { let i = 0; await Promise.all(Array.from({ length: 32 }, async () => { while (i < keys) await client.put(key(i++), value); })); }
      for (let i = 0; i < job.clients * 5; i++) await client[op](key(i % keys), value);
      const lat = []; let errors = 0, seq = 0; const errorSamples = [];
      const cpu = startCpu(job.pids); const t0 = performance.now(); const end = t0 + job.duration * 1000;
      await Promise.all(Array.from({ length: job.clients }, async () => {
        while (performance.now() < end) { const k = key(seq++ % keys); const t = performance.now(); try { lat.push(await timed(() => client[op](k, value))); } catch (e) { errors++; if (errorSamples.length < 5) errorSamples.push(`${String(e?.message ?? e).slice(0, 120)} after ${Math.round(performance.now() - t)} ms, ${Math.round(t - t0)} ms into the phase`); } }
      }));
      return summary(lat, errors, (performance.now() - t0) / 1000, cpu, { clients: job.clients, ...(errorSamples.length ? { error_samples: errorSamples } : {}) });
    }
    if (job.mode === "fill") {
      // job.keys distinct keys with job.clients writers (for the RSS figure)
      let i = 0, errors = 0;
      const cpu = startCpu(job.pids); const t0 = performance.now();
      await Promise.all(Array.from({ length: job.clients }, async () => {
        while (i < keys) { const k = key(i++); for (let a = 0; a < 5; a++) { try { await client.put(k, value); break; } catch { errors++; await sleep(20); } } }
      }));
      const secs = (performance.now() - t0) / 1000;
      return { count: keys, errors, seconds: +secs.toFixed(2), ops_per_s: +(keys / secs).toFixed(1), cpu: cpu(keys) };
    }
    if (job.mode === "failover") {
      // A steady sequential writer for 1 s, then SIGKILL the leader (a process we started) and launch a
      // probe put every 25 ms (round-robin, each with its own timeout) so the figure is not quantized by
      // a request stuck on the dead leader. Unavailable = completion of the first successful probe
      // issued after the kill, minus the kill time.
      const t0 = performance.now(); let errors = 0, i = 0, ops = 0;
      const cpu = startCpu(job.pids);
      while (performance.now() - t0 < 1000) { try { await client.put(key(i++ % 1000), value); ops++; } catch { errors++; await sleep(5); } }
      const tKill = performance.now();
      process.kill(job.killPid, "SIGKILL");
      const firstOk = await new Promise((done) => {
        let finished = false;
        const probe = () => {
          if (finished) return;
          if (performance.now() - tKill > 20_000) { finished = true; done(null); return; }
          client.put(key(i++ % 1000), value).then(() => { ops++; if (!finished) { finished = true; done(performance.now()); } }, () => { errors++; });
          setTimeout(probe, 25);
        };
        probe();
      });
      return { unavailable_ms: firstOk === null ? null : +(firstOk - tKill).toFixed(1), errors, cpu: cpu(ops) };
    }
    throw new Error(`unknown load mode ${job.mode}`);
  } finally {
    client.close();
  }
}

// ===================================================================== orchestrator
const { values: o } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    runs: { type: "string" }, duration: { type: "string" }, clients: { type: "string", default: "64" },
    "seq-n": { type: "string" }, warmup: { type: "string" }, kills: { type: "string" }, "rss-keys": { type: "string" },
    only: { type: "string" }, "rss-settle": { type: "string", default: "3" }, registry: { type: "string", default: "dist" }, "tick-ms": { type: "string" },
    profile: { type: "boolean", default: false }, skip: { type: "string", default: "" }, out: { type: "string" },
    "node-flags": { type: "string", default: "" }, "node-env": { type: "string", default: "" }, "no-launcher-flags": { type: "boolean", default: false }, "log-level": { type: "string", default: "warn" },
    "rss-only": { type: "boolean", default: false },
    "keep-dir": { type: "boolean", default: false }, heap: { type: "boolean", default: false }, "no-pin": { type: "boolean", default: false }, target: { type: "string", default: "all" },
    main: { type: "string" }, baseline: { type: "string" }, together: { type: "boolean", default: false }, "baseline-flags": { type: "string", default: "" }, "baseline-env": { type: "string", default: "" },
  },
});
const q = o.quick;
const cfg = {
  runs: Number(o.runs ?? (q ? 1 : 3)), duration: Number(o.duration ?? (q ? 3 : 10)), clients: Number(o.clients),
  seqN: Number(o["seq-n"] ?? (q ? 300 : 2000)), warmup: Number(o.warmup ?? o["seq-n"] ?? (q ? 300 : 2000)), rssSettle: Number(o["rss-settle"]), kills: Number(o.kills ?? (q ? 3 : 10)), rssKeys: Number(o["rss-keys"] ?? (q ? 20_000 : 100_000)),
};
// --rss-only: just the RSS fill (same as --skip seq,put,get,failover), for quick memory iterations
const skip = new Set([...o.skip.split(",").filter(Boolean), ...(o["rss-only"] ? ["seq", "put", "get", "failover"] : [])]);
// --node-flags "--max-semi-space-size=2 ...": extra node/V8 flags for every registry process (A/B of runtime settings)
// The registry's launcher flags come first: the node flags in apps/registry/src/main.ts's shebang
// (`#!/usr/bin/env -S node --max-semi-space-size=2 ...`, what `meshwork-registry` runs with), which
// `node main.js` would ignore; --no-launcher-flags leaves them out (A/B).
const { launcherNodeFlags } = await tsImport("../../apps/meshctl/src/core/launcher-node-flags.ts", import.meta.url);
const launcherFlags = o["no-launcher-flags"] ? [] : launcherNodeFlags(readFileSync(join(repo, "apps/registry/src/main.ts"), "utf8"));
const nodeFlags = [...launcherFlags, ...o["node-flags"].split(/\s+/).filter(Boolean)];
// --node-env "MALLOC_ARENA_MAX=2 ...": extra environment for every registry process (A/B of allocator settings)
const nodeEnv = envAssignments(o["node-env"], "--node-env");
const base = mkdtempSync(join(tmpdir(), "compare-etcd-"));
const started = new Set(); // every child we spawned, so exit handlers signal only those
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

// The peers' method: load generator pinned to CPU 0, all servers (both systems) to CPU 1 (--no-pin: off).
const pin = !o["no-pin"] && canPinCpus();
const pinned = (cpu, cmd, args) => (pin ? ["taskset", ["-c", String(cpu), cmd, ...args]] : [cmd, args]);
function spawnTracked(cmd0, args0, logFile, extraEnv = {}) {
  const [cmd, args] = pinned(1, cmd0, args0);
  const fd = openSync(logFile, "a");
  const child = spawn(cmd, args, { stdio: ["ignore", fd, fd], env: { ...process.env, ...extraEnv }, cwd: repo });
  started.add(child);
  child.exited = new Promise((r) => child.on("exit", (code, sig) => { started.delete(child); r(code ?? sig); }));
  return child;
}
async function httpJson(method, url, body, timeoutMs = 1000) {
  const ctl = AbortSignal.timeout(timeoutMs);
  const res = await fetch(url, { method, body, signal: ctl });
  const text = await res.text();
  return { status: res.status, text };
}
async function until(what, fn, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs; let last;
  for (;;) {
    try { const v = await fn(); if (v !== undefined && v !== null && v !== false) return v; } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${last}`);
    await sleep(100);
  }
}
function rssMb(pid) {
  try { const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8")); return m ? +(Number(m[1]) / 1024).toFixed(1) : null; } catch { return null; }
}
function dirMb(d) {
  let sum = 0;
  const walk = (p) => { for (const e of readdirSync(p, { withFileTypes: true })) { const f = join(p, e.name); if (e.isDirectory()) walk(f); else sum += statSync(f).size; } };
  try { walk(d); } catch { /* a member may be rolling a file: the figure is approximate anyway */ }
  return +(sum / 1048576).toFixed(1);
}

// ---- etcd: the same flags as /work/shared/peers/etcd/cluster.sh, on free ports
async function etcdCluster() {
  const dir = join(base, "etcd");
  const ports = []; for (let i = 0; i < 3; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const initial = ports.map((p, i) => `e${i + 1}=http://127.0.0.1:${p.peer}`).join(",");
  const members = [];
  const start = (i, state) => {
    mkdirSync(join(dir, `e${i + 1}`), { recursive: true });
    const p = ports[i];
    members[i] = spawnTracked("etcd", ["--name", `e${i + 1}`, "--data-dir", join(dir, `e${i + 1}`, "data"),
      "--listen-client-urls", `http://127.0.0.1:${p.client}`, "--advertise-client-urls", `http://127.0.0.1:${p.client}`,
      "--listen-peer-urls", `http://127.0.0.1:${p.peer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${p.peer}`,
      "--initial-cluster", initial, "--initial-cluster-state", state, "--initial-cluster-token", "compare-etcd",
      "--heartbeat-interval", "100", "--election-timeout", "1000", "--logger", "zap", "--log-outputs", join(dir, `e${i + 1}`, "etcd.log")],
      join(dir, `e${i + 1}`, "stdout.log"));
  };
  for (let i = 0; i < 3; i++) start(i, "new");
  const endpoints = ports.map((p) => `127.0.0.1:${p.client}`);
  const status = async (i) => JSON.parse((await httpJson("POST", `http://${endpoints[i]}/v3/maintenance/status`, "{}")).text);
  const sys = {
    name: "etcd", endpoints, dir, metricsUrls: endpoints.map((e) => `http://${e}/metrics`),
    pids: () => members.map((m) => m.pid),
    leader: async () => until("an etcd leader", async () => { for (let i = 0; i < 3; i++) { try { const s = await status(i); if (s.leader && s.leader === s.header.member_id) return i + 1; } catch { /* member down: ask the next */ } } return undefined; }).then((x) => x - 1),
    healthy: async () => until("3 healthy etcd members", async () => {
      for (let i = 0; i < 3; i++) { const r = await httpJson("POST", `http://${endpoints[i]}/v3/kv/range`, JSON.stringify({ key: "aGVhbHRo", serializable: false }), 2000); if (r.status !== 200) return false; }
      return true;
    }, 60_000),
    kill: (i) => { members[i].kill("SIGKILL"); return members[i].exited; },
    restart: (i) => start(i, "existing"),
    stop: async () => { for (const m of members) if (m.exitCode === null && m.signalCode === null) m.kill("SIGTERM"); await Promise.all(members.map((m) => m.exited)); },
  };
  await sys.healthy();
  return sys;
}

// ---- our registry: node apps/registry/dist/main.js (or tsx on src), 3 nodes bootstrapped from --peers
async function registryCluster({ name = "registry", nodeArgs = [], tag = "registry", main = o.main, env = nodeEnv } = {}) {
  const dir = join(base, tag);
  const ids = ["n1", "n2", "n3"];
  const ports = []; for (let i = 0; i < 3; i++) ports.push({ raft: await freePort(), http: await freePort() });
  const peers = ids.map((id, i) => `${id}=127.0.0.1:${ports[i].raft}`).join(",");
  const entry = main !== undefined ? [main] : o.registry === "tsx" ? ["--import", "tsx", "--conditions=@meshwork/source", "apps/registry/src/main.ts"] : ["apps/registry/dist/main.js"];
  const tick = o["tick-ms"] ? ["--tick-ms", o["tick-ms"]] : [];
  // Every other --*-port flag the build has (--admin-port 8502, --dns-port 8600, --grpc-port ... as
  // other work adds them) gets a free port per node so 3 nodes fit on one host. Read from --help at
  // every start: the build may change during a run (restarted members get the new flags).
  const extraPorts = new Map(); // flag -> [port per node]
  const portFlags = async () => {
    const help = execFileSync(process.execPath, [...entry, "--help"], { cwd: repo, encoding: "utf8" });
    const flags = [...new Set(help.match(/--[a-z-]+-port\b/g) ?? [])].filter((f) => f !== "--raft-port" && f !== "--http-port");
    for (const f of flags) if (!extraPorts.has(f)) extraPorts.set(f, [await freePort(), await freePort(), await freePort()]);
    return flags;
  };
  const adminPorts = (await portFlags()).includes("--admin-port") ? extraPorts.get("--admin-port") : null;
  const members = [];
  const start = async (i) => {
    mkdirSync(join(dir, ids[i]), { recursive: true });
    const admin = (await portFlags()).flatMap((f) => [f, String(extraPorts.get(f)[i])]);
    members[i] = spawnTracked(process.execPath, [...nodeFlags, ...nodeArgs.map((a) => a.replace("%DIR%", join(dir, ids[i]))), ...entry, "--node-id", ids[i], "--peers", peers, "--data-dir", join(dir, ids[i], "data"),
      "--raft-port", String(ports[i].raft), "--http-port", String(ports[i].http), "--log-level", o["log-level"], ...admin, ...tick], join(dir, ids[i], "stdout.log"), env);
  };
  for (let i = 0; i < 3; i++) await start(i);
  const endpoints = ports.map((p) => `127.0.0.1:${p.http}`);
  const sys = {
    name, endpoints, dir, metricsUrls: adminPorts ? adminPorts.map((p) => `http://127.0.0.1:${p}/metrics`) : null,
    pids: () => members.map((m) => m.pid),
    leader: async () => until("a registry leader", async () => {
      for (let i = 0; i < 3; i++) { try { const r = await httpJson("GET", `http://${endpoints[i]}/v1/status/leader`); const a = JSON.parse(r.text); if (a) { const k = endpoints.findIndex((e) => a.endsWith(":" + e.split(":")[1])); if (k >= 0) return k + 1; } } catch { /* node down: ask the next */ } }
      return undefined;
    }).then((x) => x - 1),
    healthy: async () => until("3 healthy registry nodes", async () => {
      for (let i = 0; i < 3; i++) { const r = await httpJson("GET", `http://${endpoints[i]}/v1/kv/health?consistent`, undefined, 2000); if (r.status !== 200 && r.status !== 404) return false; }
      return true;
    }, 60_000),
    kill: (i) => { members[i].kill("SIGKILL"); return members[i].exited; },
    restart: (i) => start(i),
    stop: async () => { for (const m of members) if (m.exitCode === null && m.signalCode === null) m.kill("SIGTERM"); await Promise.all(members.map((m) => m.exited)); },
  };
  await sys.healthy();
  return sys;
}

// WAL fsyncs per node during a phase: etcd's etcd_disk_wal_fsync_duration_seconds and proposals;
// ours: *_wal_save_duration_seconds{fsync="true"} and *_wal_entries_saved_total from the admin port.
async function scrape(sys) {
  if (!sys.metricsUrls) return null;
  return Promise.all(sys.metricsUrls.map(async (u) => {
    try {
      const txt = (await httpJson("GET", u, undefined, 2000)).text.split("\n");
      const val = (re) => { const l = txt.find((x) => re.test(x)); return l ? Number(l.trim().split(/\s+/).pop()) : 0; };
      return sys.name === "etcd"
        ? { fsyncs: val(/^etcd_disk_wal_fsync_duration_seconds_count /), fsync_s: val(/^etcd_disk_wal_fsync_duration_seconds_sum /), entries: val(/^etcd_server_proposals_committed_total /) }
        : { fsyncs: val(/^\w*wal_save_duration_seconds_count\{fsync="true"\}/), fsync_s: val(/^\w*wal_save_duration_seconds_sum\{fsync="true"\}/), entries: val(/^\w*wal_entries_saved_total /) };
    } catch { return null; }
  }));
}
function metricDelta(a, b) {
  if (!a || !b) return undefined;
  return b.map((x, i) => (x && a[i] ? { fsyncs: x.fsyncs - a[i].fsyncs, fsync_mean_ms: x.fsyncs - a[i].fsyncs ? +((1000 * (x.fsync_s - a[i].fsync_s)) / (x.fsyncs - a[i].fsyncs)).toFixed(2) : null, entries_per_fsync: x.fsyncs - a[i].fsyncs ? +((x.entries - a[i].entries) / (x.fsyncs - a[i].fsyncs)).toFixed(2) : null } : null));
}
async function load(sys, job) {
  const before = job.mode === "failover" ? null : await scrape(sys);
  const res = await loadOnly(sys, job);
  if (before) res.wal = metricDelta(before, await scrape(sys));
  return res;
}
async function loadOnly(sys, job) {
  // --target leader: every request to the current leader (no follower forwarding); failover always round-robins
  const endpoints = o.target === "leader" && job.mode !== "failover" ? [sys.endpoints[await sys.leader()]] : sys.endpoints;
  return new Promise((res, rej) => {
    const [cmd, args] = pinned(0, process.execPath, [fileURLToPath(import.meta.url), "--load", JSON.stringify({ system: sys.name === "etcd" ? "etcd" : "registry", endpoints, pids: sys.pids(), ...job })]);
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
    started.add(child);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => { started.delete(child); if (code === 0) res(JSON.parse(out.trim().split("\n").pop())); else rej(new Error(`load ${job.mode} exited ${code}: ${out}`)); });
  });
}

const median = (xs) => { const a = xs.filter((x) => typeof x === "number").sort((x, y) => x - y); return a.length ? a[Math.floor((a.length - 1) / 2)] : null; };
const results = { config: cfg, registry_entry: o.registry, registry_dist_mtime: (() => { try { return statSync(join(repo, "apps/registry/dist/main.js")).mtime.toISOString(); } catch { return null; } })(), tick_ms: o["tick-ms"] ?? "default (100)", started: new Date().toISOString(), runs: {} };

async function cleanup() {
  for (const c of [...started]) { try { c.kill("SIGKILL"); } catch { /* already gone */ } }
}
process.on("SIGINT", async () => { await cleanup(); process.exit(130); });

let systems = [];
try {
  const want = (n) => !o.only || o.only === n;
  if (want("etcd")) { log("starting etcd (3 members)"); systems.push(await etcdCluster()); }
  if (want("registry")) { log(`starting registry (3 nodes, ${o.main ?? o.registry})`); systems.push(await registryCluster(o.heap ? { nodeArgs: ["--heapsnapshot-signal=SIGUSR2", "--diagnostic-dir=%DIR%"] } : {})); }
  // --baseline FILE: a second registry cluster from another build (e.g. an esbuild bundle of the
  // tree before a change), measured in the same phases, alternating with the others (A/B).
  // --baseline-flags "...": node flags added (after the others: the last of a flag wins) for the baseline only.
  // --baseline-env "K=V ...": environment added for the baseline only (an A/B of a setting the registry reads from its environment).
  if (o.baseline !== undefined || o["baseline-flags"] !== "" || o["baseline-env"] !== "") {
    log(`starting baseline registry (3 nodes, ${o.baseline ?? o.main ?? o.registry} ${o["baseline-flags"]} ${o["baseline-env"]})`);
    systems.push(await registryCluster({ name: "baseline", tag: "baseline", main: o.baseline ?? o.main, nodeArgs: o["baseline-flags"].split(/\s+/).filter(Boolean), env: { ...nodeEnv, ...envAssignments(o["baseline-env"], "--baseline-env") } }));
  }
  for (const s of systems) results.runs[s.name] = { "seq-put": [], put: [], get: [], failover: [], rss: null };
  if (cfg.warmup > 0 && !(skip.has("seq") && skip.has("put") && skip.has("get"))) {
    for (const s of systems) {
      const res = await load(s, { mode: "seq-put", n: cfg.warmup });
      log(`warm-up    ${s.name.padEnd(8)} ${cfg.warmup} sequential puts, not counted: p50 ${res.p50_ms} p99 ${res.p99_ms} err ${res.errors}`);
    }
  }

  for (let r = 0; r < cfg.runs; r++) {
    for (const phase of ["seq-put", "put", "get"]) {
      if (skip.has(phase === "seq-put" ? "seq" : phase)) continue;
      const job = phase === "seq-put" ? { mode: phase, n: cfg.seqN } : { mode: phase, clients: cfg.clients, duration: cfg.duration };
      const record = (s, res) => {
        results.runs[s.name][phase].push(res);
        log(`run ${r + 1} ${phase.padEnd(7)} ${s.name.padEnd(8)} ${res.ops_per_s} ops/s p50 ${res.p50_ms} p99 ${res.p99_ms} err ${res.errors} cpu ${JSON.stringify(res.cpu)} wal ${JSON.stringify(res.wal)}`);
      };
      // --together: every system's load at the same time (servers sharing the pinned core), so each
      // system's CPU per operation is measured under the same noise; ops/s and latency are then shared.
      if (o.together) (await Promise.all(systems.map((s) => load(s, job)))).forEach((res, i) => record(systems[i], res));
      else for (const s of r % 2 ? [...systems].reverse() : systems) record(s, await load(s, job));
    }
  }
  if (!skip.has("rss")) {
    for (const s of systems) {
      const before = s.pids().map(rssMb);
      const fill = await load(s, { mode: "fill", keys: cfg.rssKeys, clients: cfg.clients, timeoutMs: 10_000 });
      await sleep(3000);
      const after = s.pids().map(rssMb);
      // --rss-settle S: also the RSS S s after the fill, once idle (V8's memory reducer and Go's
      // scavenger return memory a while after a burst); the 3 s figure stays the verdict.
      let settled = null;
      if (cfg.rssSettle > 3) { await sleep((cfg.rssSettle - 3) * 1000); settled = s.pids().map(rssMb); }
      results.runs[s.name].rss = { keys: cfg.rssKeys, rss_mb_before: before, rss_mb: after, max_mb: Math.max(...after), ...(settled ? { settle_s: cfg.rssSettle, rss_mb_settled: settled, max_mb_settled: Math.max(...settled) } : {}), data_dir_mb: dirMb(s.dir), fill };
      if (s.name !== "etcd") results.runs[s.name].rss.memory = await memoryOf(s);
      if (o.heap && s.name === "registry") results.runs[s.name].heap = await heapOf(s);
      log(`rss ${s.name} ${cfg.rssKeys} keys: ${after.join(" / ")} MB (before ${before.join(" / ")}), fill ${fill.ops_per_s} ops/s, data ${results.runs[s.name].rss.data_dir_mb} MB${results.runs[s.name].rss.memory ? `; memory ${JSON.stringify(results.runs[s.name].rss.memory)}` : ""}`);
    }
  }
  if (!skip.has("failover")) {
    const broken = new Set();
    for (let k = 0; k < cfg.kills; k++) {
      for (const s of systems) {
        if (broken.has(s.name)) continue;
        const leader = await s.leader();
        const pid = s.pids()[leader];
        const res = await load(s, { mode: "failover", killPid: pid, timeoutMs: 3000 });
        await s.kill(leader).catch(() => undefined);
        results.runs[s.name].failover.push({ ...res, killed: leader + 1 });
        log(`failover ${k + 1} ${s.name.padEnd(8)} killed #${leader + 1}: unavailable ${res.unavailable_ms} ms (errors ${res.errors})`);
        await s.restart(leader);
        try {
          await s.healthy();
        } catch (error) {
          // e.g. the restarted member cannot open its data dir: say so, stop killing this system
          const tail = readFileSync(join(s.dir, s.name === "etcd" ? `e${leader + 1}/stdout.log` : `n${leader + 1}/stdout.log`), "utf8").trim().split("\n").slice(-2).join(" ").slice(0, 600);
          results.runs[s.name].failover_restart_error = `restarting member #${leader + 1} after kill ${k + 1}: ${error.message}; its log: ${tail}`;
          log(`failover ${s.name}: ${results.runs[s.name].failover_restart_error}`);
          broken.add(s.name);
          continue;
        }
        await sleep(1500);
      }
    }
  }
  for (const s of systems) await s.stop();
  systems = [];

  if (o.profile) results.profile = await profileRegistry();
} catch (error) {
  results.error = String(error?.stack ?? error);
  log(`stopped early: ${error?.message ?? error}`);
} finally {
  for (const s of systems) await s.stop().catch(() => undefined);
  await cleanup();
}

// Where each registry node's memory is after the fill: RssAnon/RssFile (/proc), V8's heap and
// external memory (prom-client's process metrics on the admin port), and how many snapshots each
// node installed from the leader (its log, at --log-level info or debug).
async function memoryOf(sys) {
  const mb = (x) => +(x / 1048576).toFixed(1);
  return Promise.all(sys.pids().map(async (pid, i) => {
    const status = (() => { try { return readFileSync(`/proc/${pid}/status`, "utf8"); } catch { return ""; } })();
    const kb = (name) => { const m = new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status); return m ? +(Number(m[1]) / 1024).toFixed(1) : null; };
    const out = { rss_anon_mb: kb("RssAnon"), rss_file_mb: kb("RssFile"), hwm_mb: kb("VmHWM"), ...smapsOf(pid) };
    if (sys.metricsUrls) {
      try {
        const txt = (await httpJson("GET", sys.metricsUrls[i], undefined, 2000)).text.split("\n");
        const val = (re) => { const l = txt.find((x) => re.test(x)); return l ? Number(l.trim().split(/\s+/).pop()) : null; };
        out.heap_total_mb = mb(val(/^nodejs_heap_size_total_bytes /));
        out.heap_used_mb = mb(val(/^nodejs_heap_size_used_bytes /));
        out.external_mb = mb(val(/^nodejs_external_memory_bytes /));
        for (const space of ["new", "old", "large_object", "code"]) out[`${space}_mb`] = mb(val(new RegExp(`^nodejs_heap_space_size_total_bytes\\{space="${space}"\\}`)));
      } catch { /* metrics unavailable: /proc figures only */ }
    }
    try { out.snapshots_installed = (readFileSync(join(sys.dir, `n${i + 1}`, "stdout.log"), "utf8").match(/installed snapshot from the leader/g) ?? []).length; } catch { /* no log */ }
    return out;
  }));
}

// Resident anonymous memory by kind of mapping (smaps-breakdown.mjs): glibc's main arena ([heap],
// grown by brk: what malloc keeps after frees shows here — ArrayBuffers' backing stores live here),
// glibc's thread arenas (64 MiB-aligned reservations), and the rest (V8's heap pages, mmapped
// buffers, stacks).
function smapsOf(pid) {
  try {
    const { mb } = smapsBreakdown(pid);
    return { brk_heap_mb: mb.brk_heap ?? 0, arena_mb: mb.malloc_arena ?? 0, other_anon_mb: +((mb.other_anon ?? 0) + (mb.stack ?? 0) + (mb.other_named ?? 0)).toFixed(1) };
  } catch {
    return {};
  }
}

// --heap: a heap snapshot of the registry leader after the RSS fill (node --heapsnapshot-signal), summarized
async function heapOf(sys) {
  const leader = await sys.leader();
  const nodeDir = join(sys.dir, `n${leader + 1}`);
  const mem = readFileSync(`/proc/${sys.pids()[leader]}/status`, "utf8").split("\n").filter((l) => /^(VmRSS|RssAnon|RssFile|VmHWM)/.test(l)).join("; ");
  process.kill(sys.pids()[leader], "SIGUSR2");
  const file = await until("the heap snapshot", async () => {
    const f = readdirSync(nodeDir).find((x) => x.endsWith(".heapsnapshot"));
    if (!f) return undefined;
    const size = statSync(join(nodeDir, f)).size; await sleep(2000);
    return statSync(join(nodeDir, f)).size === size && size > 0 ? join(nodeDir, f) : undefined;
  }, 180_000);
  const { heapSummary } = await import("./heap-summary.mjs");
  const summary = heapSummary(file, 20);
  log(`heap of registry leader: ${mem}; V8 heap self total ${summary.totalMb} MB; top ${JSON.stringify(summary.rows.slice(0, 8))}`);
  return { proc: mem, ...summary };
}

// ---- report
results.summary = summarize(results.runs);
const text = report(results);
console.log(text);
const outFile = o.out ?? join(here, "results", `compare-etcd-${q ? "quick-" : ""}${results.started.replace(/[:.]/g, "-")}.json`);
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(results, null, 2));
writeFileSync(outFile.replace(/\.json$/, ".md"), text);
log(`wrote ${outFile} (+ .md)`);
if (!o["keep-dir"]) rmSync(base, { recursive: true, force: true });

function avgOf(wal, k) {
  const xs = (wal ?? []).map((w) => w?.[k]).filter((x) => typeof x === "number");
  return xs.length ? +(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2) : null;
}
function summarize(runs) {
  const s = {};
  for (const [name, r] of Object.entries(runs)) {
    const m = (phase, f) => median(r[phase].map(f));
    const phaseSummary = (phase) => r[phase].length ? {
      ops_per_s: m(phase, (x) => x.ops_per_s), p50_ms: m(phase, (x) => x.p50_ms), p99_ms: m(phase, (x) => x.p99_ms), errors: r[phase].reduce((a, x) => a + x.errors, 0),
      client_cores: m(phase, (x) => x.cpu.client_cores), client_cpu_ms_per_op: m(phase, (x) => x.cpu.client_cpu_ms_per_op),
      server_cpu_ms_per_op: m(phase, (x) => x.cpu.server_cpu_ms_per_op), server_sleeps_per_op: m(phase, (x) => x.cpu.server_sleeps_per_op), server_preemptions_per_op: m(phase, (x) => x.cpu.server_preemptions_per_op), server_cores: m(phase, (x) => x.cpu.server_cores.reduce((a, b) => a + b, 0)),
      leader_max_cores: m(phase, (x) => Math.max(...x.cpu.server_cores)), other_cores: m(phase, (x) => x.cpu.other_cores), runs: r[phase].length,
      entries_per_fsync: m(phase, (x) => avgOf(x.wal, "entries_per_fsync")), fsync_ms: m(phase, (x) => avgOf(x.wal, "fsync_mean_ms")), fsyncs_per_s: m(phase, (x) => (x.wal ? avgOf(x.wal, "fsyncs") / x.seconds : null)),
    } : null;
    const fo = r.failover.map((x) => x.unavailable_ms);
    s[name] = {
      "seq-put": phaseSummary("seq-put"), put: phaseSummary("put"), get: phaseSummary("get"),
      failover: fo.length ? { p50_ms: median(fo), max_ms: Math.max(...fo.filter((x) => x !== null)), failed: fo.filter((x) => x === null).length, trials: fo.length, client_cores: median(r.failover.map((x) => x.cpu.client_cores)), other_cores: median(r.failover.map((x) => x.cpu.other_cores)) } : null,
      rss: r.rss,
    };
  }
  return s;
}

function report(res) {
  const e = res.summary.etcd, g = res.summary.registry;
  const L = [];
  L.push(`# registry vs etcd (${res.started}${q ? ", QUICK" : ""})`, "");
  L.push(`runs ${cfg.runs} (medians), ${cfg.duration} s per closed-loop phase, ${cfg.clients} clients, seq-put n=${cfg.seqN}, ${cfg.warmup > 0 ? `warm-up ${cfg.warmup} sequential puts per system (not counted)` : "no warm-up (cold)"}, kills ${cfg.kills}, RSS at ${cfg.rssKeys} keys; registry via ${res.registry_entry}${nodeFlags.length ? ` (node ${nodeFlags.join(" ")})` : ""}${o["node-env"] ? ` (env ${o["node-env"]})` : ""}${o.baseline !== undefined || o["baseline-flags"] !== "" || o["baseline-env"] !== "" ? `; baseline ${o.baseline ?? "same build"}${o["baseline-flags"] ? ` + ${o["baseline-flags"]}` : ""}${o["baseline-env"] ? ` (env ${o["baseline-env"]})` : ""}` : ""}, tick ${res.tick_ms}; requests to ${o.target === "leader" ? "the leader only" : "all 3 members round-robin"}; ${pin ? "load generator pinned to CPU 0, all servers to CPU 1 (taskset)" : "no CPU pinning"}; machine ${cpus().length} cores.`, "");
  L.push("CPU columns: `gen` = load generator cores; `srv ms/op` = CPU-ms of all 3 server processes per operation; `srv sleeps / preemptions per op` = voluntary / involuntary context switches of all their threads per operation; `gen ms/op` = load generator CPU-ms per op; `other` = cores used by other tasks on the machine during the phase (noise).", "");
  const ratio = (a, b) => (a != null && b ? (a / b).toFixed(2) : "–");
  const row = (label, name, x) => x ? `| ${label} | ${name} | ${x.ops_per_s} | ${x.p50_ms} | ${x.p99_ms} | ${x.errors} | ${x.client_cores} | ${x.srv ?? x.server_cpu_ms_per_op} | ${x.server_sleeps_per_op ?? "–"} / ${x.server_preemptions_per_op ?? "–"} | ${x.client_cpu_ms_per_op} | ${x.leader_max_cores} | ${x.other_cores} | ${x.fsyncs_per_s == null ? "–" : Math.round(x.fsyncs_per_s)} | ${x.entries_per_fsync ?? "–"} | ${x.fsync_ms ?? "–"} |` : `| ${label} | ${name} | – |`;
  L.push("WAL columns (mean over the 3 nodes, from each system's /metrics): fsyncs/s per node, entries (etcd: committed proposals) per fsync, mean fsync (ours: whole WAL save of a Ready) ms.", "");
  L.push("| phase | system | ops/s | p50 ms | p99 ms | errors | gen cores | srv ms/op | srv sleeps / preemptions per op | gen ms/op | busiest node cores | other cores | fsyncs/s | entries/fsync | fsync ms |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const [phase, label] of [["seq-put", "sequential put"], ["put", `put ×${cfg.clients}`], ["get", `linearizable get ×${cfg.clients}`]]) {
    if (e?.[phase]) L.push(row(label, "etcd", e[phase]));
    if (g?.[phase]) L.push(row(label, "registry", g[phase]));
    const b = res.summary.baseline;
    if (b?.[phase]) L.push(row(label, "baseline", b[phase]));
    if (b?.[phase] && g?.[phase]) L.push(`| ${label} | **ratio reg/baseline** | ${ratio(g[phase].ops_per_s, b[phase].ops_per_s)} | ${ratio(g[phase].p50_ms, b[phase].p50_ms)} | ${ratio(g[phase].p99_ms, b[phase].p99_ms)} | | | ${ratio(g[phase].server_cpu_ms_per_op, b[phase].server_cpu_ms_per_op)} | ${ratio(g[phase].server_sleeps_per_op, b[phase].server_sleeps_per_op)} | | | | | | |`);
    if (e?.[phase] && g?.[phase]) L.push(`| ${label} | **ratio reg/etcd** | ${ratio(g[phase].ops_per_s, e[phase].ops_per_s)} | ${ratio(g[phase].p50_ms, e[phase].p50_ms)} | ${ratio(g[phase].p99_ms, e[phase].p99_ms)} | | ${ratio(g[phase].client_cores, e[phase].client_cores)} | ${ratio(g[phase].server_cpu_ms_per_op, e[phase].server_cpu_ms_per_op)} | ${ratio(g[phase].server_sleeps_per_op, e[phase].server_sleeps_per_op)} | ${ratio(g[phase].client_cpu_ms_per_op, e[phase].client_cpu_ms_per_op)} | | | | | |`);
  }
  L.push("");
  if (e?.failover || g?.failover) {
    L.push("| failover (SIGKILL leader) | p50 ms | max ms | no recovery | trials | gen cores | other cores |", "|---|---|---|---|---|---|---|");
    for (const [n, x] of [["etcd", e], ["registry", g], ["baseline", res.summary.baseline]]) if (x?.failover) L.push(`| ${n} | ${x.failover.p50_ms} | ${x.failover.max_ms} | ${x.failover.failed} | ${x.failover.trials} | ${x.failover.client_cores} | ${x.failover.other_cores} |`);
    for (const n of ["etcd", "registry"]) if (res.runs[n]?.failover_restart_error) L.push("", `**${n}: ${res.runs[n].failover_restart_error}**`);
    L.push("");
  }
  if (e?.rss || g?.rss) {
    L.push("| RSS after load | keys | RSS MB per node | max MB | data dir MB (3 nodes) | fill ops/s | fill gen cores |", "|---|---|---|---|---|---|---|");
    for (const [n, x] of [["etcd", e], ["registry", g], ["baseline", res.summary.baseline]]) if (x?.rss) L.push(`| ${n} | ${x.rss.keys} | ${x.rss.rss_mb.join(" / ")}${x.rss.rss_mb_settled ? ` (after ${x.rss.settle_s} s idle: ${x.rss.rss_mb_settled.join(" / ")})` : ""} | ${x.rss.max_mb}${x.rss.max_mb_settled ? ` (${x.rss.max_mb_settled})` : ""} | ${x.rss.data_dir_mb} | ${x.rss.fill.ops_per_s} | ${x.rss.fill.cpu.client_cores} |`);
    if (g?.rss && res.runs.registry.heap) {
      const h = res.runs.registry.heap;
      L.push("", `registry leader after the fill: ${h.proc}; V8 heap (self sizes) ${h.totalMb} MB:`, "", "| kind | count | MB |", "|---|---|---|");
      for (const r of h.rows) L.push(`| ${r.name.slice(0, 60).replace(/\|/g, "/")} | ${r.count} | ${r.mb} |`);
    }
    L.push("");
  }
  if (e && g) {
    const goal = (name, ok, detail) => L.push(`| ${name} | ${ok === null ? "n/a" : ok ? "PASS" : "MISS"} | ${detail} |`);
    L.push("| goal | result | figures |", "|---|---|---|");
    if (e.put && g.put) {
      goal(`put throughput ≥ etcd's (×${cfg.clients})`, g.put.ops_per_s >= e.put.ops_per_s, `${g.put.ops_per_s} vs ${e.put.ops_per_s} ops/s (${ratio(g.put.ops_per_s, e.put.ops_per_s)}×)`);
      goal(`put p99 ≤ etcd's (×${cfg.clients})`, g.put.p99_ms <= e.put.p99_ms, `${g.put.p99_ms} vs ${e.put.p99_ms} ms`);
    }
    if (e["seq-put"] && g["seq-put"]) goal("sequential put p99 ≤ etcd's", g["seq-put"].p99_ms <= e["seq-put"].p99_ms, `${g["seq-put"].p99_ms} vs ${e["seq-put"].p99_ms} ms`);
    if (g.failover) goal("failover < 1 s p50", g.failover.p50_ms !== null && g.failover.p50_ms < 1000, `${g.failover.p50_ms} ms (etcd ${e.failover?.p50_ms} ms)`);
    if (g.rss) goal(`RSS < 150 MB/node with 100k keys`, cfg.rssKeys >= 100_000 ? g.rss.max_mb < 150 : null, `${g.rss.max_mb} MB at ${g.rss.keys} keys (etcd ${e.rss?.max_mb} MB)${cfg.rssKeys < 100_000 ? " — fewer than 100k keys, no verdict" : ""}`);
    L.push("");
  }
  if (res.profile) L.push(res.profile.text, "");
  if (res.error) L.push(`**stopped early:** ${res.error.split("\n")[0]}`, "");
  return L.join("\n");
}

// ---- profile: a fresh registry cluster with every node under --cpu-prof, the put load, graceful stop,
// then a self-time breakdown of the leader's profile.
async function profileRegistry() {
  log("profile: fresh registry cluster under --cpu-prof");
  const sys = await registryCluster({ name: "registry", tag: "registry-prof", nodeArgs: ["--cpu-prof", "--cpu-prof-dir=%DIR%/prof"] });
  let leader;
  try {
    leader = await sys.leader();
    const res = await load(sys, { mode: "put", clients: cfg.clients, duration: Math.max(cfg.duration, 10) });
    log(`profile put load: ${res.ops_per_s} ops/s p99 ${res.p99_ms} cpu ${JSON.stringify(res.cpu)}`);
    const leaderNow = await sys.leader();
    if (leaderNow !== leader) log(`leader changed during profiling (${leader + 1} → ${leaderNow + 1})`);
    await sys.stop();
    // Every node's profile is kept (the followers' for reading by hand); the leader's is analysed.
    const stamp = Date.now();
    let keep = "";
    for (let n = 0; n < 3; n++) {
      const profDir = join(sys.dir, `n${n + 1}`, "prof");
      const file = join(profDir, readdirSync(profDir).find((f) => f.endsWith(".cpuprofile")));
      const kept = join(here, "results", `registry-${n === leader ? "leader" : `follower-n${n + 1}`}-${stamp}.cpuprofile`);
      mkdirSync(dirname(kept), { recursive: true });
      writeFileSync(kept, readFileSync(file));
      if (n === leader) keep = kept;
    }
    return { load: res, file: keep, ...analyzeProfile(JSON.parse(readFileSync(keep, "utf8")), res) };
  } finally {
    await sys.stop().catch(() => undefined);
  }
}

function analyzeProfile(prof, loadRes) {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const dt = new Map(); // node id -> self µs
  for (let i = 0; i < prof.samples.length; i++) dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const total = [...dt.values()].reduce((a, b) => a + b, 0);
  const short = (url) => url.replace(/^file:\/\//, "").replace(repo + "/", "").replace(/.*node_modules\//, "nm:");
  const fnName = (n) => `${n.callFrame.functionName || "(anon)"} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  // self time per function
  const self = new Map();
  for (const [id, us] of dt) { const n = byId.get(id); const k = fnName(n); self.set(k, (self.get(k) ?? 0) + us); }
  // categories by walking up to the first frame that names one
  const cat = (n) => {
    const f = n.callFrame.functionName, u = n.callFrame.url;
    if (f === "(garbage collector)") return "GC";
    if (f === "(idle)") return "idle";
    if (/fdatasync|fsyncSync/i.test(f)) return "fsync (sync, main thread)";
    if (/writeSync|writevSync/.test(f)) return "WAL write (sync)";
    if (/crc32c/.test(u)) return "CRC32C";
    if (/wal|durable-storage|snapshot-file/.test(u)) return "WAL/storage (JS)";
    if (/@grpc|http2/.test(u)) return "gRPC transport (grpc-js, http2)";
    if (/raft-message-codec|json-bytes|grpc-raft-transport/.test(u)) return "raft message codec/transport";
    if (/_http_|node:http\b|llhttp/.test(u) || f === "parserOnHeadersComplete" || f === "parserOnBody") return "HTTP server (node:http)";
    if (/libs\/raft|@meshwork\/raft|raft\/dist/.test(u)) return "raft core";
    if (/apps\/registry\/(src|dist)\/http/.test(u)) return "Consul API routes";
    if (/registry-state|encode-command|state\//.test(u)) return "state machine";
    if (/registry-node|replicated-state|registry-state-machine/.test(u)) return "registry node (Ready loop)";
    if (/telemetry|prom-client|pino/.test(u)) return "telemetry/logging";
    if (/^(stringify|parse)$/.test(f) && !u) return "JSON (native)";
    if (/^node:net|^node:internal\/stream|stream_base/.test(u) || /^(writeGeneric|writev|onStreamRead)$/.test(f)) return "sockets/streams";
    return null;
  };
  const catOf = new Map();
  const catFor = (id) => {
    if (catOf.has(id)) return catOf.get(id);
    const n = byId.get(id);
    let c = cat(n);
    if (c === null) c = parent.has(id) ? catFor(parent.get(id)) : (n.callFrame.functionName === "(program)" ? "(program: native/unattributed)" : "other");
    catOf.set(id, c);
    return c;
  };
  // categories are assigned by the innermost frame that names one (self time of fdatasync → fsync,
  // JSON.stringify under raft-message-codec → JSON (native) — the inner frame wins)
  const cats = new Map();
  for (const [id, us] of dt) { const c = catFor(id); cats.set(c, (cats.get(c) ?? 0) + us); }
  // inclusive time of selected frames (counted once per sample stack)
  const inclusive = (pred) => {
    let sum = 0;
    for (const [id, us] of dt) { let cur = id; while (cur !== undefined) { if (pred(byId.get(cur))) { sum += us; break; } cur = parent.get(cur); } }
    return sum;
  };
  const incl = {
    "storage.save (WAL append+fsync)": inclusive((n) => n.callFrame.functionName === "save" && /durable-storage/.test(n.callFrame.url)),
    "fdatasync": inclusive((n) => /fdatasync/i.test(n.callFrame.functionName)),
    "transport.send (gRPC out)": inclusive((n) => n.callFrame.functionName === "send" && /grpc-raft-transport/.test(n.callFrame.url)),
    "JSON.stringify": inclusive((n) => n.callFrame.functionName === "stringify" && !n.callFrame.url),
    "JSON.parse": inclusive((n) => n.callFrame.functionName === "parse" && !n.callFrame.url),
    "http request handling (Consul API)": inclusive((n) => /apps\/registry\/(src|dist)\/http/.test(n.callFrame.url)),
    "raft core": inclusive((n) => /libs\/raft/.test(n.callFrame.url)),
    "GC": inclusive((n) => n.callFrame.functionName === "(garbage collector)"),
  };
  const pct = (us) => ((us / total) * 100).toFixed(1) + "%";
  const ops = loadRes?.count ?? 0;
  const busyUs = total - (cats.get("idle") ?? 0);
  const L = [];
  L.push(`## registry leader CPU profile under put ×${cfg.clients}`, "");
  if (loadRes?.wal) L.push(`WAL during the profiled load (per node): ${JSON.stringify(loadRes.wal)}; load generator ${JSON.stringify(loadRes.cpu)}`, "");
  L.push(`profile span ${(total / 1e6).toFixed(1)} s (whole process life incl. startup), busy (non-idle) ${(busyUs / 1e6).toFixed(1)} s; load ${ops} puts at ${loadRes?.ops_per_s} ops/s → ≈ ${ops ? ((busyUs / 1000) / ops).toFixed(3) : "?"} leader-CPU-ms per put (upper bound: includes startup).`, "");
  L.push("| category (innermost frame wins) | self time | share |", "|---|---|---|");
  for (const [c, us] of [...cats].sort((a, b) => b[1] - a[1])) L.push(`| ${c} | ${(us / 1000).toFixed(0)} ms | ${pct(us)} |`);
  L.push("", "| inclusive | time | share |", "|---|---|---|");
  for (const [k, us] of Object.entries(incl)) L.push(`| ${k} | ${(us / 1000).toFixed(0)} ms | ${pct(us)} |`);
  L.push("", "| top self-time functions | ms | share |", "|---|---|---|");
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) L.push(`| \`${k}\` | ${(us / 1000).toFixed(0)} | ${pct(us)} |`);
  return { text: L.join("\n"), categories: Object.fromEntries([...cats].map(([k, v]) => [k, Math.round(v / 1000)])), inclusive_ms: Object.fromEntries(Object.entries(incl).map(([k, v]) => [k, Math.round(v / 1000)])) };
}
