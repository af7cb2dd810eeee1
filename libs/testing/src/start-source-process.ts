// Runs a workspace entry point (a .ts file) from source: Node with tsx, or Deno, both resolving
// workspace libs through the "@meshwork/source" export condition, as the apps' `serve` targets do.
import { join } from "node:path";
import { startProcess, type StartedProcess, type StartProcessOptions } from "./start-process.ts";

/** The Deno binary npm installs (root devDependency `deno`). */
export const denoBinary = join(import.meta.dirname, "../../../node_modules/@deno/linux-x64-glibc/deno");

export interface StartSourceProcessOptions extends StartProcessOptions {
  /** "node" (the default: `node --import tsx`) or "deno" (`deno run -A`). */
  readonly runtime?: "node" | "deno";
}

/** Starts `entry` (relative to `options.cwd`, or absolute) with `args`; see startProcess. */
export function startSourceProcess(entry: string, args: readonly string[], options: StartSourceProcessOptions = {}): StartedProcess {
  const { runtime = "node", ...rest } = options;
  const name = rest.name ?? entry;
  if (runtime === "deno") return startProcess(denoBinary, ["run", "-A", "--conditions=@meshwork/source", entry, ...args], { ...rest, name });
  return startProcess(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", entry, ...args], { ...rest, name });
}
