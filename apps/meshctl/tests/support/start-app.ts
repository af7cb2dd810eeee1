// Starts one of the workspace's apps (its src/main.ts through tsx) as a child process for a
// process-level test, waits until its readiness URL answers 2xx, and stops it on cleanup.
import { spawn, type ChildProcess } from "node:child_process";
import { cleanEnv, workspaceRoot } from "./run-meshctl.ts";

export interface StartedApp {
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

/** Starts `apps/<app>/src/main.ts` with `args`; rejects with its output if it exits or is not ready in time. */
export async function startApp(app: string, args: readonly string[], readyUrl: string, timeoutMs = 60_000): Promise<StartedApp> {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", `apps/${app}/src/main.ts`, ...args], { cwd: workspaceRoot, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${app} exited with ${child.exitCode}:\n${output}`);
    try {
      const response = await fetch(readyUrl);
      await response.arrayBuffer();
      if (response.ok) return { child, output: () => output, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${app} was not ready at ${readyUrl} within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
