// Runs the real meshctl CLI (src/main.ts through tsx, workspace libs from source) as a child
// process from the workspace root, with a clean environment; shared by the process-level tests.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const workspaceRoot = fileURLToPath(new URL("../../../../", import.meta.url));
export const meshctlMain = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Environment without the caller's MESHWORK_* and NO_COLOR, so results do not depend on the shell. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("MESHWORK_") && key !== "NO_COLOR"));
  return { ...env, ...extra };
}

/** Runs meshctl from the workspace root, so paths in its output are workspace-relative. */
export function meshctl(args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", meshctlMain, ...args], {
      cwd: workspaceRoot,
      env: cleanEnv(options.env ?? {}),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}
