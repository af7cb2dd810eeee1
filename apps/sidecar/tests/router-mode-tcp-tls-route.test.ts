// Router mode serving Gateway API TCPRoute and TLSRoute (gateway.networking.k8s.io v1alpha2), as
// Istio's "TCP traffic shifting" and TLS passthrough tasks set them up with the Gateway API: a
// Gateway with a TCP listener whose TCPRoute splits connections between two echo apps, and a TLS
// Passthrough listener whose TLSRoutes send SNI names to apps that terminate TLS themselves. The
// TLS listener admits routes of namespaces its selector picks by Namespace labels; relabelling a
// Namespace in the config directory lets a route in. A real sidecar (`--config DIR`), real sockets.
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { createServer as createTcpServer, connect as tcpConnect, type AddressInfo, type Server as TcpServer } from "node:net";
import { X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "@meshwork/testing";
import { freePort, httpsGet, issueWithOpenssl, readIssued } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

let dir: string;
let sidecar: TestSidecar;
let tcpPort: number;
let tlsPort: number;
let caPem: string;
const servers: (TcpServer | HttpsServer)[] = [];
const serials = new Map<string, string>();
let ports: { v1: number; v2: number; shop: number; blog: number };

const serviceEntry = (name: string, namespace: string, protocol: string, port: number, targetPort: number): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  hosts: [${name}.${namespace}.svc.cluster.local]
  ports: [{ number: ${port}, name: p, protocol: ${protocol} }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { p: ${targetPort} } }]
`;

/** The config with the blog Namespace labelled for the shared gateway or not. */
const config = (blogAdmitted: boolean): string =>
  [
    serviceEntry("echo-v1", "edge", "TCP", 9000, ports.v1),
    serviceEntry("echo-v2", "edge", "TCP", 9000, ports.v2),
    serviceEntry("shop", "shop", "TLS", 443, ports.shop),
    serviceEntry("blog", "blog", "TLS", 443, ports.blog),
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: edge, namespace: edge }
spec:
  gatewayClassName: istio
  listeners:
  - name: tcp
    port: ${tcpPort}
    protocol: TCP
  - name: tls
    port: ${tlsPort}
    protocol: TLS
    hostname: "*.example.com"
    tls: { mode: Passthrough }
    allowedRoutes:
      namespaces:
        from: Selector
        selector:
          matchLabels: { shared-gateway: "true" }
          matchExpressions: [{ key: frozen, operator: DoesNotExist }]
`,
    `apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: echo, namespace: edge }
spec:
  parentRefs: [{ name: edge, sectionName: tcp }]
  rules:
  - backendRefs:
    - { name: echo-v1, port: 9000, weight: 50 }
    - { name: echo-v2, port: 9000, weight: 50 }
`,
    `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: { shared-gateway: "true" }
`,
    `apiVersion: v1
kind: Namespace
metadata:
  name: blog
  labels: { shared-gateway: "true"${blogAdmitted ? "" : ", frozen: \"yes\""} }
`,
    `apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: { name: shop, namespace: shop }
spec:
  parentRefs: [{ name: edge, namespace: edge, sectionName: tls }]
  hostnames: [shop.example.com]
  rules: [{ backendRefs: [{ name: shop, port: 443 }] }]
`,
    `apiVersion: gateway.networking.k8s.io/v1alpha3
kind: TLSRoute
metadata: { name: blog, namespace: blog }
spec:
  parentRefs: [{ name: edge, namespace: edge, sectionName: tls }]
  hostnames: [blog.example.com]
  rules: [{ backendRefs: [{ name: blog, port: 443 }] }]
`,
  ].join("---\n");

function listen(server: TcpServer | HttpsServer): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

/** Each echo app answers a connection with its name and the bytes it got, then closes. */
const echoApp = (name: string): TcpServer => createTcpServer((socket) => socket.setEncoding("utf8").once("data", (chunk: string) => socket.end(`${name}:${chunk}`)));

async function tlsApp(name: string): Promise<HttpsServer> {
  const leaf = await readIssued(await issueWithOpenssl(dir, name, `${name}.example.com`, `DNS:${name}.example.com`, join(dir, "example.com")));
  serials.set(name, new X509Certificate(leaf.cert).serialNumber);
  return createHttpsServer({ cert: leaf.cert, key: leaf.key }, (request, response) => response.end(`${name} terminated TLS for ${request.headers.host}`));
}

/** One TCP connection through the gateway's TCP listener: what came back. */
const sendTcp = (text: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = tcpConnect(tcpPort, "127.0.0.1", () => socket.write(text));
    let reply = "";
    socket.setEncoding("utf8").on("data", (chunk: string) => (reply += chunk));
    socket.on("end", () => resolve(reply));
    socket.on("error", reject);
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-tcp-tls-route-"));
  await mkdir(join(dir, "config"));
  caPem = (await readIssued(await issueWithOpenssl(dir, "example.com", "example.com", ""))).cert;
  ports = { v1: await listen(echoApp("v1")), v2: await listen(echoApp("v2")), shop: await listen(await tlsApp("shop")), blog: await listen(await tlsApp("blog")) };
  tcpPort = await freePort();
  tlsPort = await freePort();
  await writeFile(join(dir, "config", "gateway-api.yaml"), config(false));
  sidecar = await startTestSidecar(
    ["--config", join(dir, "config"), "--proxy-mode", "router", "--labels", "gateway.networking.k8s.io/gateway-name=edge", "--namespace", "edge"],
    dir,
    "gateway-api-tcp-tls",
  );
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  for (const server of servers) server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("router mode serving Gateway API TCPRoute and TLSRoute", () => {
  it("splits a TCP listener's connections between the TCPRoute's weighted backends, bytes both ways", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const reply = await sendTcp(`hello ${i}`);
      expect(reply).toMatch(new RegExp(`^v[12]:hello ${i}$`));
      seen.add(reply.split(":")[0] ?? "");
    }
    expect([...seen].sort()).toEqual(["v1", "v2"]);
  });

  it("passes a TLS connection through by SNI to the TLSRoute's backend, which terminates it with its own certificate", async () => {
    const answer = await httpsGet(tlsPort, "shop.example.com", { ca: caPem });
    expect(answer).toMatchObject({ status: 200, body: "shop terminated TLS for shop.example.com", serial: serials.get("shop") });
  });

  it("refuses an SNI whose TLSRoute's namespace the listener's selector does not pick, until the Namespace's labels change", async () => {
    await expect(httpsGet(tlsPort, "blog.example.com", { ca: caPem })).rejects.toThrow();
    await expect(httpsGet(tlsPort, "other.example.com", { ca: caPem })).rejects.toThrow();
    // The config warning names the route, the listener and the labels the selector saw.
    expect(sidecar.lines.find((l) => l.includes('TLSRoute \\"blog/blog\\"'))).toContain('does not select namespace \\"blog\\"');
    await writeFile(join(dir, "config", "gateway-api.yaml"), config(true));
    const answer = await eventually("the blog route attaches once its Namespace is no longer frozen", () => httpsGet(tlsPort, "blog.example.com", { ca: caPem }).catch(() => undefined), { timeoutMs: 10_000, intervalMs: 100 });
    expect(answer).toMatchObject({ status: 200, body: "blog terminated TLS for blog.example.com", serial: serials.get("blog") });
    // The shop route is unaffected by the reload.
    expect(await httpsGet(tlsPort, "shop.example.com", { ca: caPem })).toMatchObject({ status: 200, serial: serials.get("shop") });
  });
});
