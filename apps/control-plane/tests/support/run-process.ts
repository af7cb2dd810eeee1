// Runs an app's real entry point as a child process (node --import tsx, sources through the
// @meshwork/source condition) and follows its JSON log lines: @meshwork/testing/processes, with
// the app's directory as the working directory.
import { basename } from "node:path";
import { startSourceProcess, type StartedProcess } from "@meshwork/testing/processes";

export { eventually, freePort } from "@meshwork/testing/processes";

export type Run = StartedProcess;

/** Starts `<cwd>/src/main.ts` with `args`, named after the app's directory in error messages. */
export const runProcess = (cwd: string, args: readonly string[]): Run => startSourceProcess("src/main.ts", args, { cwd, name: basename(cwd) });
