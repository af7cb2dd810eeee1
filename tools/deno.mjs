#!/usr/bin/env node
// `node tools/deno.mjs <app> [args...]`: runs one Meshwork app's
// entry, unchanged, under Deno (the root devDependency `deno`, 2.9.5), from the TypeScript sources:
//   deno run -A --conditions=@meshwork/source apps/<app>/src/main.ts [args...]
// `--conditions=@meshwork/source` makes the workspace libraries resolve to their src/index.ts (as
// tsx does under Node); Deno reads the root package.json and uses the npm-installed node_modules;
// no --sloppy-imports (imports name `.ts` files) and no --unstable-* flag are needed.
// Extra Deno flags go before the app: `node tools/deno.mjs --deno-flag=--inspect sidecar ...`.
// Signals reach the app (same process group for Ctrl-C; SIGTERM is passed on) and its exit code is ours.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const apps = ["registry", "ca", "control-plane", "sidecar", "bookinfo", "meshctl"];

/** The Deno executable npm installed (the `deno` package links its platform binary on first use). */
function denoExecutable() {
  const require = createRequire(join(root, "package.json"));
  return require("deno/install_api.cjs").runInstall();
}

const argv = process.argv.slice(2);
const denoFlags = [];
while (argv[0]?.startsWith("--deno-flag=")) denoFlags.push(argv.shift().slice("--deno-flag=".length));
const app = argv.shift();
if (app === undefined || app === "--help" || app === "-h" || !apps.includes(app)) {
  const problem = app === undefined || app === "--help" || app === "-h" ? "" : `tools/deno.mjs: unknown app "${app}"; choose one of ${apps.join(", ")}\n`;
  process.stderr.write(`${problem}usage: node tools/deno.mjs [--deno-flag=FLAG ...] <${apps.join("|")}> [app flags...]\n  e.g. node tools/deno.mjs registry --help\n`);
  process.exit(problem === "" ? 0 : 2);
}
const entry = join(root, "apps", app, "src", "main.ts");
if (!existsSync(entry)) {
  process.stderr.write(`tools/deno.mjs: ${entry} is missing; run this from a Meshwork checkout\n`);
  process.exit(2);
}
let deno;
try {
  deno = denoExecutable();
} catch (error) {
  process.stderr.write(`tools/deno.mjs: Deno is not installed (${error.message}); run \`npm ci\` (root devDependency deno)\n`);
  process.exit(2);
}
const child = spawn(deno, ["run", "-A", "--conditions=@meshwork/source", ...denoFlags, entry, ...argv], { cwd: process.cwd(), stdio: "inherit" });
process.on("SIGTERM", () => child.kill("SIGTERM"));
process.on("SIGINT", () => undefined); // the app gets the terminal's SIGINT itself; wait for it to stop
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : 143)));
