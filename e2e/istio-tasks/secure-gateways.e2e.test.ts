// Istio task "Secure Gateways" (https://istio.io/latest/docs/tasks/traffic-management/ingress/secure-ingress/)
// on the local mesh's ingress gateway: certificates made with openssl as the task makes them, the
// secret details-credential written into the gateway's credential directory (the task's `kubectl
// create secret tls`), a Gateway terminating TLS for details.example.com with SIMPLE, then the
// secret rotated (the task's "configure a TLS ingress gateway for multiple hosts" replaces it), then
// MUTUAL with the CA certificate added to the secret: a client without a certificate is refused,
// one with a certificate of the CA gets the details.
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { eventually, httpsGet, issueWithOpenssl, readIssued, type HttpsAnswer, type IssuedFiles } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topology, type MeshEndpoints } from "./support/local-mesh.ts";
import { applyYaml, fixture } from "./support/mesh-config.ts";
import { resetToBaseline } from "./support/mesh-state.ts";
import { MESH_HOOK_TIMEOUT, useLocalMesh } from "./support/use-local-mesh.ts";

/** A port of the gateway next to the bookinfo one, free in the local mesh's layout. */
const tlsPort = topology.gatewayPort + 1;

let mesh: MeshEndpoints;
let certDir: string;
let caPem: string;
let caPrefix: string;

beforeAll(async () => {
  mesh = await useLocalMesh();
  certDir = join(mesh.stateDir, "secure-gateways-certs");
  await mkdir(certDir, { recursive: true });
  caPrefix = join(certDir, "example.com");
  caPem = (await readIssued(await issueWithOpenssl(certDir, "example.com", "example.com", ""))).cert;
}, MESH_HOOK_TIMEOUT);
afterAll(async () => {
  if (mesh !== undefined) {
    await resetToBaseline(mesh);
    await rm(join(mesh.stateDir, "gateway-credentials", "details-credential"), { recursive: true, force: true });
  }
});

/** Writes the secret as a secret volume swaps it: a new directory renamed into place. */
async function writeCredential(files: IssuedFiles, withCa: boolean): Promise<void> {
  const material = await readIssued(files);
  const root = join(mesh.stateDir, "gateway-credentials");
  const staging = join(root, `.details-credential-${Date.now()}`);
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, "tls.crt"), material.cert);
  await writeFile(join(staging, "tls.key"), material.key);
  if (withCa) await writeFile(join(staging, "ca.crt"), caPem);
  await rm(join(root, "details-credential"), { recursive: true, force: true });
  await rename(staging, join(root, "details-credential"));
}

const applyGateway = (mode: "SIMPLE" | "MUTUAL"): Promise<void> =>
  applyYaml(mesh, fixture("secure-gateway-details.yaml").replaceAll("TLS_PORT", String(tlsPort)).replaceAll("TLS_MODE", mode));

/** `curl -v -HHost:details.example.com --resolve ... --cacert example.com.crt https://details.example.com:PORT/details/0`. */
const getDetails = (client?: { cert: string; key: string }): Promise<HttpsAnswer> =>
  httpsGet(tlsPort, "details.example.com", { ca: caPem, path: "/details/0", ...(client ? { client } : {}) });

/** The first answer with status 200 (undefined until then: the config or the secret is not in force yet). */
const served = async (client?: { cert: string; key: string }): Promise<HttpsAnswer | undefined> => {
  const answer = await getDetails(client).catch(() => undefined);
  return answer?.status === 200 ? answer : undefined;
};

describe("secure gateways", () => {
  it("terminates TLS with the secret's certificate (SIMPLE) and routes to details", async () => {
    const server = await issueWithOpenssl(certDir, "details.example.com", "details.example.com", "DNS:details.example.com", caPrefix);
    await writeCredential(server, false);
    await applyGateway("SIMPLE");
    const answer = await eventually("details over HTTPS through the gateway", () => served(), { timeoutMs: 30_000, intervalMs: 250 });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ id: 0, type: "paperback" });
    expect(answer.serial).toBe(new X509Certificate((await readIssued(server)).cert).serialNumber);
  });

  it("serves a replaced secret's certificate to new connections", async () => {
    const next = await issueWithOpenssl(certDir, "details-2.example.com", "details.example.com", "DNS:details.example.com", caPrefix);
    const nextSerial = new X509Certificate((await readIssued(next)).cert).serialNumber;
    await writeCredential(next, false);
    await eventually("the new certificate is served", async () => (await served())?.serial === nextSerial, { timeoutMs: 30_000, intervalMs: 250 });
  });

  it("with MUTUAL, refuses a client without a certificate and serves one with a certificate of the CA", async () => {
    await writeCredential(await issueWithOpenssl(certDir, "details-3.example.com", "details.example.com", "DNS:details.example.com", caPrefix), true);
    await applyGateway("MUTUAL");
    const client = await readIssued(await issueWithOpenssl(certDir, "client.example.com", "client.example.com", "DNS:client.example.com", caPrefix));
    const answer = await eventually("details with a client certificate", () => served(client), { timeoutMs: 30_000, intervalMs: 250 });
    expect(JSON.parse(answer.body)).toMatchObject({ id: 0 });
    await eventually("a client without a certificate is refused", () => getDetails().then(() => false, () => true), { timeoutMs: 30_000, intervalMs: 250 });
  });
});
