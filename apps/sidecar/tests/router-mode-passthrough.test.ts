// Router mode forwarding without terminating, as Istio's "Ingress Gateway without TLS Termination"
// task and its TCP traffic-shifting task set it up: an HTTPS server in PASSTHROUGH mode whose
// VirtualService `tls` route sends nginx.example.com to an app that terminates TLS itself, and a
// TCP server whose `tcp` route sends port traffic to an echo app. Real sockets throughout.
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { createServer as createTcpServer, connect as tcpConnect, type AddressInfo, type Server as TcpServer } from "node:net";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { connect as tlsConnect } from "node:tls";
import { freePort, httpsGet, issueWithOpenssl, readIssued, type HttpsAnswer } from "@meshwork/testing/processes";
import { eventually } from "@meshwork/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

let dir: string;
let nginx: HttpsServer;
let echo: TcpServer;
let sidecar: TestSidecar;
let passthroughPort: number;
let tcpPort: number;
let autoPort: number;
let caPem: string;
let nginxSerial: string;

const config = (nginxPort: number, echoPort: number): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: my-nginx, namespace: default }
spec:
  hosts: [my-nginx.default.svc.cluster.local]
  ports: [{ number: 443, name: https, protocol: TLS }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { https: ${nginxPort} } }]
---
# The same server as a mesh service whose clusters originate TLS (as auto mTLS to a sidecar would).
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: meshed-nginx, namespace: default }
spec:
  hosts: [meshed-nginx.default.svc.cluster.local]
  ports: [{ number: 443, name: https, protocol: TLS }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { https: ${nginxPort} } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: meshed-nginx, namespace: default }
spec:
  host: meshed-nginx.default.svc.cluster.local
  trafficPolicy: { tls: { mode: SIMPLE, insecureSkipVerify: true } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: tcp-echo, namespace: default }
spec:
  hosts: [tcp-echo.default.svc.cluster.local]
  ports: [{ number: 9000, name: tcp, protocol: TCP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { tcp: ${echoPort} } }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: mygateway, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: ${passthroughPort}, name: https, protocol: HTTPS }
    tls: { mode: PASSTHROUGH }
    hosts: [nginx.example.com]
  - port: { number: ${tcpPort}, name: tcp, protocol: TCP }
    hosts: ["*"]
  - port: { number: ${autoPort}, name: tls-auto, protocol: TLS }
    tls: { mode: AUTO_PASSTHROUGH }
    hosts: ["*.local"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: nginx, namespace: default }
spec:
  hosts: [nginx.example.com]
  gateways: [istio-system/mygateway]
  tls:
  - match: [{ port: ${passthroughPort}, sniHosts: [nginx.example.com] }]
    route: [{ destination: { host: my-nginx, port: { number: 443 } } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: tcp-echo, namespace: default }
spec:
  hosts: ["*"]
  gateways: [istio-system/mygateway]
  tcp:
  - match: [{ port: ${tcpPort} }]
    route: [{ destination: { host: tcp-echo, port: { number: 9000 } } }]
`;

/** GET over TLS through the passthrough port with SNI `servername`. */
const get = (servername: string): Promise<HttpsAnswer> => httpsGet(passthroughPort, servername, { ca: caPem });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-router-passthrough-"));
  await mkdir(join(dir, "config"));
  const ca = await issueWithOpenssl(dir, "example.com", "example.com", "");
  caPem = (await readIssued(ca)).cert;
  const leaf = await readIssued(await issueWithOpenssl(dir, "nginx", "nginx.example.com", "DNS:nginx.example.com", join(dir, "example.com")));
  nginxSerial = new X509Certificate(leaf.cert).serialNumber;
  nginx = createHttpsServer({ cert: leaf.cert, key: leaf.key }, (request, response) => response.end(`nginx terminated TLS for ${request.headers.host}\n`));
  const nginxPort = await new Promise<number>((resolve) => nginx.listen(0, "127.0.0.1", () => resolve((nginx.address() as AddressInfo).port)));
  echo = createTcpServer((socket) => socket.pipe(socket));
  const echoPort = await new Promise<number>((resolve) => echo.listen(0, "127.0.0.1", () => resolve((echo.address() as AddressInfo).port)));
  passthroughPort = await freePort();
  tcpPort = await freePort();
  autoPort = await freePort();
  await writeFile(join(dir, "config", "gateway.yaml"), config(nginxPort, echoPort));
  sidecar = await startTestSidecar(["--config", join(dir, "config"), "--proxy-mode", "router", "--labels", "istio=ingressgateway", "--namespace", "istio-system"], dir, "gateway-passthrough");
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  nginx?.close();
  echo?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("router mode passthrough and TCP", () => {
  it("forwards the client's TLS by SNI to the app, which terminates it with its own certificate", async () => {
    const answer = await get("nginx.example.com");
    expect(answer).toMatchObject({ status: 200, body: "nginx terminated TLS for nginx.example.com\n", serial: nginxSerial });
    await eventually("the connection is in the access log", async () => (await sidecar.accessLog()).find((l) => l["requested_server_name"] === "nginx.example.com"), { timeoutMs: 5_000, intervalMs: 50 });
    const line = (await sidecar.accessLog()).find((l) => l["requested_server_name"] === "nginx.example.com");
    expect(line).toMatchObject({ route_name: "default/nginx tls[0]", upstream_cluster: "outbound|443||my-nginx.default.svc.cluster.local" });
  });

  it("refuses an SNI no server or route takes", async () => {
    await expect(get("other.example.com")).rejects.toThrow();
    await eventually("the refusal is logged with NR", async () => (await sidecar.accessLog()).find((l) => l["requested_server_name"] === "other.example.com" && l["response_flags"] === "NR"), {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
  });

  it("AUTO_PASSTHROUGH forwards a connection to the mesh cluster its SNI names, without a VirtualService", async () => {
    const handshake = (servername: string): Promise<{ serial: string; reply: string }> =>
      new Promise((resolve, reject) => {
        const socket = tlsConnect({ host: "127.0.0.1", port: autoPort, servername, rejectUnauthorized: false }, () => {
          const serial = socket.getPeerCertificate().serialNumber;
          let reply = "";
          socket.setEncoding("utf8").on("data", (chunk: string) => (reply += chunk));
          socket.on("end", () => resolve({ serial, reply }));
          socket.end("GET / HTTP/1.1\r\nhost: nginx.example.com\r\nconnection: close\r\n\r\n");
        });
        socket.on("error", reject);
      });
    const answer = await handshake("outbound_.443_._.my-nginx.default.svc.cluster.local");
    expect(answer.serial).toBe(nginxSerial);
    expect(answer.reply).toContain("nginx terminated TLS for nginx.example.com");
    // The client's own TLS runs to the endpoint: the gateway originates none, whatever the cluster's TLS settings.
    const meshed = await handshake("outbound_.443_._.meshed-nginx.default.svc.cluster.local");
    expect(meshed.serial).toBe(nginxSerial);
    expect(meshed.reply).toContain("nginx terminated TLS for nginx.example.com");
    await expect(handshake("outbound_.443_._.unknown.default.svc.cluster.local")).rejects.toThrow();
    await expect(handshake("nginx.example.com")).rejects.toThrow();
  });

  it("forwards a TCP server's bytes with the tcp route of its port", async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = tcpConnect(tcpPort, "127.0.0.1", () => socket.end("hello through the gateway\n"));
      let text = "";
      socket.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(reply).toBe("hello through the gateway\n");
    expect(sidecar.port(`gateway-${tcpPort}`)).toBe(tcpPort);
  });
});
