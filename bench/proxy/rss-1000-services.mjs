#!/usr/bin/env node
// bench/proxy: idle memory of the built sidecar serving a mesh of N services (default 1,000).
// Generates a standalone config dir — N ServiceEntries (STATIC, 3 versioned endpoints, http +
// grpc ports) plus a VirtualService (header match, weighted subsets, retries, timeouts) and a
// DestinationRule (subsets, LB, connection pool, outlier detection) for every 4th service —
// starts the sidecar's bundled build `apps/sidecar/dist/bundle/main.js` (what the launcher runs;
// `--sidecar FILE` measures another build, e.g. the per-file `apps/sidecar/dist/main.js`) on it with every listener open (outbound, inbound, admin,
// stats, as in a pod), waits until `/healthz/ready` answers 200 on the stats port, lets it settle,
// then reads VmRSS (and PSS, and VmHWM: the peak, reached while the config loads) from /proc. Each
// figure is the median of --runs fresh starts.
// Beside it, the floors: a bare Node http server, and the sidecar with the 1-service bench config.
// Goal (issue 3): RSS ≤ 60 MB idle with 1,000 services configured. A figure, not a test.
// --warm N: before settling, send N requests through each sidecar's outbound listener (Host: its own
// stats port, so the PassthroughCluster serves them), so that the request path is compiled by
// TurboFan as in a sidecar that serves traffic: an idle sidecar that never served a request has
// not touched the compiler's pages of the node binary unless loading its config made code hot.
// --baseline FILE: also measure another build (e.g. a bundle of HEAD made before a change:
// `node apps/sidecar/bundle-sidecar.mjs --outdir /tmp/before`) in the same sitting, its starts
// alternating with the sidecar's, so that a change and its baseline share the machine's noise.
// Usage: node bench/proxy/rss-1000-services.mjs [--services 1000] [--runs 3] [--settle 5] [--json] [--node-flags="…"]
//        [--sidecar FILE] [--baseline FILE] [--big-only] [--no-build] [--warm N]
//        (without --sidecar it first bundles the current sources: node apps/sidecar/bundle-sidecar.mjs, ~2 s;
//        --no-build measures the bundle as it is)
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { tsImport } from "tsx/esm/api";
import { stringify } from "yaml";

// The shebang's flags are read as meshctl reads them (apps/meshctl/src/core/launcher-node-flags.ts).
const { launcherNodeFlags } = await tsImport("../../apps/meshctl/src/core/launcher-node-flags.ts", import.meta.url);

const ROOT = join(import.meta.dirname, "../..");
const BENCH_CONFIG = join(import.meta.dirname, "configs");

