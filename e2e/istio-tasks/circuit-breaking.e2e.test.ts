// Istio task "Circuit Breaking" (https://istio.io/latest/docs/tasks/traffic-management/circuit-breaking/)
// on bookinfo: the page's DestinationRule (maxConnections 1, http1MaxPendingRequests 1,
// maxRequestsPerConnection 1) on productpage, whose client is the ingress gateway; concurrent
// load (the page's `fortio load -c 3`) then gets a share of 503s that the proxy answered itself:
// `x-envoy-overloaded: true`, response flag UO in the gateway's access log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MeshEndpoints } from "./support/local-mesh.ts";
import { applyYaml, eventually, fixture } from "./support/mesh-config.ts";
import { accessLog, logOffset, prometheusSamples, resetToBaseline, sumWhere } from "./support/mesh-state.ts";
import { MESH_HOOK_TIMEOUT, useLocalMesh } from "./support/use-local-mesh.ts";

let mesh: MeshEndpoints;
beforeAll(async () => {
  mesh = await useLocalMesh();
  await resetToBaseline(mesh);
}, MESH_HOOK_TIMEOUT);
afterAll(async () => {
  if (mesh !== undefined) await resetToBaseline(mesh);
});

/** 503s the breaker returned in the first test, for the stats check of the second. */
let tripped = 0;

describe("circuit breaking", () => {
  it("trips the breaker under concurrent load: a share of 503 with flag UO, the rest 200", { timeout: 120_000 }, async () => {
    await applyYaml(mesh, fixture("circuit-breaking-productpage.yaml"));
    const from = logOffset(mesh);
    const codes: number[] = [];
    let overloaded = 0;
    const total = 60;
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < total) {
          next++;
          const response = await fetch(`${mesh.gateway}/productpage`, { signal: AbortSignal.timeout(30_000) });
          await response.arrayBuffer();
          codes.push(response.status);
          if (response.status === 503 && response.headers.get("x-envoy-overloaded") === "true") overloaded++;
        }
      }),
    );
    const ok = codes.filter((c) => c === 200).length;
    tripped = codes.filter((c) => c === 503).length;
    console.log(`circuit breaking: ${total} calls, 4 at a time: 200 × ${ok}, 503 × ${tripped} (${((100 * tripped) / total).toFixed(1)} %), x-envoy-overloaded on ${overloaded}`);
    expect(ok + tripped).toBe(total);
    expect(ok).toBeGreaterThan(0);
    expect(tripped).toBeGreaterThan(0);
    expect(overloaded).toBe(tripped);
    // The gateway's access log says why: UO (upstream overflow) on /productpage.
    await eventually(async () => {
      const uo = accessLog(mesh, "ingress-gateway", from).filter((l) => l.entry["response_code"] === 503 && l.entry["response_flags"] === "UO");
      expect(uo.length).toBe(tripped);
    });
  });

  it("counts the overflows in the gateway's stats (the page's upstream_rq_pending_overflow)", async () => {
    expect(tripped, "the previous test tripped the breaker").toBeGreaterThan(0);
    const samples = await prometheusSamples(mesh.gatewayStats, "envoy_cluster_upstream_rq_pending_overflow");
    const overflow = sumWhere(samples, {});
    console.log(`circuit breaking: gateway envoy_cluster_upstream_rq_pending_overflow = ${overflow} (${samples.length} series)`);
    expect(overflow).toBeGreaterThan(0);
  });
});
