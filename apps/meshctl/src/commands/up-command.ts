// `meshctl up`, `down` and `status` (DESIGN.md §4): the whole local mesh as child processes of one
// meshctl — registry servers, ca, control-plane replicas, and bookinfo with a sidecar per
// workload — with prefixed, coloured logs; Ctrl-C (or `meshctl down`) stops it in reverse order.
// State lives under --state-dir (.meshwork/): data dirs, the sidecars' config, and up.json naming
// the running processes. A second `up` reuses the data (Raft log, CA root).
import { isAbsolute, join, resolve } from "node:path";
import { defineSettings } from "@meshwork/runtime";
import { parse as parseYaml } from "yaml";
import { parseTopology, defaultTopology } from "../core/local-mesh-topology.ts";
import { planLocalMesh, type ProcessSpec, type WorkloadTokenSpec } from "../core/plan-local-mesh.ts";
import { defineCommand, formatUsageError, type Command } from "./command.ts";

/** What up/down/status do to the machine; main.ts gives the real ones. */
export interface LocalMeshIo {
  /** Where `apps/` is: process entries are relative to it. */
  readonly workspaceRoot: string;
  readonly cwd: string;
  readonly pid: number;
  readTextFile(path: string): Promise<string | undefined>;
  /** Creates parent directories. */
  writeTextFile(path: string, text: string): Promise<void>;
  removeFile(path: string): Promise<void>;
  supervise(options: { readonly writeLine: (line: string) => void; readonly readyTimeoutMs: number; readonly from: "source" | "dist"; readonly onRestart: (name: string) => void }): Supervisor;
  /** Mints the workload token with the CA's issuer key and writes it (mode 0600). */
  mintWorkloadToken(spec: WorkloadTokenSpec): Promise<void>;
  isAlive(pid: number): boolean;
  kill(pid: number, signal: "SIGTERM" | "SIGKILL"): void;
  monotonicMs(): number;
}

export interface Supervisor {
  start(specs: readonly ProcessSpec[], signal: AbortSignal, hooks?: { readonly beforeStart?: (spec: ProcessSpec) => Promise<void>; readonly afterReady?: (spec: ProcessSpec) => Promise<void> }): Promise<void>;
  stop(deadlineMs: number): Promise<void>;
  readonly failed: Promise<{ readonly name: string; readonly code: number | null }>;
  readonly pids: readonly { readonly name: string; readonly pid: number }[];
}

/** up.json: who runs the mesh. */
interface UpState {
  readonly pid: number;
  readonly processes: readonly { readonly name: string; readonly pid: number; readonly readyUrl: string }[];
  readonly urls: readonly { readonly label: string; readonly url: string }[];
}

const stateDirSetting = {
  stateDir: { type: "string", default: ".meshwork", env: "MESHWORK_STATE_DIR", valueName: "DIR", description: "Data dirs, config and up.json of the local mesh." },
} as const;

const upSettings = defineSettings({
  ...stateDirSetting,
  config: { type: "string", env: "MESHWORK_UP_CONFIG", valueName: "FILE", description: `Topology YAML: registryServers (${defaultTopology.registryServers}), controlPlaneReplicas (${defaultTopology.controlPlaneReplicas}), bookinfo (true), gatewayPort, basePort (${defaultTopology.basePort}), host.` },
  from: { type: "string", choices: ["source", "dist"], default: "source", env: "MESHWORK_UP_FROM", description: "Run the apps from source through tsx, or their built dist/ (after `nx run-many -t build`; starts faster)." },
  readyTimeout: { type: "number", default: 60, env: "MESHWORK_UP_READY_TIMEOUT", valueName: "SECONDS", description: "Give up when a process is not ready after this long." },
});

const UP_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

function stateFile(io: LocalMeshIo, stateDir: string): string {
  return join(isAbsolute(stateDir) ? stateDir : resolve(io.cwd, stateDir), "up.json");
}

async function readState(io: LocalMeshIo, path: string): Promise<UpState | undefined> {
  const text = await io.readTextFile(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as UpState;
  } catch {
    return undefined;
  }
}