const { values: opts } = parseArgs({
  options: {
    services: { type: "string", default: "1000" },
    runs: { type: "string", default: "3" },
    settle: { type: "string", default: "5" },
    json: { type: "boolean", default: false },
    "keep-config": { type: "boolean", default: false },
    // Node/V8 flags for the sidecar instead of those of its launcher's shebang (experiments).
    "node-flags": { type: "string" },
    // Another build of the sidecar to measure (default the bundle, apps/sidecar/dist/bundle/main.js).
    sidecar: { type: "string" },
    // Another build measured in the same sitting, alternating with the sidecar (A/B of a change).
    baseline: { type: "string" },
    // Skip the bare-Node and 1-service series (quick A/B of the 1,000-service line).
    "big-only": { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    warm: { type: "string", default: "0" },
  },
});
const SIDECAR = opts.sidecar ?? join(ROOT, "apps/sidecar/dist/bundle/main.js");
const SERVICES = Number(opts.services);
const RUNS = Number(opts.runs);
const SETTLE_MS = Number(opts.settle) * 1000;
const WARM = Number(opts.warm);
const READY_TIMEOUT_MS = 60_000;
for (const [flag, value, min] of [["--services", SERVICES, 1], ["--runs", RUNS, 1], ["--settle", SETTLE_MS, 0], ["--warm", WARM, 0]]) {
  if (!Number.isInteger(value) || value < min) throw new Error(`rss-1000-services: ${flag} must be an integer ≥ ${min}, got ${value}`);
}
if (opts.sidecar === undefined && !opts["no-build"]) {
  // The bundle is built from src/ in ~2 s: measure what the sources are now.
  execFileSync(process.execPath, [join(ROOT, "apps/sidecar/bundle-sidecar.mjs")], { stdio: ["ignore", "ignore", "inherit"] });
}
if (opts.baseline !== undefined && !existsSync(opts.baseline)) {
  throw new Error(`rss-1000-services: --baseline ${opts.baseline} is missing; make one with: node apps/sidecar/bundle-sidecar.mjs --outdir DIR (then --baseline DIR/main.js)`);
}
if (!existsSync(SIDECAR)) {
  throw new Error(`rss-1000-services: ${SIDECAR} is missing; build it first: node apps/sidecar/bundle-sidecar.mjs (the per-file build: NX_NO_CLOUD=true NX_DAEMON=false NX_TUI=false npx nx build sidecar)`);
}

/** Writes the mesh of `count` services into a fresh directory (three files) and returns its path. */
function generateServicesConfig(count) {
  const entries = [];
  const virtualServices = [];
  const destinationRules = [];
  for (let i = 0; i < count; i++) {
    const name = `svc-${i}`;
    const namespace = `team-${i % 20}`;
    const host = `${name}.${namespace}.svc.cluster.local`;
    entries.push({
      apiVersion: "networking.istio.io/v1",
      kind: "ServiceEntry",
      metadata: { name, namespace },
      spec: {
        hosts: [host],
        location: "MESH_INTERNAL",
        resolution: "STATIC",
        ports: [
          { number: 8080, name: "http", protocol: "HTTP" },
          { number: 9090, name: "grpc", protocol: "GRPC" },
        ],
        endpoints: ["v1", "v2", "v3"].map((version, v) => ({
          address: `10.${(i >> 8) & 255}.${i & 255}.${v + 1}`,
          labels: { app: name, version },
          ...(v === 0 ? { locality: "region-a/zone-1" } : { locality: "region-a/zone-2" }),
        })),
      },
    });
    if (i % 4 !== 0) continue;
    virtualServices.push({
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name, namespace },
      spec: {
        hosts: [host],
        http: [
          {
            name: "canary-users",
            match: [{ headers: { "end-user": { exact: `user-${i}` } }, uri: { prefix: "/api/" } }],
            route: [{ destination: { host, subset: "v2", port: { number: 8080 } } }],
            timeout: "2s",
          },
          {
            name: "default",
            route: [
              { destination: { host, subset: "v1", port: { number: 8080 } }, weight: 90 },
              { destination: { host, subset: "v3", port: { number: 8080 } }, weight: 10 },
            ],
            retries: { attempts: 3, perTryTimeout: "500ms", retryOn: "5xx,connect-failure,reset" },
            timeout: "10s",
            headers: { request: { set: { "x-team": namespace } } },
          },
        ],
      },
    });
    destinationRules.push({
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: { name, namespace },
      spec: {
        host,
        trafficPolicy: {
          loadBalancer: { simple: "LEAST_REQUEST" },
          connectionPool: { tcp: { maxConnections: 100, connectTimeout: "1s" }, http: { http1MaxPendingRequests: 64, maxRequestsPerConnection: 100 } },
          outlierDetection: { consecutive5xxErrors: 5, interval: "10s", baseEjectionTime: "30s", maxEjectionPercent: 50 },
        },
        subsets: ["v1", "v2", "v3"].map((version) => ({ name: version, labels: { version } })),
      },
    });
  }
  const dir = mkdtempSync(join(tmpdir(), "bench-proxy-rss-"));
  const write = (file, docs) => writeFileSync(join(dir, file), docs.map((d) => stringify(d)).join("---\n"));
  write("service-entries.yaml", entries);
  write("virtual-services.yaml", virtualServices);
  write("destination-rules.yaml", destinationRules);
  return { dir, serviceEntries: entries.length, virtualServices: virtualServices.length, destinationRules: destinationRules.length };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function statusKb(pid, field) {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) : NaN;
}
function pssKb(pid) {
  const m = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").match(/^Pss:\s+(\d+) kB/m);
  return m ? Number(m[1]) : NaN;
}

/** `count` keep-alive GETs through the outbound listener to the sidecar's own stats port (ALLOW_ANY passthrough); throws unless they answer 200. */
async function warm(ports, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const one = () =>
    new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: ports.outbound, path: "/healthz/ready", agent, headers: { host: `localhost:${ports.stats}` } }, (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`rss-1000-services: --warm request answered ${res.statusCode}`))));
      });
      req.on("error", reject);
      req.end();
    });
  try {
    for (let i = 0; i < count; i += 4) await Promise.all([one(), one(), one(), one()]);
  } finally {
    agent.destroy();
  }
}

