// The local mesh the Istio-task suite runs against: `meshctl up` (the real CLI, from source) with
// a fixed topology in this suite's port range (21500-21760 and the gateway on 21990), started once
// per vitest run by the first test file that needs it and stopped by the global setup's teardown
// (global-setup.ts), even when tests fail. Ports follow docs/design/local-mesh.md's blocks.
//
// MESHWORK_E2E_MESH_STATE=DIR reuses a mesh someone already started with `meshctl up --state-dir
// DIR --config <this topology>` (its output in DIR/meshctl.log or MESHWORK_E2E_MESH_LOG): the suite
// neither starts nor stops it, which keeps edit-and-rerun to seconds.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const workspaceRoot = fileURLToPath(new URL("../../../", import.meta.url));
const meshctlMain = join(workspaceRoot, "apps/meshctl/src/main.ts");

export const topology = {
  registryServers: 3,
  controlPlaneReplicas: 2,
  basePort: 21500,
  gatewayPort: 21990,
  host: "127.0.0.1",
  // Every proxy exports its spans here; observability.e2e.test.ts listens on it while it checks a trace.
  otlpEndpoint: "http://127.0.0.1:21997/v1/traces",
} as const;

export const bookinfoWorkloads = [
  { name: "productpage-v1", app: "productpage", version: "v1" },
  { name: "details-v1", app: "details", version: "v1" },
  { name: "reviews-v1", app: "reviews", version: "v1" },
  { name: "reviews-v2", app: "reviews", version: "v2" },
  { name: "reviews-v3", app: "reviews", version: "v3" },
  { name: "ratings-v1", app: "ratings", version: "v1" },
] as const;

export type WorkloadName = (typeof bookinfoWorkloads)[number]["name"];

export interface WorkloadPorts {
  readonly app: number;
  readonly outbound: number;
  readonly inbound: number;
  readonly admin: number;
  readonly stats: number;
}

/** Where everything of the mesh listens (docs/design/local-mesh.md: blocks above basePort). */
export interface MeshEndpoints {
  readonly stateDir: string;
  /** meshctl up's output (every process's log lines, prefixed by its name; sidecar access logs). */
  readonly logFile: string;
  readonly gateway: string;
  readonly controlPlanes: readonly string[];
  readonly registryHttp: readonly string[];
  readonly registryAdmin: readonly string[];
  readonly caAdmin: string;
  readonly gatewayStats: string;
  readonly workloads: Readonly<Record<WorkloadName, WorkloadPorts>>;
}

export function meshEndpoints(stateDir: string, logFile: string): MeshEndpoints {
  const { basePort: base, host } = topology;
  const url = (port: number) => `http://${host}:${port}`;
  const workloads = Object.fromEntries(
    bookinfoWorkloads.map((w, k) => [w.name, { app: base + 200 + k * 10, outbound: base + 201 + k * 10, inbound: base + 202 + k * 10, admin: base + 203 + k * 10, stats: base + 204 + k * 10 }]),
  ) as Record<WorkloadName, WorkloadPorts>;
  return {
    stateDir,
    logFile,
    gateway: url(topology.gatewayPort),
    controlPlanes: Array.from({ length: topology.controlPlaneReplicas }, (_, j) => url(base + 111 + j * 10)),
    registryHttp: Array.from({ length: topology.registryServers }, (_, i) => url(base + i * 10 + 1)),
    registryAdmin: Array.from({ length: topology.registryServers }, (_, i) => url(base + i * 10 + 3)),
    caAdmin: url(base + 101),
    gatewayStats: url(base + 103),
    workloads,
  };
}

/** up.json as meshctl up writes it. */
export interface UpState {
  readonly pid: number;
  readonly processes: readonly { readonly name: string; readonly pid: number; readonly readyUrl: string }[];
}

export function readUpState(stateDir: string): UpState | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, "up.json"), "utf8")) as UpState;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function logTail(logFile: string, lines = 60): string {
  try {
    return readFileSync(logFile, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no output)";
  }
}

/** The mesh this state dir runs now: meshctl's pid, its state dir and its output. */
interface Current {
  readonly pid: number;
  readonly meshDir: string;
  readonly logFile: string;
}

function readCurrent(stateDir: string): Current | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, "current.json"), "utf8")) as Current;
  } catch {
    return undefined;
  }
}

/**
 * Starts `meshctl up` detached (it outlives the test worker that starts it; the global teardown
 * stops it) unless one already runs from `stateDir` — a mesh a drill stopped is started afresh,
 * in a new state dir; resolves when meshctl prints "Local mesh ready". Throws with the end of
 * meshctl's output when it exits or is not ready in time.
 */
