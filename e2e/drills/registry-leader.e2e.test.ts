// Failure drill: kill -9 the registry's Raft leader under steady load through the gateway. The
// two other servers elect a new leader; the data plane does not depend on the registry for
// requests in flight, so the goal is zero failed requests (reported, not asserted); what must hold:
// a new leader, the mesh keeps serving, and meshctl up keeps the other parts running.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topology, waitForMeshReady, type MeshEndpoints } from "../istio-tasks/support/local-mesh.ts";
import { MESH_HOOK_TIMEOUT, useLocalMesh } from "../istio-tasks/support/use-local-mesh.ts";
import { describeLoad, meshIntact, pidOf, sleep, startLoad, stopIfDamaged } from "./support/steady-load.ts";

let mesh: MeshEndpoints;
beforeAll(async () => {
  mesh = await useLocalMesh();
}, MESH_HOOK_TIMEOUT);
afterAll(async () => {
  await stopIfDamaged(mesh);
});

async function leaderIndex(exclude?: number): Promise<number | undefined> {
  for (const [i, base] of mesh.registryHttp.entries()) {
    if (i === exclude) continue;
    try {
      const response = await fetch(`${base}/v1/status/leader`, { signal: AbortSignal.timeout(2000) });
      const address = (await response.json()) as string;
      const port = Number(address.split(":").pop());
      if (Number.isInteger(port) && port > 0) return Math.floor((port - topology.basePort) / 10);
    } catch {
      // that server is down or has no leader yet
    }
  }
  return undefined;
}

describe("drill: kill -9 the registry leader", () => {
  it("elects a new leader while the gateway keeps serving bookinfo", { timeout: 120_000 }, async () => {
    const leader = await leaderIndex();
    expect(leader, "a registry leader before the drill").toBeDefined();
    const name = `registry-${(leader as number) + 1}`;
    const load = startLoad(mesh);
    await sleep(3000);
    const killed = pidOf(mesh, name);
    process.kill(killed, "SIGKILL");
    load.mark();
    let next: number | undefined;
    for (let waited = 0; waited < 15_000; waited += 250) {
      next = await leaderIndex(leader);
      if (next !== undefined && next !== leader) break;
      await sleep(250);
    }
    await sleep(5000);
    const result = await load.stop();
    console.log(describeLoad(`kill -9 ${name} (registry leader)`, result));
    // meshctl up keeps the mesh running and restarts the killed server (1 s later; up.json names its new pid).
    // Well inside the test's timeout, so a part that does not come back is named in the failure.
    await waitForMeshReady(mesh, 80_000);
    expect(meshIntact(mesh), "meshctl up must keep the mesh running and restart the part that exited").toEqual({ meshctl: true, dead: [] });
    expect(pidOf(mesh, name)).not.toBe(killed);
    expect(next, "a new leader among the other servers").toBeDefined();
    expect(next).not.toBe(leader);
    expect(result.okAfterMark).toBeGreaterThan(0);
  });
});
