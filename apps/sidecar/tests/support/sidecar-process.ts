// Runs the real sidecar (src/main.ts through tsx, workspace libs from source) as a child process
// on ephemeral ports, and reads the bound ports from its "sidecar started" log line.
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { denoBinary, startSourceProcess } from "@meshwork/testing/processes";

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
export { denoBinary };

export interface SidecarProcessOptions {
  readonly env?: Record<string, string>;
  readonly runtime?: "node" | "deno";
  /** Bind every port to 0 (the default); false when `args` give the ports. */
  readonly ephemeralPorts?: boolean;
}

export async function startSidecarProcess(args: readonly string[], options: SidecarProcessOptions = {}): Promise<SidecarProcess> {
  const ports = options.ephemeralPorts === false ? [] : ["--outbound-port", "0", "--inbound-port", "0", "--admin-port", "0", "--stats-port", "0"];
  const sidecar = startSourceProcess(sidecarMain, [...ports, ...args], { cwd: workspaceRoot, name: "sidecar", runtime: options.runtime, env: options.env });
  const started = await sidecar.waitForLine("sidecar started", 30_000).catch((error: unknown) => {
    sidecar.kill();
    throw error;
  });
  return {
    child: sidecar.child,
    ports: started["ports"] as Record<string, number>,
    get lines() {
      return sidecar.outputLines();
    },
    exited: sidecar.exit,
    // SIGTERM and wait for the drain (no SIGKILL fallback within a test's time).
    stop: () => sidecar.stop({ graceMs: 600_000 }),
  };
}
