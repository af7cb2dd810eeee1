// Runs one Meshwork app's entry (apps/<app>/src/main.ts) under Deno as a child process, the way
// tools/deno.mjs runs it for users, and waits until its readiness URL answers 2xx.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const workspaceRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The Deno binary of the root devDependency `deno` (2.9.5). */
export const denoBinary = fileURLToPath(new URL("../../../node_modules/@deno/linux-x64-glibc/deno", import.meta.url));

/**
 * The flags every app runs with (docs/design/architecture.md "Deno"): all permissions, and the
 * workspace libraries' TypeScript sources through their `@meshwork/source` export condition.
 * No --sloppy-imports (imports name `.ts` files), no --unstable-* flag; Deno finds the root
 * package.json and uses the npm-installed node_modules as it is.
 */
export const denoRunFlags = ["run", "-A", "--conditions=@meshwork/source"] as const;

export type MeshApp = "registry" | "ca" | "control-plane" | "sidecar" | "bookinfo" | "meshctl";

export interface DenoApp {
  readonly name: string;
  readonly child: ChildProcess;
  /** Every stdout/stderr line so far. */
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** The first JSON log record whose msg is `msg`. */
  record(msg: string): Record<string, unknown> | undefined;
}

/** Fails with what to install when the binary is missing. */
export function assertDenoInstalled(): void {
  if (!existsSync(denoBinary)) throw new Error(`Deno is missing at ${denoBinary}: run \`npm ci\` (root devDependency deno 2.9.5)`);
}

function cleanEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => !entry[0].startsWith("MESHWORK_") && entry[1] !== undefined));
}

/** Starts `app` under Deno with `args`; resolves once `readyUrl` answers 2xx (or rejects with the app's output after `timeoutMs`). */
export async function startDenoApp(options: { readonly name: string; readonly app: MeshApp; readonly args: readonly string[]; readonly readyUrl: string; readonly timeoutMs?: number }): Promise<DenoApp> {
  const entry = `apps/${options.app}/src/main.ts`;
  const child = spawn(denoBinary, [...denoRunFlags, entry, ...options.args], { cwd: workspaceRoot, env: { ...cleanEnv(), NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream.setEncoding("utf8").on("data", (chunk: string) => {
      partial += chunk;
      const parts = partial.split("\n");
      partial = parts.pop() ?? "";
      lines.push(...parts);
    });
  }
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const app: DenoApp = {
    name: options.name,
    child,
    lines,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
    record(msg) {
      for (const line of lines) {
        if (!line.startsWith("{")) continue;
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed["msg"] === msg) return parsed;
      }
      return undefined;
    },
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (hasExited) throw new Error(`${options.name} (deno run ${entry}) exited with ${child.exitCode} before ${options.readyUrl} was ready:\n${lines.join("\n")}`);
    const ok = await fetch(options.readyUrl, { signal: AbortSignal.timeout(2000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return app;
    if (Date.now() > deadline) {
      await app.stop();
      throw new Error(`${options.name} (deno run ${entry}) was not ready at ${options.readyUrl} in time:\n${lines.join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
