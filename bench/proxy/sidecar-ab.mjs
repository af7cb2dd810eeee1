#!/usr/bin/env node
// bench/proxy/sidecar-ab.mjs: two sidecars — two bundles, or one bundle under two sets of Node
// flags or environment — measured AT THE SAME TIME, fresh processes every round, so the machine's
// swings (other tenants, and the same build reading 26 or 39 µs/req from one minute to the next)
// hit both alike. Each round starts A and B on the outbound path (Host-based routing, as
// run.mjs's sidecar-outbound) in front of one shared upstream (the lab's upstream.js, tuned); the
// sidecars and the upstream are pinned to SERVER_CPU, one `wrk -c CONNS` per sidecar to LOAD_CPU,
// both at once: warm-up, then the measured window. CPU µs per request = utime + stime of each
// sidecar (/proc) over the requests its wrk completed. A and B swap ports every round. Prints each
// round's figures and B/A, then the median B/A: rounds of one build against itself agree within
// ~3 % here, where run.mjs's interleaved runs of one build differ by 10-30 %.
// A figure, not a test: nothing here asserts.
//
//   node bench/proxy/sidecar-ab.mjs --a DIR_OR_MAIN [--b DIR_OR_MAIN] [--a-flags "..."] [--b-flags "..."]
//        [--a-env "K=V K=V"] [--b-env "K=V"] [--rounds 6] [--seconds 6] [--warmup 3] [--conns 25]
// A bundle is a directory holding main.js (apps/sidecar/bundle-sidecar.mjs --outdir DIR) or the
// main.js itself; --b defaults to --a, which defaults to apps/sidecar/dist/bundle (`npx nx build
// sidecar`). Each sidecar runs under its launcher's Node flags (the bundle's shebang), then its
// --x-flags. Examples:
//   node apps/sidecar/bundle-sidecar.mjs --outdir /tmp/before     # before a change; after it:
//   node apps/sidecar/bundle-sidecar.mjs --outdir /tmp/after && node bench/proxy/sidecar-ab.mjs --a /tmp/before --b /tmp/after
//   node bench/proxy/sidecar-ab.mjs --b-flags "--max-semi-space-size=4"
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { tsImport } from "tsx/esm/api";
import { envAssignments } from "../env-assignments.mjs";
import { cpuTicks } from "../proc-cpu.mjs";

const { launcherNodeFlags } = await tsImport("../../apps/meshctl/src/core/launcher-node-flags.ts", import.meta.url);

const ROOT = resolve(import.meta.dirname, "../..");
const LAB = resolve(process.env.PROXY_LAB ?? join(ROOT, "../shared/peers/proxy-lab"));
const LOAD_CPU = process.env.LOAD_CPU ?? "0";
const SERVER_CPU = process.env.SERVER_CPU ?? "1";
const UPSTREAM_PORT = 27080;
const PORTS = [27001, 27002];
const { values: o } = parseArgs({
  options: {
    a: { type: "string", default: join(ROOT, "apps/sidecar/dist/bundle") },
    b: { type: "string" },
    "a-flags": { type: "string", default: "" },
    "b-flags": { type: "string", default: "" },
    "a-env": { type: "string", default: "" },
    "b-env": { type: "string", default: "" },
    rounds: { type: "string", default: "6" },
    seconds: { type: "string", default: "6" },
    warmup: { type: "string", default: "3" },
    conns: { type: "string", default: "25" },
  },
});

/** The main.js of a bundle given as its directory or as the file. */
function mainOf(path) {
  const full = resolve(path);
  const main = existsSync(full) && statSync(full).isDirectory() ? join(full, "main.js") : full;
  if (!existsSync(main)) throw new Error(`bench/proxy/sidecar-ab: no sidecar bundle at ${main}; build one with \`npx nx build sidecar\` or \`node apps/sidecar/bundle-sidecar.mjs --outdir DIR\``);
  return main;
}

