// Runs the real sidecar (src/main.ts through tsx, workspace libs from source) as a child process
// on ephemeral ports, and reads the bound ports from its "sidecar started" log line.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const workspaceRoot = fileURLToPath(new URL("../../../../", import.meta.url));
const sidecarMain = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

export interface SidecarProcess {
  readonly child: ChildProcess;
  readonly ports: Readonly<Record<string, number>>;
  /** Every stdout/stderr line so far. */
  readonly lines: string[];
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** The Deno binary npm installs (devDependency `deno`), used to check the sidecar runs unchanged under Deno. */
export const denoBinary = fileURLToPath(new URL("../../../../node_modules/@deno/linux-x64-glibc/deno", import.meta.url));

export interface SidecarProcessOptions {
  readonly env?: Record<string, string>;
  readonly runtime?: "node" | "deno";
  /** Bind every port to 0 (the default); false when `args` give the ports. */
  readonly ephemeralPorts?: boolean;
}

export async function startSidecarProcess(args: readonly string[], options: SidecarProcessOptions = {}): Promise<SidecarProcess> {
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("MESHWORK_")));
  const ports = options.ephemeralPorts === false ? [] : ["--outbound-port", "0", "--inbound-port", "0", "--admin-port", "0", "--stats-port", "0"];
  const [command, runtimeArgs] =
    options.runtime === "deno"
      ? [denoBinary, ["run", "-A", "--conditions=@meshwork/source", sidecarMain]]
      : [process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", sidecarMain]];
  const child = spawn(command, [...runtimeArgs, ...ports, ...args], { cwd: workspaceRoot, env: { ...cleanEnv, ...options.env } });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const bound = await new Promise<Record<string, number>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sidecar did not start in 30 s:\n${lines.join("\n")}`)), 30_000);
    const onLine = (line: string): void => {
      lines.push(line);
      if (line.includes('"msg":"sidecar started"')) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { ports: Record<string, number> }).ports);
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let partial = "";
      stream?.setEncoding("utf8").on("data", (chunk: string) => {
        partial += chunk;
        const parts = partial.split("\n");
        partial = parts.pop() ?? "";
        parts.forEach(onLine);
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited with ${code} before starting:\n${lines.join("\n")}`));
    });
  });
  return {
    child,
    ports: bound,
    lines,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