function httpStatus(port, path) {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/**
 * Starts node with `argv`, feeds each stdout line to `onLine(line, state)` until it returns (a
 * promise of) true, settles, samples memory, stops the process by its PID (SIGTERM, then SIGKILL).
 * Returns { rssKb, hwmKb (peak RSS so far: the config load's), pssKb, readyMs, state }.
 */
async function measureOnce(argv, onLine) {
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  let out = "";
  let readyResolve;
  let readyReject;
  const ready = new Promise((resolve, reject) => {
    readyResolve = resolve;
    readyReject = reject;
  });
  const state = { lines: [] };
  let buffered = "";
  child.stdout.on("data", (d) => {
    out += d;
    buffered += d;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      state.lines.push(line);
      new Promise((resolve) => resolve(onLine(line, state))).then((done) => done && readyResolve(), readyReject);
    }
  });
  child.stderr.on("data", (d) => (out += d));
  try {
    let timer;
    const outcome = await Promise.race([
      ready.then(() => "ready"),
      exited.then(() => "exited"),
      new Promise((resolve) => (timer = setTimeout(() => resolve("timeout"), READY_TIMEOUT_MS))),
    ]).finally(() => clearTimeout(timer));
    if (outcome !== "ready") throw new Error(`rss-1000-services: process ${outcome} before it was ready:\n${out.slice(-2000)}`);
    const readyMs = performance.now() - t0;
    if (WARM > 0 && state.ports) await warm(state.ports, WARM);
    await sleep(SETTLE_MS);
    return { rssKb: statusKb(child.pid, "VmRSS"), hwmKb: statusKb(child.pid, "VmHWM"), pssKb: pssKb(child.pid), readyMs, state };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
    }
  }
}

/** The sidecar's JSON log → ready once "sidecar started" named the stats port and /healthz/ready says 200. */
function sidecarReadiness(line, state) {
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return false;
  }
  if (entry.msg === "config applied") state.applied = entry;
  if (entry.msg !== "sidecar started") return false;
  const statsPort = entry.ports?.stats;
  if (!statsPort) throw new Error(`rss-1000-services: "sidecar started" names no stats port: ${line}`);
  state.ports = entry.ports;
  return (async () => {
    for (const deadline = performance.now() + READY_TIMEOUT_MS; performance.now() < deadline; await sleep(100)) {
      if ((await httpStatus(statsPort, "/healthz/ready")) === 200) return true;
    }
    return false;
  })();
}

/** The V8 flags the sidecar's launcher sets in its shebang (`#!/usr/bin/env -S node FLAGS`), so the bench measures what users run. */
function shebangNodeFlags(file) {
  return launcherNodeFlags(readFileSync(file, "utf8"));
}

function sidecarArgs(configDir, file = SIDECAR) {
  return [
    ...(opts["node-flags"] !== undefined ? opts["node-flags"].split(/\s+/).filter(Boolean) : shebangNodeFlags(file)),
    file,
    "--config", configDir,
    "--outbound-port", "0", "--inbound-port", "0", "--app-port", "18080",
    "--admin-port", "0", "--stats-port", "0",
    "--namespace", "team-0", "--labels", "app=svc-0,version=v1",
    "--access-log", "off", "--drain-seconds", "0",
  ];
}

const FLOOR_SERVER = `require("node:http").createServer((q, s) => s.end("ok")).listen(0, "127.0.0.1", () => console.log("listening"));`;

const median = (xs) => {
  const a = xs.filter(Number.isFinite).sort((x, y) => x - y);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};

/**
 * Starts each of `variants` ({ label, argv }) RUNS times, one start of each in turn (A B A B …:
 * a change and its baseline see the same moments of a noisy machine); one summary per variant.
 */
async function series(variants, onLine, check) {
  const samples = variants.map(() => []);
  for (let r = 0; r < RUNS; r++) {
    for (const [i, { label, argv }] of variants.entries()) {
      const s = await measureOnce(argv, onLine);
      check?.(s);
      samples[i].push(s);
      if (!opts.json) process.stderr.write(`  ${label} run ${r + 1}: VmRSS ${(s.rssKb / 1024).toFixed(1)} MB, peak ${(s.hwmKb / 1024).toFixed(1)} MB, PSS ${(s.pssKb / 1024).toFixed(1)} MB, ready in ${s.readyMs.toFixed(0)} ms\n`);
    }
  }
  return variants.map(({ label }, i) => summarize(label, samples[i]));
}

