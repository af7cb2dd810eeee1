// Istio task "Request Timeouts" (https://istio.io/latest/docs/tasks/traffic-management/request-timeouts/):
// reviews routed to v2 (black stars); a 2 s delay on ratings still shows the stars, after about
// 2 s; a 0.5 s timeout on reviews then makes the page say "Sorry, product reviews are currently
// unavailable for this book." (in about 1 s: productpage's two attempts of 0.5 s each).
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
}, MESH_HOOK_TIMEOUT);
afterAll(async () => {
  if (mesh !== undefined) await resetToBaseline(mesh);
});

describe("request timeouts", () => {
  it("a 2 s ratings delay with a 0.5 s reviews timeout: the page reports reviews unavailable", { timeout: 120_000 }, async () => {
    await applyYaml(mesh, fixture("request-timeouts-reviews-v2.yaml"));
    expect(reviewsShown((await productPage(mesh)).html)).toBe("v2");

    await applyYaml(mesh, fixture("request-timeouts-ratings-delay.yaml"));
    const delayed = await productPage(mesh);
    console.log(`request timeouts: page with the 2 s ratings delay took ${delayed.ms} ms`);
    expect(reviewsShown(delayed.html)).toBe("v2");
    expect(delayed.ms).toBeGreaterThanOrEqual(1900);

    await applyYaml(mesh, fixture("request-timeouts-reviews-timeout.yaml"));
    const timedOut = await productPage(mesh);
    console.log(`request timeouts: page with the 0.5 s reviews timeout took ${timedOut.ms} ms (Istio's page: about 1 s)`);
    expect(timedOut.status).toBe(200);
    expect(reviewsShown(timedOut.html)).toBe("reviews-error");
    expect(timedOut.html).toContain("Sorry, product reviews are currently unavailable for this book.");
    expect(timedOut.html).not.toContain("Error fetching product details");
  });
});