/** POSTs each file to the config API as `meshctl apply` does; a refusal stops `up` with the control plane's answer. */
async function applyFiles(target: NonNullable<ProcessSpec["applyWhenReady"]>, stateDir: string, io: LocalMeshIo, fetch: (url: string, init: RequestInit) => Promise<Response>, signal: AbortSignal): Promise<void> {
  for (const file of target.files) {
    const path = join(stateDir, file);
    const text = await io.readTextFile(path);
    if (text === undefined) throw new Error(`cannot read ${path} to apply it`);
    const response = await fetch(target.url, { method: "POST", body: text, headers: { "content-type": "application/yaml" }, signal });
    const answer = await response.text();
    if (!response.ok) throw new Error(`the control plane refused ${path} (HTTP ${response.status}): ${answer}`);
  }
}

export function upCommand(io: LocalMeshIo): Command {
  return defineCommand({
    name: "up",
    summary: "Start the local mesh: registry, ca, control plane, and bookinfo with sidecars.",
    usage: "meshctl up [--config FILE] [--state-dir DIR]",
    description: [
      "Starts every part of the local mesh as a child process, each when what it needs is ready, with its logs",
      "prefixed by its name; prints the URLs when all are ready. Ctrl-C (or `meshctl down`) stops them, last",
      "started first. State stays in --state-dir, so the next `up` finds the registry's data and the CA's root.",
    ].join("\n"),
    footer: ["Examples:", "  meshctl up", "  meshctl up --config mesh.yaml --state-dir /tmp/mesh", "", "Exit codes: 0 stopped cleanly, 1 a part failed to start or exited, 2 usage error, 130/143 interrupted."].join("\n"),
    settings: upSettings,
    run: async (settings, context) => {
      const { io: commandIo, signal } = context;
      let topology = defaultTopology;
      if (settings.config !== undefined) {
        const text = await io.readTextFile(settings.config);
        if (text === undefined) {
          commandIo.writeErr(formatUsageError("up", `cannot read --config "${settings.config}"`));
          return UP_EXIT.usage;
        }
        let value: unknown;
        try {
          value = parseYaml(text);
        } catch (error) {
          commandIo.writeErr(formatUsageError("up", `${settings.config} is not YAML: ${(error as Error).message}`));
          return UP_EXIT.usage;
        }
        const parsed = parseTopology(value, settings.config);
        if (!parsed.ok) {
          commandIo.writeErr(formatUsageError("up", parsed.message));
          return UP_EXIT.usage;
        }
        topology = parsed.topology;
      }
      const stateDir = isAbsolute(settings.stateDir) ? settings.stateDir : resolve(io.cwd, settings.stateDir);
      const statePath = stateFile(io, stateDir);
      const previous = await readState(io, statePath);
      if (previous !== undefined && previous.pid !== io.pid && io.isAlive(previous.pid)) {
        commandIo.writeErr(formatUsageError("up", `a local mesh is already running from ${stateDir} (meshctl pid ${previous.pid}); stop it with "meshctl down" or use another --state-dir`));
        return UP_EXIT.failed;
      }
      const plan = planLocalMesh(topology, stateDir);
      for (const file of plan.files) await io.writeTextFile(join(stateDir, file.path), file.text);
      const started = io.monotonicMs();
      const supervisor = io.supervise({
        writeLine: (line) => commandIo.writeOut(`${line}\n`),
        readyTimeoutMs: settings.readyTimeout * 1000,
        from: settings.from as "source" | "dist",
        // A restarted part has a new pid: up.json must name it for `meshctl down` and `status`.
        onRestart: () => void saveState(),
      });
      context.onStop("local mesh", async () => {
        await supervisor.stop(10_000);
        await io.removeFile(statePath);
      });
      const saveState = () => io.writeTextFile(statePath, `${JSON.stringify({ pid: io.pid, processes: supervisor.pids.map((p) => ({ ...p, readyUrl: plan.processes.find((s) => s.name === p.name)?.readyUrl ?? "" })), urls: plan.urls } satisfies UpState, null, 2)}\n`);
      // Written now (meshctl's pid, so `meshctl down` works while parts still start) and again once all are ready.
      await saveState();
      const failure = supervisor.failed.then((f) => ({ type: "failed" as const, ...f }));
      try {
        const hooks = {
          beforeStart: async (spec: ProcessSpec) => {
            if (spec.workloadToken) await io.mintWorkloadToken(spec.workloadToken);
          },
          afterReady: async (spec: ProcessSpec) => {
            if (spec.applyWhenReady) await applyFiles(spec.applyWhenReady, stateDir, io, context.io.fetch, signal);
          },
        };
        const outcome = await Promise.race([supervisor.start(plan.processes, signal, hooks).then(() => ({ type: "ready" as const })), failure]);
        if (outcome.type === "failed") throw new Error(`${outcome.name} exited with ${outcome.code === null ? "a signal" : `code ${outcome.code}`} while the mesh was starting`);
      } catch (error) {
        await supervisor.stop(10_000);
        await io.removeFile(statePath);
        if (signal.aborted) return UP_EXIT.ok;
        commandIo.writeErr(formatUsageError("up", `the local mesh did not start: ${(error as Error).message}`));
        return UP_EXIT.failed;
      }
      await saveState();
      const seconds = ((io.monotonicMs() - started) / 1000).toFixed(1);
      commandIo.writeOut(`\nLocal mesh ready in ${seconds} s (state in ${stateDir}). Ctrl-C or "meshctl down" stops it.\n`);
      for (const url of plan.urls) commandIo.writeOut(`  ${url.label}: ${url.url}\n`);
      // From here a part that exits is restarted by the supervisor; the mesh runs until stopped.
      await new Promise<void>((resolveStop) => signal.addEventListener("abort", () => resolveStop(), { once: true }));
      await supervisor.stop(10_000);
      await io.removeFile(statePath);
      return UP_EXIT.ok;
    },
  });
}

