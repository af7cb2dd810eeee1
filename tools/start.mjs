#!/usr/bin/env node
// `npm start`: the whole local mesh (`meshctl up`, DESIGN.md §4). Builds the apps first (Nx
// caches the build, so a second start skips it), then runs meshctl and every part from dist/,
// which starts about twice as fast as running the sources through tsx. Arguments after
// `npm start --` go to `meshctl up` (e.g. `npm start -- --config mesh.yaml`). Ctrl-C reaches
// meshctl (same process group), which stops every part; SIGTERM to this process is passed on.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const apps = ["meshctl", "registry", "ca", "control-plane", "sidecar", "bookinfo"];
const started = performance.now();
const build = spawnSync("npx", ["nx", "run-many", "-t", "build", "-p", apps.join(","), "--output-style=static"], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, NX_NO_CLOUD: "true", NX_DAEMON: "false", NX_TUI: "false" },
});
if (build.status !== 0) {
  console.error(`npm start: building the apps failed (npx nx run-many -t build -p ${apps.join(",")}); see the errors above`);
  process.exit(1);
}
console.log(`Built the apps in ${((performance.now() - started) / 1000).toFixed(1)} s; starting the local mesh.`);
const child = spawn(process.execPath, ["apps/meshctl/dist/main.js", "up", "--from", "dist", ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
process.on("SIGTERM", () => child.kill("SIGTERM"));
process.on("SIGINT", () => undefined); // meshctl gets the terminal's SIGINT itself; wait for it to stop
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : 143)));
