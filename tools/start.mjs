#!/usr/bin/env node
// `npm start`: the whole local mesh (`meshctl up`, DESIGN.md §4). Builds the apps first (with Nx,
// skipped when every dist/ is newer than every source), then runs meshctl and every part from dist/,
// which starts about twice as fast as running the sources through tsx. Arguments after
// `npm start --` go to `meshctl up` (e.g. `npm start -- --config mesh.yaml`). Ctrl-C reaches
// meshctl (same process group), which stops every part; SIGTERM to this process is passed on.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const apps = ["meshctl", "registry", "ca", "control-plane", "sidecar", "bookinfo"];
const started = performance.now();

/** Newest modification time of the sources under `dir` (recursively; dist and node_modules skipped). */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === "dist" || entry.name === "out-tsc") continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}
/** Whether every app's dist/main.js is newer than every source of the apps and libs (then Nx, ~8 s to start, is skipped). */
function builtIsFresh() {
  try {
    const oldestBuild = Math.min(...apps.map((app) => statSync(join(root, "apps", app, "dist", "main.js")).mtimeMs));
    const sources = Math.max(...["apps", "libs"].flatMap((top) => readdirSync(join(root, top)).map((name) => newestSource(join(root, top, name, "src")))));
    return oldestBuild > sources;
  } catch {
    return false;
  }
}

const build = builtIsFresh() ? { status: 0, skipped: true } : spawnSync("npx", ["nx", "run-many", "-t", "build", "-p", apps.join(","), "--output-style=static"], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, NX_NO_CLOUD: "true", NX_DAEMON: "false", NX_TUI: "false" },
});
if (build.status !== 0) {
  console.error(`npm start: building the apps failed (npx nx run-many -t build -p ${apps.join(",")}); see the errors above`);
  process.exit(1);
}
console.log(build.skipped ? "The apps' builds are up to date; starting the local mesh." : `Built the apps in ${((performance.now() - started) / 1000).toFixed(1)} s; starting the local mesh.`);
const child = spawn(process.execPath, ["apps/meshctl/dist/main.js", "up", "--from", "dist", ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
process.on("SIGTERM", () => child.kill("SIGTERM"));
process.on("SIGINT", () => undefined); // meshctl gets the terminal's SIGINT itself; wait for it to stop
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : 143)));
