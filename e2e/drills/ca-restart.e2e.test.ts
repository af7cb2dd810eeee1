// Failure drill: restart the ca (SIGTERM, then the same command line again unless meshctl up
// restarts it itself) under steady load through the gateway. Workloads keep their SVIDs while the
// ca is away, so the goal is zero failed requests (reported). Must hold: the ca is ready again with
// the same root (its state dir), and the mesh keeps serving.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive, workspaceRoot, type MeshEndpoints } from "../istio-tasks/support/local-mesh.ts";
import { MESH_HOOK_TIMEOUT, useLocalMesh } from "../istio-tasks/support/use-local-mesh.ts";
import { describeLoad, meshIntact, pidOf, sleep, startLoad, stopIfDamaged } from "./support/steady-load.ts";

let mesh: MeshEndpoints;
let restarted: ChildProcess | undefined;
beforeAll(async () => {
  mesh = await useLocalMesh();
}, MESH_HOOK_TIMEOUT);
afterAll(async () => {
  if (restarted !== undefined && restarted.exitCode === null) restarted.kill("SIGTERM");
  await stopIfDamaged(mesh);
});

async function caReady(): Promise<boolean> {
  try {
    const response = await fetch(`${mesh.caAdmin}/readyz`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

describe("drill: restart the ca", () => {
  it("the ca comes back with the same root while the gateway keeps serving bookinfo", { timeout: 150_000 }, async () => {
    const pid = pidOf(mesh, "ca");
    // Its command line, to start it again as meshctl up did (node --import tsx ... apps/ca/src/main.ts ...).
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a !== "");
    const root = readFileSync(join(mesh.stateDir, "ca", "root-cert.pem"), "utf8");
    const load = startLoad(mesh);
    await sleep(3000);
    process.kill(pid, "SIGTERM");
    for (let waited = 0; waited < 15_000 && isAlive(pid); waited += 100) await sleep(100);
    load.mark();
    // meshctl up may restart it itself; if not within 3 s, start it as it did.
    for (let waited = 0; waited < 3000 && !(await caReady()); waited += 250) await sleep(250);
    if (!(await caReady())) {
      restarted = spawn(argv[0] as string, argv.slice(1), { cwd: workspaceRoot, stdio: "ignore" });
    }
    let ready = false;
    for (let waited = 0; waited < 60_000 && !ready; waited += 250) {
      ready = await caReady();
      if (!ready) await sleep(250);
    }
    await sleep(3000);
    const result = await load.stop();
    console.log(describeLoad("restart the ca", result));
    expect(meshIntact(mesh).meshctl, "meshctl up must keep the mesh running while the ca restarts").toBe(true);
    expect(ready, "the ca is ready again").toBe(true);
    expect(readFileSync(join(mesh.stateDir, "ca", "root-cert.pem"), "utf8")).toBe(root);
    expect(result.okAfterMark).toBeGreaterThan(0);
  });
});
