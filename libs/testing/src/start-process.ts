// A real child process for a process-level test: its stdout and stderr collected line by line,
// the JSON log lines on stdout parsed, a wait for a log line that fails with the process's last
// output (when it exits first or takes too long), and kill/stop for teardown.
import { spawn, type ChildProcess } from "node:child_process";

/** One JSON object the process logged on stdout. */
export type LogLine = Record<string, unknown>;

/** A log line's `msg`, or a predicate over the whole line. */
export type LineMatch = string | ((line: LogLine) => boolean);

export interface StartProcessOptions {
  /** Names the process in error messages (default: the command's last path segment). */
  readonly name?: string;
  readonly cwd?: string;
  /** Added to the environment (an `undefined` value removes a variable). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Keep the test runner's MESHWORK_* variables (default false: a process sees only the flags and `env` it is given). */
  readonly inheritMeshworkEnv?: boolean;
  /** "pipe" to send the process input with `write` (default "ignore": no input). */
  readonly stdin?: "ignore" | "pipe";
}

export interface StartedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves once the process has exited and its output is read: the exit code, or null when a signal ended it. */
  readonly exit: Promise<number | null>;
  /** The JSON objects logged on stdout so far, in order. */
  lines(): LogLine[];
  /** Every complete line of stdout and stderr so far, in the order they arrived. */
  outputLines(): string[];
  /** Everything written to stdout and stderr so far. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** The last `count` output lines, headed by the name: for a failure message. */
  tail(count?: number): string;
  /**
   * The first JSON log line on stdout matching `match` (its `msg`, or a predicate), logged before
   * or after the call. Rejects with the process's last output when it exits first or after `timeoutMs` (default 60 s).
   */
  waitForLine(match: LineMatch, timeoutMs?: number): Promise<LogLine>;
  /** Writes `text` to the process's stdin (started with `stdin: "pipe"`). */
  write(text: string): void;
  /** Sends `signal` (default SIGKILL) unless the process has already exited. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs` (default 10 s); resolves with the exit code. */
  stop(options?: { readonly signal?: NodeJS.Signals; readonly graceMs?: number }): Promise<number | null>;
}

/** The test runner's environment without MESHWORK_* (which would configure the child), plus `extra`. */
export function childEnv(extra: Readonly<Record<string, string | undefined>> = {}, inheritMeshworkEnv = false): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (inheritMeshworkEnv || !key.startsWith("MESHWORK_")) env[key] = value;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

const describeMatch = (match: LineMatch): string => (typeof match === "string" ? `"${match}"` : "a line matching the predicate");

/** Spawns `command args` with piped output and follows it (see StartedProcess). */
export function startProcess(command: string, args: readonly string[], options: StartProcessOptions = {}): StartedProcess {
  const name = options.name ?? command.split("/").at(-1) ?? command;
  const child = spawn(command, args, { cwd: options.cwd, env: childEnv(options.env, options.inheritMeshworkEnv), stdio: [options.stdin ?? "ignore", "pipe", "pipe"] });
  const { stdout, stderr } = child;
  if (stdout === null || stderr === null) throw new Error(`${name}: spawn gave no stdout/stderr pipes`);
  let out = "";
  let err = "";
  const all: string[] = [];
  const parsed: LogLine[] = [];
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };
  const follow = (stream: NodeJS.ReadableStream, onLine: (line: string) => void, onText: (text: string) => void): void => {
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      onText(chunk);
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      for (const part of parts) onLine(part);
      if (parts.length > 0) notify();
    });
    stream.on("end", () => {
      if (partial !== "") onLine(partial);
      partial = "";
      notify();
    });
  };
  follow(
    stdout,
    (line) => {
      all.push(line);
      if (!line.startsWith("{")) return;
      try {
        const value: unknown = JSON.parse(line);
        if (typeof value === "object" && value !== null && !Array.isArray(value)) parsed.push(value as LogLine);
      } catch {
        // not a JSON log line: kept in outputLines() only
      }
    },
    (text) => (out += text),
  );
  follow(stderr, (line) => all.push(line), (text) => (err += text));
  let exited = false;
  const exit = new Promise<number | null>((resolve) => {
    child.once("close", (code) => {
      exited = true;
      resolve(code);
      notify();
    });
    child.once("error", (error) => {
      all.push(`(${name} could not be started: ${error.message})`);
      exited = true;
      resolve(null);
      notify();
    });
  });
  const tail = (count = 40): string => `--- ${name} (last ${Math.min(count, all.length)} of ${all.length} output lines)\n${all.slice(-count).join("\n")}`;
  const kill = (signal: NodeJS.Signals = "SIGKILL"): void => {
    if (!exited && child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  return {
    name,
    child,
    exit,
    lines: () => [...parsed],
    outputLines: () => [...all],
    output: () => `${out}${err}`,
    stdout: () => out,
    stderr: () => err,
    tail,
    waitForLine: (match, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const matches = typeof match === "string" ? (line: LogLine) => line["msg"] === match : match;
        let checked = 0;
        const done = (): void => {
          listeners.delete(check);
          clearTimeout(timer);
        };
        const check = (): void => {
          for (; checked < parsed.length; checked++) {
            const line = parsed[checked] as LogLine;
            if (matches(line)) {
              done();
              resolve(line);
              return;
            }
          }
          if (exited) {
            done();
            const how = child.signalCode === null ? `with code ${String(child.exitCode)}` : `on ${child.signalCode}`;
            reject(new Error(`${name} exited ${how} before logging ${describeMatch(match)}\n${tail()}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name} did not log ${describeMatch(match)} within ${timeoutMs} ms\n${tail()}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
    write: (text) => {
      if (child.stdin === null) throw new Error(`${name} was started without stdin: pass { stdin: "pipe" } to write to it`);
      child.stdin.write(text);
    },
    kill,
    stop: async ({ signal = "SIGTERM", graceMs = 10_000 } = {}) => {
      kill(signal);
      const timer = setTimeout(() => kill("SIGKILL"), graceMs);
      try {
        return await exit;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
