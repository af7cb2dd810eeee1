// Failure drill: kill -9 a control-plane replica (the one most proxies are connected to) under
// steady load through the gateway. Proxies keep their last config and reconnect to the other
// replica; goal zero failed requests (reported). Must hold: every proxy is SYNCED on the surviving
// replica again, config applied afterwards still reaches the proxies, the mesh keeps serving.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleReviews } from "../istio-tasks/support/bookinfo-client.ts";
import { waitForMeshReady, type MeshEndpoints } from "../istio-tasks/support/local-mesh.ts";
import { applyYaml, EXPECTED_PROXIES, fixture, syncStatus } from "../istio-tasks/support/mesh-config.ts";
import { resetToBaseline } from "../istio-tasks/support/mesh-state.ts";
import { MESH_HOOK_TIMEOUT, useLocalMesh } from "../istio-tasks/support/use-local-mesh.ts";
import { describeLoad, meshIntact, pidOf, sleep, startLoad, stopIfDamaged } from "./support/steady-load.ts";

let mesh: MeshEndpoints;
beforeAll(async () => {
  mesh = await useLocalMesh();
}, MESH_HOOK_TIMEOUT);
afterAll(async () => {
  await stopIfDamaged(mesh);
});

describe("drill: kill a control-plane replica", () => {
  it("proxies move to the other replica and keep serving; new config still arrives", { timeout: 150_000 }, async () => {
    const before = await syncStatus(mesh);
    expect(before.length, "proxies connected to the control plane before the drill").toBeGreaterThanOrEqual(EXPECTED_PROXIES);
    const counts = new Map<string, number>();
    for (const s of before) counts.set(s.controlPlane, (counts.get(s.controlPlane) ?? 0) + 1);
    const victim = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] as string;
    const load = startLoad(mesh);
    await sleep(3000);
    const killed = pidOf(mesh, victim);
    process.kill(killed, "SIGKILL");
    load.mark();
    let moved = false;
    for (let waited = 0; waited < 20_000 && !moved; waited += 250) {
      const now = await syncStatus(mesh);
      moved = now.length >= EXPECTED_PROXIES && now.every((s) => s.controlPlane !== victim && s.state === "SYNCED");
      if (!moved) await sleep(250);
    }
    await sleep(3000);
    const result = await load.stop();
    console.log(describeLoad(`kill -9 ${victim}`, result));
    // meshctl up keeps the mesh running and restarts the killed part (1 s later; up.json names its new pid).
    // Well inside the test's timeout, so a part that does not come back is named in the failure.
    await waitForMeshReady(mesh, 80_000);
    expect(meshIntact(mesh), "meshctl up must keep the mesh running and restart the part that exited").toEqual({ meshctl: true, dead: [] });
    expect(pidOf(mesh, victim)).not.toBe(killed);
    expect(moved, `every proxy SYNCED on the surviving replica: ${JSON.stringify(await syncStatus(mesh))}`).toBe(true);
    expect(result.okAfterMark).toBeGreaterThan(0);
    // Config still flows through the surviving replica.
    await resetToBaseline(mesh);
    await applyYaml(mesh, fixture("virtual-service-all-v1.yaml"));
    expect(await sampleReviews(mesh, 5)).toEqual({ v1: 5, v2: 0, v3: 0, "reviews-error": 0 });
  });
});