function summarize(label, samples) {
  return {
    label,
    runs: RUNS,
    rss_idle_mb: +(median(samples.map((s) => s.rssKb)) / 1024).toFixed(1),
    pss_idle_mb: +(median(samples.map((s) => s.pssKb)) / 1024).toFixed(1),
    rss_peak_mb: +(median(samples.map((s) => s.hwmKb)) / 1024).toFixed(1),
    ready_ms: +median(samples.map((s) => s.readyMs)).toFixed(0),
    rss_samples_mb: samples.map((s) => +(s.rssKb / 1024).toFixed(1)),
    ...(samples[0]?.state.applied ? { services_applied: samples[0].state.applied.services, clusters_applied: samples[0].state.applied.clusters } : {}),
  };
}

const mesh = generateServicesConfig(SERVICES);
try {
  if (!opts.json) {
    process.stderr.write(`rss: ${mesh.serviceEntries} ServiceEntries, ${mesh.virtualServices} VirtualServices, ${mesh.destinationRules} DestinationRules in ${mesh.dir}; ${RUNS} starts each, settle ${SETTLE_MS / 1000} s\n`);
  }
  const baseline = opts.baseline;
  /** The sidecar (and the baseline, when given) on `configDir`. */
  const builds = (label, configDir) => [
    { label, argv: sidecarArgs(configDir) },
    ...(baseline !== undefined ? [{ label: `${label}, baseline`, argv: sidecarArgs(configDir, baseline) }] : []),
  ];
  const [floor] = opts["big-only"] ? [] : await series([{ label: "bare node:http server", argv: ["-e", FLOOR_SERVER] }], (line) => line === "listening");
  const [small, baselineSmall] = opts["big-only"] ? [] : await series(builds("sidecar, 1 service (bench config)", BENCH_CONFIG), sidecarReadiness);
  const [big, baselineBig] = await series(builds(`sidecar, ${SERVICES} services`, mesh.dir), sidecarReadiness, (s) => {
    const services = s.state.applied?.services;
    if (services !== undefined && services < SERVICES) {
      throw new Error(`rss-1000-services: the sidecar applied only ${services} of ${SERVICES} services; see its log:\n${s.state.lines.slice(-20).join("\n")}`);
    }
  });
  const result = {
    date: new Date().toISOString(),
    services: SERVICES,
    settle_s: SETTLE_MS / 1000,
    warm_requests: WARM,
    goal_mb: 60,
    floor,
    small,
    big,
    ...(baseline !== undefined ? { baseline: { file: baseline, small: baselineSmall, big: baselineBig } } : {}),
  };
  if (opts.json) {
    console.log(JSON.stringify(result));
  } else {
    console.log(`\nIdle memory (median of ${RUNS} starts, after ready${WARM > 0 ? ` + ${WARM} requests through each sidecar` : ""} + ${SETTLE_MS / 1000} s settle)\n`);
    console.log("| process | VmRSS MB | PSS MB | peak (VmHWM) MB | ready after ms | samples (RSS MB) |");
    console.log("|---|---|---|---|---|---|");
    for (const s of [floor, small, baselineSmall, big, baselineBig].filter((x) => x !== undefined)) console.log(`| ${s.label} | ${s.rss_idle_mb} | ${s.pss_idle_mb} | ${s.rss_peak_mb} | ${s.ready_ms} | ${s.rss_samples_mb.join(", ")} |`);
    console.log(`\nGoal: RSS ≤ 60 MB idle with ${SERVICES} services: ${big.rss_idle_mb <= 60 ? "PASS" : "MISS"} (${big.rss_idle_mb} MB; ` +
      (small && floor ? `${(big.rss_idle_mb - small.rss_idle_mb).toFixed(1)} MB for the services, ${(small.rss_idle_mb - floor.rss_idle_mb).toFixed(1)} MB sidecar code over a bare Node server, ${floor.rss_idle_mb} MB Node itself)` : "the 1,000-service line only)"));
    if (baselineBig) console.log(`Against the baseline (${baseline}): ${(big.rss_idle_mb - baselineBig.rss_idle_mb).toFixed(1)} MB with ${SERVICES} services` + (small && baselineSmall ? `, ${(small.rss_idle_mb - baselineSmall.rss_idle_mb).toFixed(1)} MB with 1` : ""));
  }
} finally {
  if (opts["keep-config"]) process.stderr.write(`config kept in ${mesh.dir}\n`);
  else rmSync(mesh.dir, { recursive: true, force: true });
}
