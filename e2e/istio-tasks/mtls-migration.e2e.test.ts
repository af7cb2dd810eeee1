// Istio task "Mutual TLS Migration" (https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/)
// on bookinfo: in PERMISSIVE mode (no PeerAuthentication) a plain-text client without a sidecar
// (the page's sleep.legacy; here the test itself) reaches a workload's inbound port; with the
// page's namespace-wide STRICT PeerAuthentication it is refused (the page's curl exit code 56),
// while mesh clients (the gateway → productpage → details/reviews, all with SVIDs) still get 200.
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productPage } from "./support/bookinfo-client.ts";
import type { MeshEndpoints } from "./support/local-mesh.ts";
import { applyYaml, deleteYaml, eventually, fixture } from "./support/mesh-config.ts";
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
 * A plain-text GET to details' inbound port on a new connection (a kept-alive one would predate
 * the policy), as a client without a sidecar: "HTTP 200", "HTTP <code>: <the answer's start>" (a
 * failure says why), or "refused".
 */
function legacyClient(): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port: mesh.workloads["details-v1"].inbound, path: "/details/0", agent: false, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(res.statusCode === 200 ? "HTTP 200" : `HTTP ${res.statusCode ?? 0}: ${body.slice(0, 200)}`));
      res.on("error", () => resolve("refused"));
    });
    req.on("error", () => resolve("refused"));
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.end();
  });
}

describe("mutual TLS migration", () => {
  it("PERMISSIVE: a plain-text client without a sidecar reaches the workload", async () => {
    expect(await legacyClient()).toBe("HTTP 200");
    const page = await productPage(mesh);
    expect(page.html).not.toContain("Error fetching product details");
  });

  it("STRICT PeerAuthentication in the namespace: the plain-text client is refused, mesh traffic still flows", async () => {
    await applyYaml(mesh, fixture("mtls-strict-namespace.yaml"), "default");
    expect(await legacyClient()).toBe("refused");
    const page = await productPage(mesh);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain("Error fetching product details");
    expect(page.html).not.toContain("Error fetching product reviews");
  });

  it("removing the PeerAuthentication lets the plain-text client in again", async () => {
    await deleteYaml(mesh, fixture("mtls-strict-namespace.yaml"), "default");
    expect(await eventually(async () => {
      const outcome = await legacyClient();
      expect(outcome).toBe("HTTP 200");
      return outcome;
    })).toBe("HTTP 200");
  });
});
