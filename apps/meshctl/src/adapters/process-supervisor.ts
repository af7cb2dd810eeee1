// Runs the processes of a local mesh (`meshctl up`): starts each one when those it waits for are
// ready, prefixes every output line with its coloured name, polls its readiness URL, and stops
// them in reverse order (SIGTERM, then SIGKILL after a deadline). A process that exits before it
// was ready fails the start (a half-started mesh is worse than none); one that exits after it was
// ready is restarted, with a backoff from 1 s doubling to 30 s, as Kubernetes restarts a crashed
// container — so killing a part of a running mesh (the failure drills) leaves the rest serving.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { launcherNodeFlags } from "../core/launcher-node-flags.ts";
import type { ProcessSpec } from "../core/plan-local-mesh.ts";

/** An entry's text, "" when it cannot be read (then spawning reports the missing file). */
function readEntry(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

const colours = [36, 32, 33, 35, 34, 96, 92, 93, 95, 94];

export interface SupervisorOptions {
  /** Working directory (the workspace root: entries are relative to it). */
  readonly cwd: string;
  /** Writes one line of output (already prefixed). */
  readonly writeLine: (line: string) => void;
  readonly colour: boolean;
  /** Give up waiting for one process to be ready after this long. */
  readonly readyTimeoutMs: number;
  /**
   * "source": run `apps/<app>/src/main.ts` through tsx (no build needed); "dist": run the built
   * `apps/<app>/dist/main.js` with plain node, which starts in about half the time.
   */
  readonly from: "source" | "dist";
  readonly env?: NodeJS.ProcessEnv;
  /** Called after a process was restarted (its pid changed). */
  readonly onRestart?: (name: string) => void;
}

interface Running {
  readonly spec: ProcessSpec;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined;
  /** Set once its readiness URL answered: from then on an exit restarts it. */
  ready: boolean;
}

export interface SupervisorHooks {
  readonly beforeStart?: (spec: ProcessSpec) => Promise<void>;
  readonly afterReady?: (spec: ProcessSpec) => Promise<void>;
}

export class ProcessSupervisor {
  readonly #options: SupervisorOptions;
  readonly #running: Running[] = [];
  /** Restarts so far, by process name (for the backoff). */
  readonly #restarts = new Map<string, number>();
  #stopping = false;
  /** Resolves with the first process that exits on its own (not during stop). */
  readonly failed: Promise<{ readonly name: string; readonly code: number | null }>;
  #fail!: (failure: { readonly name: string; readonly code: number | null }) => void;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.failed = new Promise((resolve) => (this.#fail = resolve));
  }

  /** Process names and pids, for `meshctl status` / `down`. */
  get pids(): { readonly name: string; readonly pid: number }[] {
    return this.#running.filter((r) => r.child.pid !== undefined).map((r) => ({ name: r.spec.name, pid: r.child.pid as number }));
  }

  /**
   * Starts every process in dependency order; resolves when all are ready, rejects on the first
   * failure. `hooks.beforeStart` runs just before a process is spawned, `hooks.afterReady` once it
   * is ready and before those waiting for it start.
   */
  async start(specs: readonly ProcessSpec[], signal: AbortSignal, hooks: SupervisorHooks = {}): Promise<void> {
    const ready = new Map<string, Promise<void>>();
    const width = Math.max(...specs.map((s) => s.name.length));
    const startOne = async (spec: ProcessSpec, index: number): Promise<void> => {
      await Promise.all(spec.after.map((name) => ready.get(name)));
      if (signal.aborted || this.#stopping) throw new Error("stopped");
      await hooks.beforeStart?.(spec);
      const running = this.#spawn(spec, index, width);
      await this.#waitReady(running, signal);
      running.ready = true;
      this.#line(spec, index, width, "ready");
      await hooks.afterReady?.(spec);
    };
    specs.forEach((spec, index) => {
      for (const name of spec.after) if (!specs.some((s) => s.name === name)) throw new Error(`${spec.name} waits for "${name}", which is not in the plan`);
      ready.set(spec.name, Promise.resolve().then(() => startOne(spec, index)));
    });
    await Promise.all(ready.values());
  }

  /** SIGTERM to every process, last started first; SIGKILL to those still running after `deadlineMs`. */
  async stop(deadlineMs: number): Promise<void> {
    this.#stopping = true;
    for (const running of [...this.#running].reverse()) {
      if (running.exitCode === undefined) running.child.kill("SIGTERM");
    }
    const timer = setTimeout(() => {
      for (const running of this.#running) if (running.exitCode === undefined) running.child.kill("SIGKILL");
    }, deadlineMs);
    await Promise.all(this.#running.map((r) => r.exited));
    clearTimeout(timer);
  }

  #spawn(spec: ProcessSpec, index: number, width: number): Running {
    const command = this.#options.from === "dist" ? [spec.entry.replace(/\/src\/main\.ts$/u, "/dist/main.js")] : ["--import", "tsx", "--conditions=@meshwork/source", spec.entry];
    // The V8 flags the part's launcher uses (its entry's shebang), as its installed command and image do.
    const nodeFlags = launcherNodeFlags(readEntry(join(this.#options.cwd, spec.entry)));
    const child = spawn(process.execPath, [...nodeFlags, ...command, ...spec.args], {
      cwd: this.#options.cwd,
      env: this.#options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const running: Running = { spec, child, exited, exitCode: undefined, ready: false };
    this.#running.push(running);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on("line", (line) => this.#line(spec, index, width, line));
    }
    void exited.then((code) => {
      running.exitCode = code;
      if (this.#stopping) return;
      const how = code === null ? "a signal" : `code ${code}`;
      if (!running.ready) {
        this.#line(spec, index, width, `exited with ${how}`);
        this.#fail({ name: spec.name, code });
        return;
      }
      const restarts = (this.#restarts.get(spec.name) ?? 0) + 1;
      this.#restarts.set(spec.name, restarts);
      const delayMs = Math.min(30_000, 1000 * 2 ** (restarts - 1));
      this.#line(spec, index, width, `exited with ${how}; restarting in ${delayMs / 1000} s (restart ${restarts})`);
      setTimeout(() => {
        if (this.#stopping) return;
        const again = this.#spawn(spec, index, width);
        // The restarted process counts as ready: a crash of it is restarted again (with a longer backoff).
        again.ready = true;
        // In the old one's place, so the stop order stays the reverse of the start order.
        this.#running.pop();
        this.#running[this.#running.indexOf(running)] = again;
        this.#options.onRestart?.(spec.name);
      }, delayMs).unref();
    });
    return running;
  }

  async #waitReady(running: Running, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.#options.readyTimeoutMs;
    for (;;) {
      if (running.exitCode !== undefined) throw new Error(`${running.spec.name} exited with ${running.exitCode === null ? "a signal" : `code ${running.exitCode}`} before it was ready; its output is above`);
      if (signal.aborted || this.#stopping) throw new Error("stopped");
      try {
        const response = await fetch(running.spec.readyUrl, { signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${running.spec.name} was not ready after ${this.#options.readyTimeoutMs} ms (${running.spec.readyUrl}); its output is above`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  #line(spec: ProcessSpec, index: number, width: number, text: string): void {
    const name = spec.name.padEnd(width);
    this.#options.writeLine(this.#options.colour ? `\x1b[${colours[index % colours.length]}m${name}\x1b[0m | ${text}` : `${name} | ${text}`);
  }
}
