// The ingress gateway's forwarding headers and the PROXY protocol (router mode), as Istio's gateway
// Envoy behaves with use_remote_address and MeshConfig gatewayTopology (numTrustedProxies,
// proxyProtocol: {}): X-Forwarded-For appended or created, x-forwarded-proto and
// x-envoy-external-address / x-envoy-internal as the upstream receives them; with the PROXY
// protocol, v1 and v2 headers over plain HTTP, before TLS and on a TCP port, the header's client as
// X-Forwarded-For, remote.ip, and the access log's downstream address, and connections without a
// header closed. Real sockets throughout: an echo upstream that answers with the headers it
// received, and clients bound to 127.0.0.2 where source.ip must differ.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createTcpServer, connect as netConnect, type AddressInfo, type Server as TcpServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { eventually } from "@meshwork/testing";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testCertificatePem, testPrivateKeyPem } from "./support/h2-test-certificate.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

let root: string;
let app: Server;
let appPort: number;
let echo: TcpServer;
let echoPort: number;
const gateways: TestSidecar[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "sidecar-router-proxy-protocol-"));
  // The upstream answers with the request headers it received.
  app = createServer((request, response) => {
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify(request.headers));
  });
  appPort = await new Promise<number>((resolve) => app.listen(0, "127.0.0.1", () => resolve((app.address() as AddressInfo).port)));
  echo = createTcpServer((socket) => socket.pipe(socket));
  echoPort = await new Promise<number>((resolve) => echo.listen(0, "127.0.0.1", () => resolve((echo.address() as AddressInfo).port)));
  await mkdir(join(root, "certs"), { recursive: true });
  await writeFile(join(root, "certs", "gateway.crt"), testCertificatePem);
  await writeFile(join(root, "certs", "gateway.key"), testPrivateKeyPem);
});

afterAll(async () => {
  for (const gateway of gateways) await gateway.stop();
  app?.close();
  echo?.close();
  await rm(root, { recursive: true, force: true });
});

/** The app as a mesh service, a TCP echo service, and a Gateway with an HTTP, an HTTPS (SIMPLE) and a TCP server on the given ports. */
function gatewayYaml(ports: { http: number; https: number; tcp: number }, extra = ""): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: httpbin, namespace: default }
spec:
  hosts: [httpbin.default.svc.cluster.local]
  ports: [{ number: 8000, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${appPort} } }]
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
metadata: { name: edge, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: ${ports.http}, name: http, protocol: HTTP }
    hosts: ["*.example.com"]
  - port: { number: ${ports.https}, name: https, protocol: HTTPS }
    tls: { mode: SIMPLE, serverCertificate: ${join(root, "certs", "gateway.crt")}, privateKey: ${join(root, "certs", "gateway.key")} }
    hosts: ["*.example.com"]
  - port: { number: ${ports.tcp}, name: tcp, protocol: TCP }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: httpbin, namespace: default }
