// Istio task "Mirroring" (https://istio.io/latest/docs/tasks/traffic-management/mirroring/) on
// bookinfo: reviews routed 100 % to v1 with a mirror to v2 (the page's httpbin VirtualService with
// host reviews). Every page still comes from v1 (no stars), and a copy of each reviews call
// reaches v2: its sidecar's inbound request count (istio_requests_total, reporter="destination")
// grows by at least as many calls as were made.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleReviews } from "./support/bookinfo-client.ts";
import type { MeshEndpoints } from "./support/local-mesh.ts";
import { applyYaml, eventually, fixture } from "./support/mesh-config.ts";
import { prometheusSamples, resetToBaseline, sumWhere } from "./support/mesh-state.ts";
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

async function inboundRequests(workload: "reviews-v1" | "reviews-v2"): Promise<number> {
  const samples = await prometheusSamples(`http://127.0.0.1:${mesh.workloads[workload].stats}`, "istio_requests_total");
  return sumWhere(samples, { reporter: "destination", destination_workload: workload });
}

describe("mirroring", () => {
  it("without a mirror, v2 gets nothing", async () => {
    const v2Before = await inboundRequests("reviews-v2");
    expect(await sampleReviews(mesh, 10)).toEqual({ v1: 10, v2: 0, v3: 0, "reviews-error": 0 });
    expect(await inboundRequests("reviews-v2")).toBe(v2Before);
  });

  it("with mirror: v2 and mirrorPercent 100, copies reach v2 while every answer comes from v1", async () => {
    await applyYaml(mesh, fixture("mirroring-reviews.yaml"));
    const v1Before = await inboundRequests("reviews-v1");
    const v2Before = await inboundRequests("reviews-v2");
    const n = 20;
    expect(await sampleReviews(mesh, n)).toEqual({ v1: n, v2: 0, v3: 0, "reviews-error": 0 });
    expect((await inboundRequests("reviews-v1")) - v1Before).toBeGreaterThanOrEqual(n);
    // Mirrored copies are fire-and-forget: wait for them to land.
    const mirrored = await eventually(async () => {
      const delta = (await inboundRequests("reviews-v2")) - v2Before;
      expect(delta).toBeGreaterThanOrEqual(n);
      return delta;
    });
    console.log(`mirroring: ${n} pages from v1; reviews-v2 received ${mirrored} mirrored requests`);
  });
});
