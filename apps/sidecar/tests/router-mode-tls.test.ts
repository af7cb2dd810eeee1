// Router mode terminating TLS, as Istio's "Secure Gateways" task sets it up: certificates made
// with openssl, an HTTPS server with credentialName (SIMPLE) and one with certificate files
// (MUTUAL) on the same port told apart by SNI, and an HTTP server that redirects to HTTPS. Real
// TLS clients (node:https, node:http2) against a real sidecar and a real app.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { connect as http2Connect } from "node:http2";
import { request as httpRequest } from "node:http";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { connect as tlsConnect } from "node:tls";
import { freePort, httpsGet, issueWithOpenssl, readIssued, type HttpsAnswer, type IssuedFiles } from "@meshwork/testing/processes";
import { eventually } from "@meshwork/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

let dir: string;
let app: Server;
let sidecar: TestSidecar;
let httpsPort: number;
let httpPort: number;
let exampleCa: string;
let client: { cert: string; key: string };
let otherSanClient: { cert: string; key: string };
let strangerClient: { cert: string; key: string };

const issue = (name: string, cn: string, san: string, ca?: string): Promise<IssuedFiles> => issueWithOpenssl(dir, name, cn, san, ca);
const pem = readIssued;

const gatewayYaml = (appPort: number): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: httpbin, namespace: default }
spec:
  hosts: [httpbin.default.svc.cluster.local]
  ports: [{ number: 8000, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${appPort} } }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: mygateway, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: ${httpsPort}, name: https, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: httpbin-credential }
    hosts: [httpbin.example.com]
  - port: { number: ${httpsPort}, name: https-hello, protocol: HTTPS }
    tls:
      mode: MUTUAL
      serverCertificate: ${join(dir, "helloworld.crt")}
      privateKey: ${join(dir, "helloworld.key")}
      caCertificates: ${join(dir, "example.com.crt")}
      subjectAltNames: [client.example.com]
    hosts: [helloworld.example.com]
  - port: { number: ${httpPort}, name: http, protocol: HTTP }
    tls: { httpsRedirect: true }
    hosts: [httpbin.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: httpbin, namespace: default }
spec:
  hosts: [httpbin.example.com, helloworld.example.com]
  gateways: [istio-system/mygateway]
  http:
  - route:
    - destination: { host: httpbin.default.svc.cluster.local, port: { number: 8000 } }
