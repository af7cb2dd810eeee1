// Istio task "Request Routing" (https://istio.io/latest/docs/tasks/traffic-management/request-routing/)
// on the local mesh: virtual-service-all-v1.yaml sends every request to reviews v1 (the page has
// no stars); virtual-service-reviews-test-v2.yaml sends user jason (productpage's `end-user`
// header, set when he signs in) to v2 (black stars) and everyone else to v1.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productPage, reviewsShown, sampleReviews } from "./support/bookinfo-client.ts";
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

describe("request routing", () => {
  it("serves the product page through the ingress gateway (bookinfo before any rule)", async () => {
    const page = await productPage(mesh);
    expect(page.status).toBe(200);
    expect(page.html).toContain("Simple Bookstore App");
    expect(page.html).not.toContain("Error fetching product details");
    expect(page.html).not.toContain("Error fetching product reviews");
  });

  it("routes every request to reviews v1 with virtual-service-all-v1.yaml: no stars, ever", async () => {
    await applyYaml(mesh, fixture("virtual-service-all-v1.yaml"));
    expect(await sampleReviews(mesh, 20)).toEqual({ v1: 20, v2: 0, v3: 0, "reviews-error": 0 });
  });

  it("routes jason to reviews v2 (black stars) and everyone else to v1 with virtual-service-reviews-test-v2.yaml", async () => {
    await applyYaml(mesh, fixture("virtual-service-all-v1.yaml"));
    await applyYaml(mesh, fixture("virtual-service-reviews-test-v2.yaml"));
    const jason = await productPage(mesh, { user: "jason" });
    expect(jason.html).toContain('id="user">jason<');
    expect(reviewsShown(jason.html)).toBe("v2");
    expect(jason.html).toMatch(/class="flex gap-x-1 text-black-500"/);
    expect(await sampleReviews(mesh, 10, { user: "jason" })).toEqual({ v1: 0, v2: 10, v3: 0, "reviews-error": 0 });
    expect(await sampleReviews(mesh, 10)).toEqual({ v1: 10, v2: 0, v3: 0, "reviews-error": 0 });
    // Another user is not jason.
    expect(await sampleReviews(mesh, 5, { user: "alice" })).toEqual({ v1: 5, v2: 0, v3: 0, "reviews-error": 0 });
  });
});