/** A side's main.js, its Node flags (the launcher's, then the given ones) and its extra environment. */
function side(main, flags, env, envOption) {
  return { main, nodeFlags: [...launcherNodeFlags(readFileSync(main, "utf8")), ...flags.split(/\s+/).filter(Boolean)], env: envAssignments(env, envOption) };
}
const sides = [side(mainOf(o.a), o["a-flags"], o["a-env"], "--a-env"), side(mainOf(o.b ?? o.a), o["b-flags"], o["b-env"], "--b-env")];
const work = mkdtempSync(join(tmpdir(), "sidecar-ab-"));
writeFileSync(join(work, "bench.yaml"), readFileSync(join(ROOT, "bench/proxy/configs/bench.yaml"), "utf8").replaceAll("18080", String(UPSTREAM_PORT)));

const children = new Set();
function startPinned(args, env = {}) {
  const child = spawn("taskset", ["-c", SERVER_CPU, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}
function stop(child) {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once("exit", () => done());
    child.kill("SIGTERM");
  });
}

async function waitHttp(port) {
  for (let i = 0; i < 300; i++) {
    try {
      execFileSync("curl", ["-sf", "-o", "/dev/null", `http://127.0.0.1:${port}/`], { stdio: "ignore" });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`bench/proxy/sidecar-ab: nothing answers on ${port}`);
}

/** wrk against `port` for `seconds` on LOAD_CPU; resolves with the requests it completed and its non-2xx count. */
function wrk(port, seconds) {
  return new Promise((done, fail) => {
    const child = spawn("taskset", ["-c", LOAD_CPU, "wrk", "-t1", `-c${o.conns}`, `-d${seconds}s`, "--timeout", "5s", `http://127.0.0.1:${port}/`], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.once("exit", (code) => {
      const requests = /(\d+) requests in/.exec(out);
      if (code !== 0 || !requests) return fail(new Error(`wrk on ${port} failed (exit ${code}): ${out}`));
      done({ requests: Number(requests[1]), non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) });
    });
  });
}

const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};

startPinned([process.execPath, join(LAB, "upstream.js")], { PORT: String(UPSTREAM_PORT), MODE: "tuned" });
const ratios = [];
const perSide = { A: [], B: [] };
try {
  console.log(`A: node ${sides[0].nodeFlags.join(" ")} ${sides[0].main} ${o["a-env"]}`);
  console.log(`B: node ${sides[1].nodeFlags.join(" ")} ${sides[1].main} ${o["b-env"]}`);
  for (let round = 1; round <= Number(o.rounds); round++) {
    const ports = round % 2 === 1 ? PORTS : [...PORTS].reverse();
    const running = sides.map(({ main, nodeFlags, env }, i) => ({
      port: ports[i],
      proc: startPinned(
        [process.execPath, ...nodeFlags, main, "--config", work, "--outbound-port", String(ports[i]), "--inbound-port=-1",
          "--admin-port=-1", "--stats-port=-1", "--access-log", "off", "--trace-sampling", "1", "--concurrency", "1", "--drain-seconds", "0"],
        env,
      ),
    }));
    for (const r of running) await waitHttp(r.port);
    await Promise.all(running.map((r) => wrk(r.port, o.warmup)));
    // taskset execs, so each child's pid is the sidecar's own.
    const before = running.map((r) => cpuTicks(r.proc.pid));
    const results = await Promise.all(running.map((r) => wrk(r.port, o.seconds)));
    const after = running.map((r) => cpuTicks(r.proc.pid));
    await Promise.all(running.map((r) => stop(r.proc)));
    const us = running.map((_, i) => ((after[i] - before[i]) * 10_000) / results[i].requests);
    perSide.A.push(us[0]);
    perSide.B.push(us[1]);
    ratios.push(us[1] / us[0]);
    const errors = results.some((r) => r.non2xx > 0) ? `  non-2xx A ${results[0].non2xx} B ${results[1].non2xx}` : "";
    console.log(`round ${round}: A ${us[0].toFixed(1)} µs/req (${results[0].requests} req)  B ${us[1].toFixed(1)} µs/req (${results[1].requests} req)  B/A ${(us[1] / us[0]).toFixed(3)}${errors}`);
  }
  console.log(`median: A ${median(perSide.A).toFixed(1)} µs/req, B ${median(perSide.B).toFixed(1)} µs/req, B/A ${median(ratios).toFixed(3)} over ${ratios.length} rounds (per round ${ratios.map((r) => r.toFixed(3)).join(", ")})`);
} finally {
  await Promise.all([...children].map(stop));
  rmSync(work, { recursive: true, force: true });
}
