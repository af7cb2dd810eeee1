// Runs an app's real entry point as a child process (node --import tsx, sources through the
// @meshwork/source condition) and follows its JSON log lines.
import { spawn } from "node:child_process";
import * as net from "node:net";

export interface Run {
  readonly lines: () => Record<string, unknown>[];
  /** The first log line with this `msg` (rejects if the process exits first). */
  readonly waitFor: (msg: string, predicate?: (line: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>;
  readonly exit: Promise<number | null>;
  readonly kill: (signal: NodeJS.Signals) => void;
  readonly output: () => string;
}

export function runProcess(cwd: string, args: readonly string[]): Run {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", "src/main.ts", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const listeners: (() => void)[] = [];
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    for (const l of listeners) l();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const lines = () => out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    lines,
    exit,
    output: () => `${out}${err}`,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    waitFor: (msg, predicate = () => true) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = lines().find((l) => l["msg"] === msg && predicate(l));
          if (found) resolve(found);
        };
        listeners.push(check);
        void exit.then((code) => reject(new Error(`exited with ${code} before "${msg}": ${out}${err}`)));
        check();
      }),
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `attempt` until it returns a value (not a timing assertion: a bound on waiting). */
export async function eventually<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
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
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
