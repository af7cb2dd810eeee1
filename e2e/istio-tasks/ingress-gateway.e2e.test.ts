// Istio task "Ingress Gateways" (https://istio.io/latest/docs/tasks/traffic-management/ingress/ingress-control/)
// on the local mesh's ingress gateway (a sidecar in router mode): bookinfo-gateway.yaml's routes
// (/productpage, /api/v1/products, /login, /static) reach productpage and nothing else does; a
// second Gateway + VirtualService for the host details.example.com (the page's httpbin.example.com)
// routes /details and /health to details, and an unknown path or host gets 404.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productPage } from "./support/bookinfo-client.ts";
import { topology, type MeshEndpoints } from "./support/local-mesh.ts";
import { applyYaml, fixture } from "./support/mesh-config.ts";
import { resetToBaseline } from "./support/mesh-state.ts";
import { MESH_HOOK_TIMEOUT, useLocalMesh } from "./support/use-local-mesh.ts";

let mesh: MeshEndpoints;
beforeAll(async () => {
  mesh = await useLocalMesh();
}, MESH_HOOK_TIMEOUT);
afterAll(async () => {
  if (mesh !== undefined) await resetToBaseline(mesh);
});

async function get(path: string, host?: string): Promise<{ status: number; body: string }> {
  // fetch cannot set Host; node:http can.
  const { request } = await import("node:http");
  const url = new URL(path, mesh.gateway);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers: host === undefined ? {} : { host }, timeout: 20_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
    req.end();
  });
}

describe("ingress gateway", () => {
  it("bookinfo-gateway routes the product page and its API, and nothing else", async () => {
    const page = await productPage(mesh);
    expect(page.status).toBe(200);
    expect(page.html).toContain("Simple Bookstore App");
    const products = await get("/api/v1/products");
    expect(products.status).toBe(200);
    expect((JSON.parse(products.body) as { title: string }[])[0]?.title).toBe("The Comedy of Errors");
    expect((await get("/details/0")).status).toBe(404);
  });

  it("a Gateway and VirtualService for details.example.com route /details and /health to details", async () => {
    await resetToBaseline(mesh);
    await applyYaml(mesh, fixture("ingress-details-gateway.yaml").replaceAll("GATEWAY_PORT", String(topology.gatewayPort)));
    const details = await get("/details/0", "details.example.com");
    expect(details.status).toBe(200);
    expect(JSON.parse(details.body)).toMatchObject({ id: 0, type: "paperback" });
    expect((await get("/health", "details.example.com")).status).toBe(200);
    // Paths the VirtualService does not match: 404 from the gateway.
    expect((await get("/ratings/0", "details.example.com")).status).toBe(404);
    // Other hosts still get bookinfo-gateway's routes only.
    expect((await get("/details/0", "other.example.com")).status).toBe(404);
    expect((await productPage(mesh)).status).toBe(200);
  });
});
