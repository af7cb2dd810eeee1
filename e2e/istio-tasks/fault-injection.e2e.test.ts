// Istio task "Fault Injection" (https://istio.io/latest/docs/tasks/traffic-management/fault-injection/):
// with virtual-service-all-v1.yaml and virtual-service-reviews-test-v2.yaml in force (jason →
// reviews v2, which calls ratings), a 7 s delay on ratings for jason makes the page say "Sorry,
// product reviews are currently unavailable for this book." after about 6 s — productpage's 3 s
// timeout to reviews, tried twice, ends before reviews v2's 10 s timeout to ratings; an HTTP 500
// abort on ratings for jason makes the page say "Ratings service is currently unavailable".
// Other users are not affected by either fault.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productPage, reviewsShown } from "./support/bookinfo-client.ts";
import type { MeshEndpoints } from "./support/local-mesh.ts";
import { applyYaml, fixture } from "./support/mesh-config.ts";
import { resetToBaseline } from "./support/mesh-state.ts";
import { MESH_HOOK_TIMEOUT, useLocalMesh } from "./support/use-local-mesh.ts";

let mesh: MeshEndpoints;
beforeAll(async () => {
  mesh = await useLocalMesh();
  await resetToBaseline(mesh);
  await applyYaml(mesh, fixture("virtual-service-all-v1.yaml"));
  await applyYaml(mesh, fixture("virtual-service-reviews-test-v2.yaml"));
}, MESH_HOOK_TIMEOUT);
afterAll(async () => {
  if (mesh !== undefined) await resetToBaseline(mesh);
});

describe("fault injection", () => {
  it("a 7 s delay to ratings for jason: the page gives up on reviews after productpage's two 3 s attempts", { timeout: 120_000 }, async () => {
    await applyYaml(mesh, fixture("virtual-service-ratings-test-delay.yaml"));
    const jason = await productPage(mesh, { user: "jason" });
    console.log(`fault injection: jason's page with the 7 s ratings delay took ${jason.ms} ms (Istio's page: about 6 s)`);
    expect(jason.status).toBe(200);
    expect(reviewsShown(jason.html)).toBe("reviews-error");
    expect(jason.html).toContain("Sorry, product reviews are currently unavailable for this book.");
    expect(jason.html).not.toContain("Error fetching product details");
    // Two attempts of 3 s each: the delay was served, not skipped (a lower bound only, load cannot break it).
    expect(jason.ms).toBeGreaterThanOrEqual(5500);
    const other = await productPage(mesh);
    expect(reviewsShown(other.html)).toBe("v1");
  });

  it("an HTTP 500 abort to ratings for jason: reviews v2 shows \"Ratings service is currently unavailable\"", async () => {
    await applyYaml(mesh, fixture("virtual-service-ratings-test-abort.yaml"));
    const jason = await productPage(mesh, { user: "jason" });
    expect(jason.status).toBe(200);
    expect(jason.html).toContain("Ratings service is currently unavailable");
    expect(jason.html).toMatch(/Reviews served by:\s*reviews-v2/);
    expect(jason.html).not.toMatch(/class="flex gap-x-1 text-black-500"/);
    const other = await productPage(mesh);
    expect(reviewsShown(other.html)).toBe("v1");
    expect(other.html).not.toContain("Ratings service is currently unavailable");
  });
});
