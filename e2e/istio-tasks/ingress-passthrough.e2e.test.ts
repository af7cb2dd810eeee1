// Istio task "Ingress Gateway without TLS Termination"
// (https://istio.io/latest/docs/tasks/traffic-management/ingress/ingress-sni-passthrough/) on the
// local mesh's ingress gateway, managed by the control plane: an HTTPS server with its own
// certificate for nginx.example.com (the task's my-nginx), a Gateway in PASSTHROUGH mode and a
// VirtualService `tls` route by SNI. The client completes its handshake with the server's own
// certificate (the gateway does not terminate), and an SNI the route does not take is refused.
import { createServer, type Server } from "node:https";
import { mkdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { eventually, httpsGet, issueWithOpenssl, readIssued, type HttpsAnswer } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topology, type MeshEndpoints } from "./support/local-mesh.ts";
import { applyYaml, deleteYaml, fixture } from "./support/mesh-config.ts";
import { resetToBaseline } from "./support/mesh-state.ts";
import { MESH_HOOK_TIMEOUT, useLocalMesh } from "./support/use-local-mesh.ts";

/** A port of the gateway beside the bookinfo one (the secure-gateways task takes the next). */
const passthroughPort = topology.gatewayPort + 2;

let mesh: MeshEndpoints;
let nginx: Server;
let caPem: string;
let nginxSerial: string;
let applied: string | undefined;

beforeAll(async () => {
  mesh = await useLocalMesh();
  const certDir = join(mesh.stateDir, "ingress-passthrough-certs");
  await mkdir(certDir, { recursive: true });
  caPem = (await readIssued(await issueWithOpenssl(certDir, "example.com", "example.com", ""))).cert;
  const leaf = await readIssued(await issueWithOpenssl(certDir, "nginx.example.com", "nginx.example.com", "DNS:nginx.example.com", join(certDir, "example.com")));
  nginxSerial = new X509Certificate(leaf.cert).serialNumber;
  nginx = createServer({ cert: leaf.cert, key: leaf.key }, (_request, response) => response.end("Welcome to nginx!\n"));
  const nginxPort = await new Promise<number>((resolve) => nginx.listen(0, topology.host, () => resolve((nginx.address() as AddressInfo).port)));
  applied = fixture("ingress-passthrough-nginx.yaml").replaceAll("PASSTHROUGH_PORT", String(passthroughPort)).replaceAll("NGINX_PORT", String(nginxPort));
  await applyYaml(mesh, applied);
}, MESH_HOOK_TIMEOUT);
afterAll(async () => {
  // A reset keeps ServiceEntries (the baseline's bookinfo ones): my-nginx goes explicitly.
  if (mesh !== undefined && applied !== undefined) await deleteYaml(mesh, applied);
  if (mesh !== undefined) await resetToBaseline(mesh);
  nginx?.close();
});

const get = (servername: string): Promise<HttpsAnswer> => httpsGet(passthroughPort, servername, { ca: caPem });

describe("ingress gateway without TLS termination", () => {
  it("passes the client's TLS to the server by SNI: the client sees the server's own certificate", async () => {
    const answer = await eventually("nginx through the passthrough port", async () => {
      const got = await get("nginx.example.com").catch(() => undefined);
      return got?.status === 200 ? got : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    expect(answer).toMatchObject({ status: 200, body: "Welcome to nginx!\n", serial: nginxSerial });
  });

  it("refuses an SNI no tls route takes", async () => {
    await expect(get("other.example.com")).rejects.toThrow();
  });
});
