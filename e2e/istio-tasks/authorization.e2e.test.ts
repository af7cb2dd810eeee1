// Istio task "Authorization for HTTP traffic" (https://istio.io/latest/docs/tasks/security/authorization/authz-http/)
// on bookinfo, step by step: allow-nothing denies every workload ("RBAC: access denied"); then
// productpage-viewer lets GETs reach productpage (details and reviews still fail), details-viewer
// and reviews-viewer let productpage's identity (cluster.local/ns/default/sa/bookinfo-productpage)
// read them (ratings still fails: "Ratings service is currently unavailable"), and ratings-viewer
// lets reviews' identity read ratings (stars again). Reviews is routed to v3 so that the page
// always calls ratings (the page's "refresh until you see stars").
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
  await applyYaml(mesh, fixture("virtual-service-reviews-v3.yaml"));
}, MESH_HOOK_TIMEOUT);
afterAll(async () => {
  if (mesh !== undefined) await resetToBaseline(mesh);
});

describe("authorization for HTTP traffic", () => {
  it("allow-nothing: the browser gets \"RBAC: access denied\"", async () => {
    await applyYaml(mesh, fixture("authz-allow-nothing.yaml"));
    const page = await productPage(mesh);
    expect(page.status).toBe(403);
    expect(page.html.trim()).toBe("RBAC: access denied");
  });

  it("productpage-viewer: the page loads, details and reviews are denied", async () => {
    await applyYaml(mesh, fixture("authz-productpage-viewer.yaml"));
    const page = await productPage(mesh);
    expect(page.status).toBe(200);
    expect(page.html).toContain("Simple Bookstore App");
    expect(page.html).toContain("Error fetching product details");
    expect(page.html).toContain("Error fetching product reviews");
  });

  it("details-viewer: productpage's identity may read details", async () => {
    await applyYaml(mesh, fixture("authz-details-viewer.yaml"));
    const page = await productPage(mesh);
    expect(page.html).not.toContain("Error fetching product details");
    expect(page.html).toContain("Error fetching product reviews");
  });

  it("reviews-viewer: reviews shows, ratings is still denied", async () => {
    await applyYaml(mesh, fixture("authz-reviews-viewer.yaml"));
    const page = await productPage(mesh);
    expect(page.html).not.toContain("Error fetching product details");
    expect(page.html).not.toContain("Error fetching product reviews");
    expect(page.html).toContain("Ratings service is currently unavailable");
  });

  it("ratings-viewer: reviews' identity may read ratings, the stars are back", async () => {
    await applyYaml(mesh, fixture("authz-ratings-viewer.yaml"));
    const page = await productPage(mesh);
    expect(page.html).not.toContain("Ratings service is currently unavailable");
    expect(reviewsShown(page.html)).toBe("v3");
  });
});