export async function ensureLocalMesh(stateDir: string, readyTimeoutMs = 540_000): Promise<MeshEndpoints> {
  const reuse = process.env["MESHWORK_E2E_MESH_STATE"];
  if (reuse !== undefined && reuse !== "") return meshEndpoints(reuse, process.env["MESHWORK_E2E_MESH_LOG"] || join(reuse, "meshctl.log"));
  mkdirSync(stateDir, { recursive: true });
  let current = readCurrent(stateDir);
  if (current === undefined || !isAlive(current.pid)) {
    const meshDir = join(stateDir, `mesh-${Date.now()}`);
    mkdirSync(meshDir, { recursive: true });
    const config = join(meshDir, "topology.yaml");
    writeFileSync(config, Object.entries(topology).map(([k, v]) => `${k}: ${v}`).join("\n") + "\n");
    const logFile = join(meshDir, "meshctl.log");
    const out = openSync(logFile, "a");
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("MESHWORK_")));
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", meshctlMain, "up", "--config", config, "--state-dir", meshDir, "--ready-timeout", "300"], {
      cwd: workspaceRoot,
      env: { ...env, NO_COLOR: "1" },
      stdio: ["ignore", out, out],
      detached: true,
    });
    closeSync(out);
    child.unref();
    current = { pid: child.pid as number, meshDir, logFile };
    writeFileSync(join(stateDir, "current.json"), `${JSON.stringify(current)}\n`);
  }
  const endpoints = meshEndpoints(current.meshDir, current.logFile);
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const log = existsSync(current.logFile) ? readFileSync(current.logFile, "utf8") : "";
    if (log.includes("Local mesh ready")) return endpoints;
    if (!isAlive(current.pid)) throw new Error(`meshctl up (pid ${current.pid}) exited before the mesh was ready; its output ends:\n${logTail(current.logFile)}`);
    if (Date.now() > deadline) throw new Error(`meshctl up was not ready after ${readyTimeoutMs} ms; its output ends:\n${logTail(current.logFile)}`);
    await sleep(500);
  }
}

/** Stops the mesh `ensureLocalMesh` started from `stateDir` (SIGTERM, then SIGKILL to every part after 9 s: vitest gives a teardown 10 s); the next ensureLocalMesh starts a new one. */
export async function stopLocalMesh(stateDir: string): Promise<void> {
  if (process.env["MESHWORK_E2E_MESH_STATE"]) return;
  const current = readCurrent(stateDir);
  if (current === undefined) return;
  const up = readUpState(current.meshDir);
  if (isAlive(current.pid)) process.kill(current.pid, "SIGTERM");
  for (let waited = 0; waited < 9000 && isAlive(current.pid); waited += 200) await sleep(200);
  for (const p of [{ pid: current.pid }, ...(up?.processes ?? [])]) if (isAlive(p.pid)) process.kill(p.pid, "SIGKILL");
}

/** The last lines meshctl logged for `parts` (it prefixes each part's output with its name), for a failure message. */
function partsLogTail(logFile: string, parts: readonly string[], lines = 20): string {
  if (parts.length === 0 || !existsSync(logFile)) return "";
  const mine = readFileSync(logFile, "utf8").split("\n").filter((line) => parts.some((part) => line.includes(part)));
  return `\n--- the last ${Math.min(lines, mine.length)} lines meshctl logged for them ---\n${mine.slice(-lines).join("\n")}`;
}

/**
 * Waits until every part of the mesh answers its readiness URL (up.json names the current pids: a
 * part meshctl restarted after a drill killed it takes a while from source). Throws with the parts
 * still not ready after `timeoutMs`, and what meshctl's log (`mesh.logFile`) says of them.
 */
export async function waitForMeshReady(mesh: Pick<MeshEndpoints, "stateDir" | "logFile">, timeoutMs = 240_000): Promise<void> {
  const { stateDir, logFile } = mesh;
  const deadline = Date.now() + timeoutMs;
  let waiting: string[] = [];
  for (;;) {
    const up = readUpState(stateDir);
    waiting = [];
    for (const p of up?.processes ?? []) {
      const ok = isAlive(p.pid) && (await fetch(p.readyUrl, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false));
      if (!ok) waiting.push(p.name);
    }
    if (up !== undefined && waiting.length === 0) return;
    if (Date.now() > deadline) {
      // Without up.json meshctl up itself stopped: the end of its whole output says why.
      const why = up === undefined ? `(no up.json: meshctl up stopped the mesh); its output ends:\n${logTail(logFile, 40)}` : `${waiting.join(", ")}${partsLogTail(logFile, waiting)}`;
      throw new Error(`parts of the local mesh not ready after ${timeoutMs} ms: ${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

