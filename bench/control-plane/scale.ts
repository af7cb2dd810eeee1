// bench/control-plane/scale: the control plane at mesh scale (issue 8 "Scale benchmark",
// docs/design/config-push.md). A figure, not a test: nothing here asserts; the goals are printed
// as PASS/MISS.
//
// Real processes, as the tests run them (node --import tsx, sources): 1 or 3 registry nodes
// (apps/registry), the control plane (apps/control-plane) on them, and a SEPARATE proxy simulator
// (proxies.ts): N proxies, each its own gRPC connection and StreamConfig stream, ACKing every
// response. The mesh: S services in 10 namespaces, 2 instances each, 100 VirtualServices (each
// routes 90/10 to its service and the next one), proxy j = the workload of service j's first
// instance. After every proxy holds its full state, each run changes, in turn:
//   vs        one VirtualService (a registry KV write, the way `meshctl apply` ends)
//   endpoint  one endpoint: one instance deregistered / registered again (alternating)
//   100       100 VirtualServices at once (two registry transactions of ≤ 64 ops, sent together)
// and measures, from the moment the write is sent until the last proxy ACKs (debounce included):
// per affected proxy (one that got a response) the time of its last ACK → p50/p99/max; bytes of
// resource bodies pushed; control-plane CPU time (/proc, user+sys) and RSS (VmRSS, VmHWM); whether
// /debug/syncz shows any proxy STALE or NACKED after the push; the machine's 1-min load average.
// Figures are the median over --runs (max for RSS). Istio's published sizing for comparison: one
// istiod with 1 vCPU and 1.5 GB for 1,000 services and 2,000 sidecars. Goals (issue 8): p99
// convergence < 1 s for a single change, control-plane RSS < 500 MB, no proxy STALE.
//
// usage: npx tsx --conditions=@meshwork/source bench/control-plane/scale.ts [--proxies 1000]
//          [--services 1000] [--runs 5] [--registries 1|3] [--sidecar] [--profile] [--profile-registry] [--debounce-ms 100]
//   --sidecar   one Sidecar per namespace importing its own namespace and ns-0 (Istio's advice)
//   --profile   the control plane runs under node --cpu-prof; the .cpuprofile goes to
//               bench/control-plane/results/profile-<ms>/control-plane/ with a self-time summary
//               printed at the end
//   --profile-registry  the same for the registry node(s) (results/profile-<ms>/registry/): what
//               found the leader's critical-service sweep scanning the catalog once per service
//   --quick     runs 2, proxies 300, services 300 (development)
//   --control-plane dist (default; build first: npx tsc -b apps/control-plane/tsconfig.lib.json) runs
//               node apps/control-plane/dist/main.js as the image does; tsx runs the sources (tsx's
//               loader thread adds ~100 MB to the RSS figure). Registry nodes always run from source.
// Everything listens on 127.0.0.1 with port 0; only processes this script started are signalled;
// registry data lives in a fresh os.tmpdir() directory removed at the end. About 3-5 minutes at the
// defaults on a busy 2-core machine (most of it registering 2,000 instances and the first full push).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { credentials } from "@grpc/grpc-js";
import { RegistryServiceClient, type WatchResponse } from "@meshwork/protocol";
import { createMesh, namespaces, vsCount } from "./mesh.ts";
import type { NodeSpec } from "./proxies.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const resultsDir = join(here, "results");
const { values: flags } = parseArgs({
  options: {
    proxies: { type: "string" },
    services: { type: "string" },
    runs: { type: "string" },
    registries: { type: "string", default: "1" },
    sidecar: { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    "profile-registry": { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    "debounce-ms": { type: "string", default: "100" },
    "control-plane": { type: "string", default: "dist" },
  },
});
const proxyCount = Number(flags.proxies ?? (flags.quick ? 300 : 1000));
const serviceCount = Number(flags.services ?? (flags.quick ? 300 : 1000));
const runs = Number(flags.runs ?? (flags.quick ? 2 : 5));
const registryCount = Number(flags.registries);
/** A push is over when no proxy got a response for this long (a push yields between batches of proxies). */
const quietMs = 3000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------ processes
interface Child {
  readonly process: ChildProcess;
  readonly waitFor: (msg: string) => Promise<Record<string, unknown>>;
  readonly exit: Promise<number | null>;
}
const children: ChildProcess[] = [];

/** `dist`: node dist/main.js (what the image runs); `tsx`: the sources through tsx (its loader thread adds ~100 MB RSS). */
function startApp(app: string, args: readonly string[], nodeFlags: readonly string[] = [], from: "dist" | "tsx" = "tsx"): Child {
  const entry = from === "dist" ? ["dist/main.js"] : ["--import", "tsx", "--conditions=@meshwork/source", "src/main.ts"];
  const child = spawn(process.execPath, [...nodeFlags, ...entry, ...args], { cwd: join(repo, "apps", app), stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const seen: Record<string, unknown>[] = [];
  const waiting: { msg: string; resolve: (l: Record<string, unknown>) => void }[] = [];
  let partial = "";
  let tail = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const lines = text.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith("{")) continue;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed["level"] === "error" || parsed["level"] === "warn") tail = `${tail}${line}\n`.slice(-4000);
      for (const w of waiting.splice(0)) if (parsed["msg"] === w.msg) w.resolve(parsed);
      else waiting.push(w);
      if (seen.length < 50) seen.push(parsed);
    }
  });
  child.stderr?.on("data", (chunk: Buffer) => (tail = `${tail}${chunk.toString()}`.slice(-4000)));
  const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return {
    process: child,
    exit,
    waitFor: (msg) =>
      new Promise((resolvePromise, reject) => {
        const found = seen.find((l) => l["msg"] === msg);
        if (found) return resolvePromise(found);
        waiting.push({ msg, resolve: resolvePromise });
        void exit.then((code) => reject(new Error(`${app} exited with ${code} before "${msg}":\n${tail}`)));
      }),
  };
}