export function downCommand(io: LocalMeshIo): Command {
  return defineCommand({
    name: "down",
    summary: "Stop the local mesh that `meshctl up` started.",
    usage: "meshctl down [--state-dir DIR]",
    description: "Sends SIGTERM to the meshctl running the mesh (it stops every part, last started first) and waits until it is gone.",
    footer: "Exit codes: 0 stopped (or nothing was running), 1 it did not stop in 30 s, 2 usage error.",
    settings: defineSettings(stateDirSetting),
    run: async (settings, context) => {
      const statePath = stateFile(io, settings.stateDir);
      const state = await readState(io, statePath);
      if (state === undefined || !io.isAlive(state.pid)) {
        context.io.writeOut("No local mesh is running.\n");
        return 0;
      }
      io.kill(state.pid, "SIGTERM");
      for (let waited = 0; waited < 30_000; waited += 100) {
        if (!io.isAlive(state.pid)) {
          context.io.writeOut("Local mesh stopped.\n");
          return 0;
        }
        await context.io.sleep(100, context.signal);
      }
      for (const p of state.processes) if (io.isAlive(p.pid)) io.kill(p.pid, "SIGKILL");
      context.io.writeErr(formatUsageError("down", `meshctl (pid ${state.pid}) did not stop within 30 s; its processes were killed`));
      return 1;
    },
  });
}

export function statusCommand(io: LocalMeshIo): Command {
  return defineCommand({
    name: "status",
    summary: "Show which parts of the local mesh run and are ready.",
    usage: "meshctl status [--state-dir DIR]",
    description: "Reads up.json in --state-dir and asks each process's readiness URL.",
    footer: "Exit codes: 0 everything ready, 1 something is not (or nothing runs), 2 usage error.",
    settings: defineSettings(stateDirSetting),
    run: async (settings, context) => {
      const state = await readState(io, stateFile(io, settings.stateDir));
      if (state === undefined || !io.isAlive(state.pid)) {
        context.io.writeOut("No local mesh is running.\n");
        return 1;
      }
      let allReady = true;
      const width = Math.max(...state.processes.map((p) => p.name.length));
      for (const p of state.processes) {
        let ready = false;
        try {
          const response = await context.io.fetch(p.readyUrl, { signal: context.signal });
          await response.arrayBuffer();
          ready = response.ok;
        } catch {
          ready = false;
        }
        allReady &&= ready;
        context.io.writeOut(`${p.name.padEnd(width)}  pid ${String(p.pid).padEnd(7)} ${!io.isAlive(p.pid) ? "EXITED" : ready ? "READY" : "NOT READY"}\n`);
      }
      for (const url of state.urls) context.io.writeOut(`${url.label}: ${url.url}\n`);
      return allReady ? 0 : 1;
    },
  });
}
