// Child processes of the observability suites: the real sidecar and control plane from source
// (tsx, workspace libs through the @meshwork/source condition), with their JSON log lines.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const workspaceRoot = fileURLToPath(new URL("../../../", import.meta.url));

export interface Child {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** The first JSON log line with this msg. */
  waitFor(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export function startChild(name: string, entry: string, args: readonly string[], env: Record<string, string> = {}): Child {
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("MESHWORK_")));
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", entry, ...args], { cwd: workspaceRoot, env: { ...cleanEnv, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const listeners: (() => void)[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream?.setEncoding("utf8").on("data", (chunk: string) => {
      partial += chunk;
      const parts = partial.split("\n");
      partial = parts.pop() ?? "";
      lines.push(...parts);
      for (const l of listeners) l();
    });
  }
  return {
    child,
    lines,
    waitFor: (msg, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} did not log "${msg}" in ${timeoutMs} ms:\n${lines.join("\n")}`)), timeoutMs);
        const check = (): void => {
          for (const line of lines) {
            if (!line.startsWith("{")) continue;
            const parsed = JSON.parse(line) as Record<string, unknown>;
            if (parsed["msg"] === msg) {
              clearTimeout(timer);
              resolve(parsed);
              return;
            }
          }
        };
        listeners.push(check);
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited with ${code} before "${msg}":\n${lines.join("\n")}`));
        });
        check();
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `attempt` until it returns a value (a bound on waiting, not a timing assertion). */
export async function eventually<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
