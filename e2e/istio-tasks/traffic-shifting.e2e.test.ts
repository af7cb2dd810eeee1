// Istio task "Traffic Shifting" (https://istio.io/latest/docs/tasks/traffic-management/traffic-shifting/):
// all traffic to reviews v1, then virtual-service-reviews-50-v3.yaml splits it 50/50 between v1
// (no stars) and v3 (red stars) — checked as a binomial count, never v2 — then
// virtual-service-reviews-v3.yaml sends all of it to v3.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleReviews } from "./support/bookinfo-client.ts";
import type { MeshEndpoints } from "./support/local-mesh.ts";
import { applyYaml, fixture } from "./support/mesh-config.ts";
import { resetToBaseline } from "./support/mesh-state.ts";
import { MESH_HOOK_TIMEOUT, useLocalMesh } from "./support/use-local-mesh.ts";

let mesh: MeshEndpoints;
beforeAll(async () => {
  mesh = await useLocalMesh();
  await resetToBaseline(mesh);
}, MESH_HOOK_TIMEOUT);
afterAll(async () => {
  if (mesh !== undefined) await resetToBaseline(mesh);
});

/**
 * The counts of a fair split of n draws that a correct 50/50 router leaves only with probability
 * below ~1e-6: n/2 ± 5 standard deviations (sd = sqrt(n)/2).
 */
function fairBounds(n: number): [number, number] {
  const sd = Math.sqrt(n) / 2;
  return [Math.ceil(n / 2 - 5 * sd), Math.floor(n / 2 + 5 * sd)];
}

describe("traffic shifting", () => {
  it("moves reviews from v1 to v3: 100 % v1, then 50/50 v1/v3, then 100 % v3 (red stars)", { timeout: 180_000 }, async () => {
    await applyYaml(mesh, fixture("virtual-service-all-v1.yaml"));
    expect(await sampleReviews(mesh, 10)).toEqual({ v1: 10, v2: 0, v3: 0, "reviews-error": 0 });

    await applyYaml(mesh, fixture("virtual-service-reviews-50-v3.yaml"));
    const n = 200;
    const split = await sampleReviews(mesh, n);
    const [low, high] = fairBounds(n);
    console.log(`traffic shifting 50/50: ${split.v1} v1, ${split.v3} v3 of ${n} (accepted v3 count: ${low}..${high})`);
    expect(split.v2).toBe(0);
    expect(split["reviews-error"]).toBe(0);
    expect(split.v1 + split.v3).toBe(n);
    expect(split.v3).toBeGreaterThanOrEqual(low);
    expect(split.v3).toBeLessThanOrEqual(high);

    await applyYaml(mesh, fixture("virtual-service-reviews-v3.yaml"));
    expect(await sampleReviews(mesh, 20)).toEqual({ v1: 0, v2: 0, v3: 20, "reviews-error": 0 });
  });
});