spec:
  hosts: ["*.example.com"]
  gateways: [istio-system/edge]
  http:
  - route: [{ destination: { host: httpbin.default.svc.cluster.local, port: { number: 8000 } } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: tcp-echo, namespace: default }
spec:
  hosts: ["*"]
  gateways: [istio-system/edge]
  tcp:
  - match: [{ port: ${ports.tcp} }]
    route: [{ destination: { host: tcp-echo.default.svc.cluster.local, port: { number: 9000 } } }]
${extra}`;
}

async function startGateway(name: string, yaml: string, args: readonly string[]): Promise<TestSidecar> {
  const dir = join(root, name);
  await mkdir(join(dir, "config"), { recursive: true });
  await writeFile(join(dir, "config", "gateway.yaml"), yaml);
  const gateway = await startTestSidecar(["--config", join(dir, "config"), "--proxy-mode", "router", "--labels", "istio=ingressgateway,app=istio-ingressgateway", "--namespace", "istio-system", ...args], dir, name);
  gateways.push(gateway);
  return gateway;
}

interface Echoed {
  readonly status: number;
  /** The headers the upstream received (a 403's body is not JSON: then empty). */
  readonly upstream: IncomingHttpHeaders;
}

/** One GET of /headers on a new connection to `port`, or on the socket `connection()` opens (which may have written a PROXY header). */
function get(connection: { port: number; localAddress?: string } | (() => Socket), headers: Record<string, string> = {}): Promise<Echoed> {
  return new Promise((resolve, reject) => {
    // Node uses createConnection only without an agent (agent: false would make a fresh one).
    const target = typeof connection === "function" ? { createConnection: connection } : { host: "127.0.0.1", port: connection.port, localAddress: connection.localAddress ?? "127.0.0.1", agent: false as const };
    const request = httpRequest({ ...target, path: "/headers", headers: { host: "httpbin.example.com", ...headers } }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, upstream: response.statusCode === 200 ? (JSON.parse(body) as IncomingHttpHeaders) : {} }));
    });
    request.on("error", reject);
    request.end();
  });
}

/** PROXY protocol v1 for a TCP4 client. */
const proxyV1 = (client: string, clientPort: number): Buffer => Buffer.from(`PROXY TCP4 ${client} 127.0.0.1 ${clientPort} 443\r\n`, "latin1");

/** PROXY protocol v2 (PROXY command, STREAM) for an IPv4 or IPv6 client, with a TLV (AWS's VPC endpoint ID) the gateway must skip. */
function proxyV2(client: string, clientPort: number): Buffer {
  const v6 = client.includes(":");
  const address = v6 ? ipv6Bytes(client) : Buffer.from(client.split(".").map(Number));
  const destination = v6 ? ipv6Bytes("::1") : Buffer.from([127, 0, 0, 1]);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(clientPort, 0);
  ports.writeUInt16BE(443, 2);
  const tlv = Buffer.concat([Buffer.from([0xea, 0x00, 0x05]), Buffer.from("vpc-1")]);
  const body = Buffer.concat([address, destination, ports, tlv]);
  const preamble = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, v6 ? 0x21 : 0x11, 0, 0]);
  preamble.writeUInt16BE(body.length, 14);
  return Buffer.concat([preamble, body]);
}

/** Full-form bytes of a `::`-shortened IPv6 address (test input only). */
function ipv6Bytes(text: string): Buffer {
  const [head = "", tail = ""] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}

/** A connection to `port` that starts with `header` (from `localAddress`, 127.0.0.1 by default). */
const proxied =
  (port: number, header: Buffer, localAddress = "127.0.0.1") =>
  (): Socket => {
    const socket = netConnect({ port, host: "127.0.0.1", localAddress });
    socket.write(header);
    return socket;
  };

/** The same, with TLS to the gateway after the header (SNI httpbin.example.com). */
const proxiedTls =
  (port: number, header: Buffer) =>
  (): Socket => {
    const raw = proxied(port, header)();
    return tlsConnect({ socket: raw, servername: "httpbin.example.com", ca: testCertificatePem, checkServerIdentity: () => undefined, ALPNProtocols: ["http/1.1"] });
  };

/** Whether the gateway closes a connection that sent `bytes`, before answering anything. */
function closedWithoutAnswer(port: number, bytes: Buffer): Promise<{ answered: string }> {
  return new Promise((resolve) => {
    let answered = "";
    const socket = netConnect({ port, host: "127.0.0.1" }, () => socket.write(bytes));
    socket.on("data", (chunk: Buffer) => (answered += chunk.toString("latin1")));
    socket.on("error", () => undefined);
    socket.on("close", () => resolve({ answered }));
  });
}

/** Bytes echoed back through the gateway's TCP port on `socket` (then closed). */
function tcpRoundTrip(socket: Socket, payload: string): Promise<string> {
  return new Promise((resolve) => {
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("utf8");
      if (received.length >= payload.length) socket.end();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(received));
    socket.write(payload);
  });
}

async function stat(gateway: TestSidecar, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${gateway.port("admin")}/stats`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}: `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 2));
}

describe("forwarding headers a gateway writes (use_remote_address, no PROXY protocol)", () => {
  const ports = { http: 0, https: 0, tcp: 0 };

  beforeAll(async () => {
    ports.http = await freePort();
    ports.https = await freePort();
    ports.tcp = await freePort();
    await startGateway("xff", gatewayYaml(ports), []);
  });

  it("creates X-Forwarded-For with the peer, sets x-forwarded-proto, and marks a lone internal peer x-envoy-internal", async () => {
    const { status, upstream } = await get({ port: ports.http });
    expect(status).toBe(200);
    expect(upstream).toMatchObject({ "x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "http", "x-envoy-internal": "true" });
    expect(upstream["x-envoy-external-address"]).toBeUndefined();
  });

  it("appends the peer to a client's X-Forwarded-For, overwrites its x-forwarded-proto and names it external", async () => {
    const { upstream } = await get({ port: ports.http, localAddress: "127.0.0.2" }, { "x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https", "x-envoy-internal": "true" });
    // 127.0.0.2 is loopback: Envoy appends its own address (the gateway's side of the connection) instead.
    expect(upstream).toMatchObject({ "x-forwarded-for": "203.0.113.9,127.0.0.1", "x-forwarded-proto": "http", "x-envoy-external-address": "127.0.0.2" });
    expect(upstream["x-envoy-internal"]).toBeUndefined();
  });

  it("sets x-forwarded-proto https on TLS the gateway terminated", async () => {
    const connect = (): Socket => tlsConnect({ port: ports.https, host: "127.0.0.1", servername: "httpbin.example.com", ca: testCertificatePem, checkServerIdentity: () => undefined, ALPNProtocols: ["http/1.1"] });
    const { status, upstream } = await get(connect);
    expect(status).toBe(200);
    expect(upstream).toMatchObject({ "x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "https" });
  });
});

describe("PROXY protocol on every gateway listener (gatewayTopology.proxyProtocol: {})", () => {
  const ports = { http: 0, https: 0, tcp: 0 };
  let gateway: TestSidecar;

  beforeAll(async () => {
    ports.http = await freePort();
    ports.https = await freePort();
    ports.tcp = await freePort();
    const meshConfig = join(root, "mesh-proxy-protocol.yaml");
    await writeFile(meshConfig, "defaultConfig:\n  gatewayTopology:\n    proxyProtocol: {}\n");
    // Istio's ingress access control behind a PROXY-protocol load balancer: remoteIpBlocks match the
    // client the header names; ipBlocks the load balancer itself (source.ip, the physical peer).
    const policy = `---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ingress-policy, namespace: istio-system }
