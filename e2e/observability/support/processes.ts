// Child processes of the observability suites: the real sidecar and control plane from source
// (tsx, workspace libs through the @meshwork/source condition), with their JSON log lines
// (@meshwork/testing/processes, run from the workspace root).
import { fileURLToPath } from "node:url";
import { startSourceProcess, type StartedProcess } from "@meshwork/testing/processes";

export { eventually } from "@meshwork/testing/processes";

export const workspaceRoot = fileURLToPath(new URL("../../../", import.meta.url));

export type Child = StartedProcess;

/** Starts `entry` (relative to the workspace root) with `args`; `env` is added to the runner's, without its MESHWORK_* variables. */
export const startChild = (name: string, entry: string, args: readonly string[], env: Record<string, string> = {}): Child =>
  startSourceProcess(entry, args, { cwd: workspaceRoot, env, name });