`;

/** Writes the credential `name` as a secret volume does: files swapped in by one rename of the directory. */
async function writeCredential(name: string, issued: IssuedFiles): Promise<void> {
  const material = await pem(issued);
  const staging = join(dir, "credentials", `.${name}-${Date.now()}`);
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, "tls.crt"), material.cert);
  await writeFile(join(staging, "tls.key"), material.key);
  await rm(join(dir, "credentials", name), { recursive: true, force: true });
  await rename(staging, join(dir, "credentials", name));
}

/** One HTTPS GET to the gateway's HTTPS port with SNI `servername`. */
const get = (servername: string, options: { host?: string; path?: string; client?: { cert: string; key: string } } = {}): Promise<HttpsAnswer> =>
  httpsGet(httpsPort, servername, { ca: exampleCa, path: "/headers", ...options });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-router-tls-"));
  await mkdir(join(dir, "config"));
  await mkdir(join(dir, "credentials"));
  const ca = await issue("example.com", "example.com", "");
  const caPrefix = join(dir, "example.com");
  exampleCa = (await pem(ca)).cert;
  await writeCredential("httpbin-credential", await issue("httpbin", "httpbin.example.com", "DNS:httpbin.example.com", caPrefix));
  await issue("helloworld", "helloworld.example.com", "DNS:helloworld.example.com", caPrefix);
  client = await pem(await issue("client", "client.example.com", "DNS:client.example.com", caPrefix));
  otherSanClient = await pem(await issue("other-client", "other.example.com", "DNS:other.example.com", caPrefix));
  await issue("stranger-ca", "stranger.org", "");
  strangerClient = await pem(await issue("stranger", "client.example.com", "DNS:client.example.com", join(dir, "stranger-ca")));
  app = createServer((request, response) => response.end(`httpbin ${request.method} ${request.url} host=${request.headers.host}\n`));
  const appPort = await new Promise<number>((resolve) => app.listen(0, "127.0.0.1", () => resolve((app.address() as AddressInfo).port)));
  httpsPort = await freePort();
  httpPort = await freePort();
  await writeFile(join(dir, "config", "gateway.yaml"), gatewayYaml(appPort));
  sidecar = await startTestSidecar(
    ["--config", join(dir, "config"), "--proxy-mode", "router", "--labels", "istio=ingressgateway", "--namespace", "istio-system", "--credential-dir", join(dir, "credentials")],
    dir,
    "gateway-tls",
  );
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  app?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("router mode with TLS", () => {
  it("terminates SIMPLE TLS with the credential's certificate and routes the request", async () => {
    const answer = await get("httpbin.example.com", { path: "/status/418" });
    expect(answer).toMatchObject({ status: 200, body: "httpbin GET /status/418 host=httpbin.example.com\n" });
    expect(sidecar.port(`gateway-${httpsPort}`)).toBe(httpsPort);
    const line = await eventually("the request's access-log line", async () => (await sidecar.accessLog()).find((l) => l["path"] === "/status/418"), { timeoutMs: 5_000, intervalMs: 50 });
    expect(line).toMatchObject({ requested_server_name: "httpbin.example.com", authority: "httpbin.example.com", response_code: 200 });
    expect(line["downstream_remote_address"]).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("serves HTTP/2 when the client offers h2 in ALPN", async () => {
    const session = http2Connect(`https://httpbin.example.com:${httpsPort}`, { host: "127.0.0.1", servername: "httpbin.example.com", ca: exampleCa });
    try {
      const { status, body, alpn } = await new Promise<{ status: number; body: string; alpn: string }>((resolve, reject) => {
        const stream = session.request({ ":path": "/h2", ":authority": "httpbin.example.com" });
        let status = 0;
        let body = "";
        stream.on("response", (headers) => (status = Number(headers[":status"])));
        stream.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        stream.on("end", () => resolve({ status, body, alpn: session.alpnProtocol ?? "" }));
        stream.on("error", reject);
        stream.end();
      });
      expect({ status, body, alpn }).toEqual({ status: 200, body: "httpbin GET /h2 host=httpbin.example.com\n", alpn: "h2" });
    } finally {
      session.close();
    }
  });

  it("picks the MUTUAL server by SNI: a client certificate of the CA with an accepted SAN is required", async () => {
    expect(await get("helloworld.example.com", { client })).toMatchObject({ status: 200, body: "httpbin GET /headers host=helloworld.example.com\n" });
    await expect(get("helloworld.example.com")).rejects.toThrow();
    await expect(get("helloworld.example.com", { client: strangerClient })).rejects.toThrow();
    await expect(get("helloworld.example.com", { client: otherSanClient })).rejects.toThrow();
    expect((await get("httpbin.example.com")).status).toBe(200);
  });

  it("asks for a client certificate only on connections whose SNI chose the MUTUAL server", async () => {
    const handshake = async (servername: string): Promise<string> => {
      const args = ["s_client", "-connect", `127.0.0.1:${httpsPort}`, "-servername", servername, "-msg", "-CAfile", join(dir, "example.com.crt")];
      const child = execFile("openssl", args, { timeout: 10_000 });
      child.stdin?.end();
      let out = "";
      child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
      await new Promise((resolve) => child.on("close", resolve));
      return out;
    };
    const simple = await handshake("httpbin.example.com");
    const mutual = await handshake("helloworld.example.com");
    expect(simple).toContain("ServerHello");
    expect(simple).not.toContain("CertificateRequest");
    expect(mutual).toContain("CertificateRequest");
  });

  it("refuses an SNI no server lists and a connection without SNI (no server lists *), and counts both", async () => {
    const refusedSoFar = (): number => sidecar.running.state.stats().find(([name]) => name === `listener.gateway-${httpsPort}.ssl.refused`)?.[1] ?? -1;
    const before = refusedSoFar();
    expect(before).toBeGreaterThanOrEqual(0);
    await expect(get("other.example.com")).rejects.toThrow();
    const refused = await new Promise<boolean>((resolve) => {
      const socket = tlsConnect({ host: "127.0.0.1", port: httpsPort, ca: exampleCa, rejectUnauthorized: false }, () => resolve(false));
      socket.on("error", () => resolve(true));
      socket.on("close", () => resolve(true));
    });
    expect(refused).toBe(true);
    await eventually("both refusals counted", () => refusedSoFar() === before + 2, { timeoutMs: 5_000, intervalMs: 50 });
  });

  it("answers 404 NR when the Host is not one of the SNI's server's hosts", async () => {
    expect((await get("httpbin.example.com", { host: "helloworld.example.com" })).status).toBe(404);
  });

  it("redirects plain HTTP to HTTPS on the httpsRedirect server", async () => {
    const answer = await new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
      const request = httpRequest({ host: "127.0.0.1", port: httpPort, path: "/status/418?x=1", headers: { host: "httpbin.example.com" }, agent: false }, (response) => {
        response.resume();
        response.on("end", () => resolve({ status: response.statusCode ?? 0, location: response.headers.location }));
      });
      request.on("error", reject);
      request.end();
    });
    expect(answer).toMatchObject({ status: 301, location: "https://httpbin.example.com/status/418?x=1" });
  });

  it("picks up a rotated credential for new connections", async () => {
    const before = (await get("httpbin.example.com")).serial;
    const next = await issue("httpbin-2", "httpbin.example.com", "DNS:httpbin.example.com", join(dir, "example.com"));
    const nextSerial = new X509Certificate((await pem(next)).cert).serialNumber;
    expect(nextSerial).not.toBe(before);
    await writeCredential("httpbin-credential", next);
    await eventually("the rotated certificate is served", async () => (await get("httpbin.example.com")).serial === nextSerial, { timeoutMs: 15_000, intervalMs: 200 });
  });

  it("keeps serving the other servers when a credential is missing, and serves it once it appears", async () => {
    const yaml = await readFile(join(dir, "config", "gateway.yaml"), "utf8");
    await writeFile(join(dir, "config", "gateway.yaml"), yaml.replace("credentialName: httpbin-credential", "credentialName: late-credential"));
    await eventually(
      "the missing credential is reported",
      () => sidecar.lines.some((line) => line.includes("gateway server certificate not loaded") && line.includes("late-credential")),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    await expect(get("httpbin.example.com")).rejects.toThrow();
    expect((await get("helloworld.example.com", { client })).status).toBe(200);
    await writeCredential("late-credential", { cert: join(dir, "httpbin.crt"), key: join(dir, "httpbin.key") });
    await eventually("the credential that appeared is served", async () => (await get("httpbin.example.com").catch(() => undefined))?.status === 200, { timeoutMs: 15_000, intervalMs: 200 });
  });

  it("reopens a port that turns from HTTP to HTTPS as a TLS listener", async () => {
    const yaml = await readFile(join(dir, "config", "gateway.yaml"), "utf8");
    await writeFile(
      join(dir, "config", "gateway.yaml"),
      yaml.replace(`name: http, protocol: HTTP }\n    tls: { httpsRedirect: true }`, `name: https-2, protocol: HTTPS }\n    tls: { mode: SIMPLE, credentialName: httpbin-credential }`),
    );
    await eventually("the former HTTP port speaks TLS", async () => (await httpsGet(httpPort, "httpbin.example.com", { ca: exampleCa, path: "/again" }).catch(() => undefined))?.status === 200, { timeoutMs: 10_000, intervalMs: 100 });
    expect(sidecar.port(`gateway-${httpPort}`)).toBe(httpPort);
  });
});