function cpuTicks(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}
function memory(pid: number): { rssMb: number; hwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: Math.round(kb("VmRSS") / 1024), hwmMb: Math.round(kb("VmHWM") / 1024) };
}
const loadAverage = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);

async function eventually<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${String(last)}`);
    await sleep(100);
  }
}

async function pool<T>(items: readonly T[], width: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await run(items[next++] as T);
  }));
}

// ------------------------------------------------------------------------------ the mesh
const mesh = createMesh(serviceCount);
const { nsOf, serviceName, instance, virtualService, sidecar } = mesh;

let registryHttp: string[] = [];
async function registryWrite(method: string, path: string, body: string): Promise<void> {
  let last = "";
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = registryHttp[attempt % registryHttp.length];
    try {
      const response = await fetch(`${base}${path}`, { method, body });
      if (response.status === 200) return;
      last = `HTTP ${response.status} ${await response.text()}`;
    } catch (error) {
      last = String(error);
    }
    await sleep(100);
  }
  throw new Error(`registry ${method} ${path}: ${last}`);
}
const txn = (entries: readonly { key: string; value: string }[]) =>
  registryWrite("PUT", "/v1/txn", JSON.stringify(entries.map((e) => ({ KV: { Verb: "set", Key: e.key, Value: Buffer.from(e.value).toString("base64") } }))));
async function writeConfig(entries: readonly { key: string; value: string }[]): Promise<void> {
  const chunks: (typeof entries)[] = [];
  for (let i = 0; i < entries.length; i += 64) chunks.push(entries.slice(i, i + 64));
  await Promise.all(chunks.map(txn));
}

// ------------------------------------------------------------------------------ main
if (flags["control-plane"] !== "tsx" && !existsSync(join(repo, "apps/control-plane/dist/main.js"))) {
  console.error("apps/control-plane/dist/main.js is missing: build it (npx tsc -b apps/control-plane/tsconfig.lib.json) or pass --control-plane tsx");
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), "bench-control-plane-"));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
}
let exitCode = 0;
try {
  mkdirSync(resultsDir, { recursive: true });
  const startedAt = Date.now();
  console.error(`registry: ${registryCount} node(s)...`);
  const ids = Array.from({ length: registryCount }, (_, k) => `n${k + 1}`);
  const raftPorts = await Promise.all(ids.map(() => freePort()));
  const peers = ids.map((id, k) => `${id}=127.0.0.1:${raftPorts[k]}`).join(",");
  const profileDir = join(resultsDir, `profile-${startedAt}`);
  const registries = ids.map((id, k) =>
    startApp(
      "registry",
      ["--node-id", id, "--peers", peers, "--data-dir", join(dir, id), "--raft-port", String(raftPorts[k]), "--http-port", "0", "--admin-port", "0", "--dns-port", "0", "--grpc-port", "0"],
      flags["profile-registry"] ? ["--cpu-prof", `--cpu-prof-dir=${join(profileDir, "registry")}`] : [],
    ),
  );
  const ready = await Promise.all(registries.map((r) => r.waitFor("ready")));
  registryHttp = ready.map((l) => `http://127.0.0.1:${String(l["httpPort"])}`);
  const registryGrpc = ready.map((l) => `127.0.0.1:${String(l["grpcPort"])}`);

  console.error(`registering ${serviceCount} services × 2 instances, ${vsCount} VirtualServices${flags.sidecar ? `, ${namespaces} Sidecars` : ""}...`);
  const instances = Array.from({ length: serviceCount }, (_, i) => [instance(i, "a"), instance(i, "b")]).flat();
  await pool(instances, 16, (body) => registryWrite("PUT", "/v1/catalog/register", JSON.stringify(body)));
  await writeConfig([...Array.from({ length: vsCount }, (_, k) => virtualService(k, 1)), ...(flags.sidecar ? Array.from({ length: namespaces }, (_, n) => sidecar(n)) : [])]);

  const cp = startApp(
    "control-plane",
    ["--id", "cp-bench", "--grpc-port", "0", "--admin-port", "0", "--registry-grpc", registryGrpc.join(","), "--registry-http", registryHttp.join(","), "--debounce-ms", flags["debounce-ms"]],
    flags.profile ? ["--cpu-prof", `--cpu-prof-dir=${join(profileDir, "control-plane")}`] : [],
    flags["control-plane"] === "tsx" ? "tsx" : "dist",
  );
  const cpPid = cp.process.pid ?? 0;
  const listening = await cp.waitFor("listening");
  const adminUrl = `http://127.0.0.1:${String(listening["adminPort"])}`;
  const grpcAddress = `127.0.0.1:${String(listening["grpcPort"])}`;
  await eventually("the control plane ready", async () => ((await fetch(`${adminUrl}/ready`)).status === 200 ? true : undefined), 120_000);
  const cpReadyMemory = memory(cpPid);
  // The registry's side of a change: when its Watch delivers it (the control plane's watches are the same calls).
  const delivered: number[] = [];
  const probe = new RegistryServiceClient(registryGrpc[0] ?? "", credentials.createInsecure());
  for (const [kind, prefix] of [["kv", "meshwork/config/"], ["catalog", ""]] as const) {
    probe.watch({ prefix, fromIndex: 0, kind }).on("data", (r: WatchResponse) => void (r.keepalive || delivered.push(Date.now()))).on("error", () => undefined);
  }

  // ---- the proxy simulator, a separate process
  const simulator = spawn(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", join(here, "proxies.ts")], { cwd: repo, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.push(simulator);
  const simulatorPid = simulator.pid ?? 0;
  const inbox: Record<string, unknown>[] = [];
  const waiters: { type: string; resolve: (m: Record<string, unknown>) => void }[] = [];
  simulator.on("message", (m: Record<string, unknown>) => {
    const i = waiters.findIndex((w) => w.type === m["type"]);
    if (i >= 0) waiters.splice(i, 1)[0]?.resolve(m);
    else inbox.push(m);
  });
  const ask = (message: Record<string, unknown>, answer: string): Promise<Record<string, unknown>> =>
    new Promise((r) => {
      const i = inbox.findIndex((m) => m["type"] === answer);
      if (i >= 0) return r(inbox.splice(i, 1)[0] as Record<string, unknown>);
      waiters.push({ type: answer, resolve: r });
      if (message["type"] !== "") simulator.send(message);
    });
  await ask({ type: "" }, "up");
  const specs: NodeSpec[] = Array.from({ length: proxyCount }, (_, j) => {
    const i = j % serviceCount;
    return { id: `${serviceName(i)}-a-${j}.${nsOf(i)}`, workload: `${serviceName(i)}-a`, namespace: nsOf(i), labels: { app: serviceName(i), version: "v1" } };
  });
  console.error(`connecting ${proxyCount} proxies (control plane ${grpcAddress}, admin ${adminUrl})...`);
  const cpu0 = cpuTicks(cpPid);
  const connected = await ask({ type: "connect", address: grpcAddress, proxies: specs, batch: 50 }, "connected");
  const fullState = { seconds: Number(connected["ms"]) / 1000, bytes: Number(connected["bytes"]), cpuS: (cpuTicks(cpPid) - cpu0) / 100, ...memory(cpPid) };
  console.error(`full state: ${fullState.seconds.toFixed(1)} s, ${(fullState.bytes / 1e6).toFixed(0)} MB, control plane ${fullState.cpuS.toFixed(1)} CPU-s, RSS ${fullState.rssMb} MB`);
  await settle();

  async function settle(): Promise<void> {
    for (;;) {
      const q = await ask({ type: "quiet?" }, "quiet");
      if (Date.now() - Number(q["lastAtMs"]) > 1500) return;
      await sleep(250);
    }
  }
  async function syncStates(): Promise<Record<string, number>> {
    const list = (await (await fetch(`${adminUrl}/debug/syncz`)).json()) as { state: string }[];
    const counts: Record<string, number> = { SYNCED: 0, STALE: 0, NACKED: 0 };
    for (const p of list) counts[p.state] = (counts[p.state] ?? 0) + 1;
    return counts;
  }

  interface RunFigures {
    affected: number;
    p50: number;
    p99: number;
    max: number;
    bytes: number;
    cpuMs: number;
    /** The proxy simulator's CPU over the same push (receiving and ACKing): the other side of the same 2 cores. */
    simCpuMs: number;
    /** Until the registry answered the write (committed). */
    writeMs: number;
    /** From the write to the registry's Watch delivering it. */
    registryMs: number;
    /** Convergence from the registry's delivery: the control plane's part. */
    cpP50: number;
    cpP99: number;
    cpMax: number;
    rssMb: number;
    hwmMb: number;
    load1: number;
    staleAfter: number;
    nackedAfter: number;
    syncedAfter: number;
  }
  const figures: Record<string, RunFigures[]> = { vs: [], endpoint: [], "100": [] };
  async function scenario(name: keyof typeof figures, change: () => Promise<void>): Promise<void> {
    await ask({ type: "mark" }, "marked");
    const c0 = cpuTicks(cpPid);
    const s0 = cpuTicks(simulatorPid);
    const t0 = Date.now();
    delivered.length = 0;
    await change();
    const writeMs = Date.now() - t0;
    let c1 = c0;
    let s1 = s0;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const q = await ask({ type: "quiet?" }, "quiet");
      const last = Number(q["lastAtMs"]);
      if (Number(q["responses"]) > 0 && Date.now() - last > quietMs) break;
      if (Date.now() > deadline) break;
      c1 = cpuTicks(cpPid);
      s1 = cpuTicks(simulatorPid);
      await sleep(100);
    }
    const report = await ask({ type: "report" }, "report");
    const latencies = (report["acks"] as number[]).map((t) => t - t0).sort((a, b) => a - b);
    const quantile = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)] ?? NaN;
    const q = (p: number) => quantile(latencies, p);
    // The control plane's own part: from the registry's Watch delivering the change.
    const registryMs = delivered.length === 0 ? NaN : (delivered[0] as number) - t0;
    const own = latencies.map((l) => l - registryMs);
    let states = await syncStates();
    for (let i = 0; i < 10 && (states["STALE"] ?? 0) > 0; i++) {
      await sleep(1000);
      states = await syncStates();
    }
    const row: RunFigures = {
      affected: latencies.length,
      p50: q(0.5),
      p99: q(0.99),
      max: latencies.at(-1) ?? NaN,
      bytes: Number(report["bytes"]),
      cpuMs: (c1 - c0) * 10,
      simCpuMs: (s1 - s0) * 10,
      ...memory(cpPid),
      load1: loadAverage(),
      writeMs,
      registryMs,
      cpP50: quantile(own, 0.5),
      cpP99: quantile(own, 0.99),
      cpMax: own.at(-1) ?? NaN,
      staleAfter: states["STALE"] ?? 0,
      nackedAfter: states["NACKED"] ?? 0,
      syncedAfter: states["SYNCED"] ?? 0,
    };
    figures[name]?.push(row);
    console.error(`  ${name.padEnd(8)} affected ${row.affected}  registry write ${row.writeMs} ms, watch +${row.registryMs} ms  (control plane: p50 ${row.cpP50} p99 ${row.cpP99} max ${row.cpMax})  p50 ${row.p50} ms  p99 ${row.p99} ms  max ${row.max} ms  ${(row.bytes / 1e6).toFixed(2)} MB  cp ${row.cpuMs} CPU-ms (simulator ${row.simCpuMs})  RSS ${row.rssMb} MB  load ${row.load1}  STALE ${row.staleAfter}`);
  }

  const moved = instance(Math.min(7, serviceCount - 1), "b");
  for (let r = 0; r < runs; r++) {
    console.error(`run ${r + 1}/${runs}`);
    await scenario("vs", () => writeConfig([virtualService(0, 2 + r)]));
    await scenario("endpoint", () =>
      r % 2 === 0 ? registryWrite("PUT", "/v1/catalog/deregister", JSON.stringify({ Node: moved.Node, ServiceID: moved.Service.ID })) : registryWrite("PUT", "/v1/catalog/register", JSON.stringify(moved)),
    );
    await scenario("100", () => writeConfig(Array.from({ length: vsCount }, (_, k) => virtualService(k, 10 + r))));
  }

  // ---- summary
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
  };
  const lines: string[] = [];
  lines.push(`# bench/control-plane/scale — ${new Date(startedAt).toISOString()}`);
  lines.push("");
  lines.push(`${proxyCount} proxies (separate process, one connection each), ${serviceCount} services × 2 instances in ${namespaces} namespaces, ${vsCount} VirtualServices${flags.sidecar ? `, a Sidecar per namespace (./*, ns-0/*)` : ", no Sidecar (every proxy sees every service)"}, ${registryCount} registry node(s), debounce ${flags["debounce-ms"]} ms, control plane from ${flags["control-plane"]}; median of ${runs} runs.`);
  lines.push("");
  lines.push(`Full state (every proxy connects, 50 at a time): ${fullState.seconds.toFixed(1)} s, ${(fullState.bytes / 1e6).toFixed(0)} MB of bodies, control plane ${fullState.cpuS.toFixed(1)} CPU-s; RSS ready ${cpReadyMemory.rssMb} MB → ${fullState.rssMb} MB with every proxy connected.`);
  lines.push("");
  lines.push("| change | proxies affected | registry write answered / watch delivers | p50 ms | p99 ms | max ms | from the delivery p50 / p99 / max ms | bodies pushed | control-plane CPU | simulator CPU | RSS (peak) | load avg 1m | STALE / NACKED after |");
  lines.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  const label: Record<string, string> = { vs: "one VirtualService", endpoint: "one endpoint (deregister/register)", "100": "100 VirtualServices" };
  for (const name of ["vs", "endpoint", "100"]) {
    const rows = figures[name] ?? [];
    const m = (k: keyof RunFigures) => median(rows.map((r) => r[k]));
    lines.push(
      `| ${label[name]} | ${m("affected")} | ${m("writeMs")} / +${m("registryMs")} ms | ${m("p50")} | ${m("p99")} | ${m("max")} | ${m("cpP50")} / ${m("cpP99")} / ${m("cpMax")} | ${(m("bytes") / 1e6).toFixed(2)} MB | ${m("cpuMs")} ms | ${m("simCpuMs")} ms | ${Math.max(...rows.map((r) => r.rssMb))} MB (${Math.max(...rows.map((r) => r.hwmMb))}) | ${m("load1")} | ${Math.max(...rows.map((r) => r.staleAfter))} / ${Math.max(...rows.map((r) => r.nackedAfter))} |`,
    );
  }
  const single = [...(figures["vs"] ?? []), ...(figures["endpoint"] ?? [])];
  const p99Single = Math.max(median((figures["vs"] ?? []).map((r) => r.p99)), median((figures["endpoint"] ?? []).map((r) => r.p99)));
  const ownP99 = Math.max(median((figures["vs"] ?? []).map((r) => r.cpP99)), median((figures["endpoint"] ?? []).map((r) => r.cpP99)));
  const peakRss = Math.max(fullState.hwmMb, ...Object.values(figures).flat().map((r) => r.hwmMb));
  const stale = Math.max(0, ...Object.values(figures).flat().map((r) => r.staleAfter));
  lines.push("");
  lines.push(`Goals: p99 convergence of a single change < 1 s: ${p99Single} ms ${p99Single < 1000 ? "PASS" : "MISS"} (worst single run ${Math.max(...single.map((r) => r.p99))} ms), from the registry's delivery ${ownP99} ms ${ownP99 < 1000 ? "PASS" : "MISS"}; control-plane RSS < 500 MB: peak ${peakRss} MB ${peakRss < 500 ? "PASS" : "MISS"}; no proxy STALE: ${stale === 0 ? "PASS" : `MISS (${stale})`}.`);
  lines.push("Istio's published sizing: one istiod, 1 vCPU and 1.5 GB for 1,000 services and 2,000 sidecars.");
  const summary = lines.join("\n");
  console.log(summary);
  writeFileSync(join(resultsDir, `scale-${startedAt}.md`), `${summary}\n`);
  writeFileSync(join(resultsDir, `scale-${startedAt}.json`), JSON.stringify({ flags, proxyCount, serviceCount, runs, fullState, cpReadyMemory, figures }, null, 2));

  probe.close();
  simulator.send({ type: "close" });
  cp.process.kill("SIGTERM");
  await cp.exit;
  for (const registry of registries) registry.process.kill("SIGTERM");
  await Promise.all(registries.map((r) => r.exit));
  for (const part of [flags.profile ? "control-plane" : "", flags["profile-registry"] ? "registry" : ""]) {
    if (part === "" || !existsSync(join(profileDir, part))) continue;
    for (const file of readdirSync(join(profileDir, part))) {
      console.log(`\nprofile ${join(profileDir, part, file)}:`);
      console.log(profileSummary(join(profileDir, part, file)));
    }
  }
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);

// ------------------------------------------------------------------------------ helpers
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Self time by function (top 25) and by file of a .cpuprofile. */
function profileSummary(file: string): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (!node) return;
    total += dt;
    const url = node.callFrame.url.replace(/^file:\/\//, "").replace(repo + "/", "");
    const key = `${node.callFrame.functionName || "(anonymous)"} ${url}:${node.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const fileKey = url === "" ? node.callFrame.functionName : url.replace(/^.*node_modules\//, "node_modules/");
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + dt);
  });
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `  ${((v / total) * 100).toFixed(1).padStart(5)} %  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`)
      .join("\n");
  return `total ${(total / 1e6).toFixed(1)} s sampled\nby function (self):\n${top(self, 25)}\nby file (self):\n${top(byFile, 15)}`;
}