spec:
  selector: { matchLabels: { app: istio-ingressgateway } }
  action: ALLOW
  rules:
  - from: [{ source: { remoteIpBlocks: ["203.0.113.0/24", "2001:db8::/32", "127.0.0.3"] } }]
  - from: [{ source: { ipBlocks: ["127.0.0.2"] } }]
`;
    gateway = await startGateway("proxy-protocol", gatewayYaml(ports, policy), ["--mesh-config", meshConfig]);
  });

  it("takes a v1 header's client as the downstream address: X-Forwarded-For and x-envoy-external-address", async () => {
    const { status, upstream } = await get(proxied(ports.http, proxyV1("203.0.113.7", 40001)));
    expect(status).toBe(200);
    expect(upstream).toMatchObject({ "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "http", "x-envoy-external-address": "203.0.113.7" });
  });

  it("takes a v2 header's client, IPv4 and IPv6, TLVs skipped", async () => {
    expect((await get(proxied(ports.http, proxyV2("203.0.113.8", 40002)))).upstream).toMatchObject({ "x-forwarded-for": "203.0.113.8" });
    expect((await get(proxied(ports.http, proxyV2("2001:db8::5", 40003)))).upstream).toMatchObject({ "x-forwarded-for": "2001:db8::5", "x-envoy-external-address": "2001:db8::5" });
  });

  it("reads the header before the TLS handshake, v1 and v2", async () => {
    for (const [header, client] of [
      [proxyV1("203.0.113.10", 40004), "203.0.113.10"],
      [proxyV2("203.0.113.11", 40005), "203.0.113.11"],
    ] as const) {
      const { status, upstream } = await get(proxiedTls(ports.https, header));
      expect(status).toBe(200);
      expect(upstream).toMatchObject({ "x-forwarded-for": client, "x-forwarded-proto": "https", "x-envoy-external-address": client });
    }
  });

  it("authorizes remoteIpBlocks on the header's client and ipBlocks on the physical peer", async () => {
    expect((await get(proxied(ports.http, proxyV1("198.51.100.1", 40006)))).status).toBe(403);
    expect((await get(proxiedTls(ports.https, proxyV2("198.51.100.1", 40007)))).status).toBe(403);
    // From 127.0.0.2 (ipBlocks) the header's client does not matter.
    expect((await get(proxied(ports.http, proxyV1("198.51.100.1", 40008), "127.0.0.2"))).status).toBe(200);
    // A LOCAL header (the load balancer's health check): the connection's own address, 127.0.0.1, outside both.
    const local = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x20, 0x00, 0x00, 0x00]);
    expect((await get(proxied(ports.http, local))).status).toBe(403);
  });

  it("applies the header and the policy on a TCP port", async () => {
    expect(await tcpRoundTrip(proxied(ports.tcp, proxyV2("203.0.113.12", 40009))(), "ping through the gateway")).toBe("ping through the gateway");
    expect(await tcpRoundTrip(proxied(ports.tcp, proxyV1("198.51.100.2", 40010))(), "denied")).toBe("");
  });

  it("closes connections without a header, or with a malformed one, and counts them", async () => {
    const notFound = await stat(gateway, "proxy_proto.not_found_disallowed");
    const v1Errors = await stat(gateway, "proxy_proto.versions.v1.error");
    expect(await closedWithoutAnswer(ports.http, Buffer.from("GET /headers HTTP/1.1\r\nhost: httpbin.example.com\r\n\r\n"))).toEqual({ answered: "" });
    expect(await closedWithoutAnswer(ports.tcp, Buffer.from("hello"))).toEqual({ answered: "" });
    expect(await closedWithoutAnswer(ports.http, Buffer.from("PROXY TCP4 203.0.113.7 nowhere 1 2\r\nGET / HTTP/1.1\r\n\r\n"))).toEqual({ answered: "" });
    // A TLS client without a header: its ClientHello is not a header.
    const tls = await new Promise<string>((resolve) => {
      const socket = tlsConnect({ port: ports.https, host: "127.0.0.1", servername: "httpbin.example.com", ca: testCertificatePem, checkServerIdentity: () => undefined });
      socket.on("secureConnect", () => resolve("handshake completed"));
      socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(tls).not.toBe("handshake completed");
    expect(await stat(gateway, "proxy_proto.not_found_disallowed")).toBe(notFound + 3);
    expect(await stat(gateway, "proxy_proto.versions.v1.error")).toBe(v1Errors + 1);
    expect(await stat(gateway, "proxy_proto.versions.v2.found")).toBeGreaterThan(0);
  });

  it("logs the header's client as downstream_remote_address", async () => {
    await get(proxied(ports.http, proxyV1("203.0.113.77", 40077)));
    const line = await eventually("the access-log line of 203.0.113.77", async () => (await gateway.accessLog()).find((l) => l["downstream_remote_address"] === "203.0.113.77:40077"), { timeoutMs: 5_000, intervalMs: 20 });
    expect(line).toMatchObject({ response_code: 200, upstream_cluster: "outbound|8000||httpbin.default.svc.cluster.local" });
  });

  it("serves clients behind a real HAProxy that sends PROXY protocol v2", async () => {
    const haproxyBinary = "/usr/sbin/haproxy";
    if (!existsSync(haproxyBinary)) throw new Error(`${haproxyBinary} is missing: install HAProxy (apt-get install haproxy) to run this test`);
    const frontPort = await freePort();
    const config = join(root, "haproxy.cfg");
    await writeFile(
      config,
      `defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\nfrontend edge\n  bind 127.0.0.1:${frontPort}\n  default_backend gateway\nbackend gateway\n  server gateway 127.0.0.1:${ports.http} send-proxy-v2\n`,
    );
    const haproxy: ChildProcess = spawn(haproxyBinary, ["-f", config, "-db"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    haproxy.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    try {
      await eventually(
        "HAProxy listening",
        () =>
          new Promise<boolean>((resolve) => {
            const probe = netConnect({ port: frontPort, host: "127.0.0.1" }, () => resolve(probe.destroy() !== undefined));
            probe.on("error", () => resolve(false));
          }),
        { timeoutMs: 5_000, intervalMs: 50 },
      ).catch((error: unknown) => {
        throw new Error(`HAProxy did not start: ${stderr}`, { cause: error });
      });
      // HAProxy names the client (127.0.0.3, in remoteIpBlocks); the gateway's peer is HAProxy itself.
      const allowed = await get({ port: frontPort, localAddress: "127.0.0.3" });
      expect(allowed.status).toBe(200);
      expect(allowed.upstream).toMatchObject({ "x-envoy-external-address": "127.0.0.3", "x-forwarded-proto": "http" });
      // From 127.0.0.2 (ipBlocks) through HAProxy: source.ip is HAProxy's 127.0.0.1, so denied.
      expect((await get({ port: frontPort, localAddress: "127.0.0.2" })).status).toBe(403);
      await eventually("an access-log line from 127.0.0.3", async () => (await gateway.accessLog()).find((l) => String(l["downstream_remote_address"]).startsWith("127.0.0.3:")), { timeoutMs: 5_000, intervalMs: 20 });
    } finally {
      haproxy.kill();
    }
  });
});
