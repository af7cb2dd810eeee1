// Router mode with an ISTIO_MUTUAL Gateway server (a mesh-internal gateway): the gateway presents
// its own SVID and admits clients with an SVID of the mesh's trust domain; a client without a
// certificate, or with one of another trust domain, is refused. Real mesh certificates
// (@meshwork/pki), real TLS clients.
import { createServer, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, writeCertDir, type TestPki, type TestSvid } from "./support/mesh-pki.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

let dir: string;
let app: Server;
let sidecar: TestSidecar;
let port: number;
let pki: TestPki;
let client: TestSvid;
let stranger: TestSvid;

const config = (appPort: number): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${appPort} } }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: internal, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: ${port}, name: https, protocol: HTTPS }
    tls: { mode: ISTIO_MUTUAL }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: ["*"]
  gateways: [istio-system/internal]
  http:
  - route:
    - destination: { host: reviews.default.svc.cluster.local, port: { number: 9080 } }
`;

/** GET over mutual TLS with `svid` (none: no client certificate): the status and the server's SPIFFE ID. */
function get(svid: TestSvid | undefined): Promise<{ status: number; body: string; server: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path: "/reviews/0",
        servername: "reviews.example.com",
        ca: pki.rootPem,
        // An SVID carries no DNS name: the client checks the URI SAN itself below.
        checkServerIdentity: () => undefined,
        ...(svid ? { cert: svid.chainPem, key: svid.keyPem } : {}),
        agent: false,
      },
      (response) => {
        const server = (response.socket as TLSSocket).getPeerCertificate().subjectaltname ?? "";
        let body = "";
        response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body, server }));
      },
    );
    request.on("error", reject);
    request.end();
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-router-istio-mutual-"));
  await mkdir(join(dir, "config"));
  pki = await createTestPki();
  client = await pki.issue("default", "sleep");
  stranger = await (await createTestPki("other.example")).issue("default", "sleep");
  const certs = await writeCertDir(join(dir, "certs"), await pki.issue("istio-system", "istio-ingressgateway-service-account"), pki.rootPem);
  app = createServer((request, response) => response.end(`reviews ${request.url}\n`));
  const appPort = await new Promise<number>((resolve) => app.listen(0, "127.0.0.1", () => resolve((app.address() as AddressInfo).port)));
  port = await freePort();
  await writeFile(join(dir, "config", "gateway.yaml"), config(appPort));
  sidecar = await startTestSidecar(["--config", join(dir, "config"), "--proxy-mode", "router", "--labels", "istio=ingressgateway", "--namespace", "istio-system", "--cert-dir", certs], dir, "gateway-istio-mutual");
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  app?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("router mode with ISTIO_MUTUAL", () => {
  it("presents the gateway's SVID and serves a client with an SVID of the mesh", async () => {
    const answer = await get(client);
    expect(answer).toEqual({ status: 200, body: "reviews /reviews/0\n", server: "URI:spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account" });
  });

  it("refuses a client without a certificate and one of another trust domain", async () => {
    await expect(get(undefined)).rejects.toThrow();
    await expect(get(stranger)).rejects.toThrow();
    const refused = sidecar.running.state.stats().find(([name]) => name === `listener.gateway-${port}.ssl.refused`)?.[1];
    expect(refused).toBeGreaterThanOrEqual(2);
  });
});
