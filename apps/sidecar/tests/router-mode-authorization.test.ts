// AuthorizationPolicy and RequestAuthentication on the ingress gateway (router mode), as Istio's
// tasks set them up: "Ingress Access Control" (ipBlocks and remoteIpBlocks behind a trusted load
// balancer's X-Forwarded-For), a DENY on a host at the gateway, "Authorization on Ingress Gateway
// with JWT" (RequestAuthentication + requestPrincipals: ["*"], keys from a local JWKS server), a
// policy whose selector does not match the gateway, principals from the client certificates of a
// MUTUAL server (and none on SIMPLE), and a TLS passthrough port denied by ipBlocks.
// Real sockets throughout: HTTP/1.1, h2c, HTTPS the gateway terminates, passthrough TLS; source
// addresses other than 127.0.0.1 come from binding the client to 127.0.0.2.
import { createServer, request as httpRequest, type Server } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect as netConnect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { eventually } from "@meshwork/testing";
import { freePort, httpsGet, issueWithOpenssl, readIssued } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateTestKey, jwksOf, signJwt } from "../src/authn/testing/sign-jwt.ts";
import { h2Connect, h2Request } from "./support/h2-client.ts";
import { testCertificatePem, testPrivateKeyPem } from "./support/h2-test-certificate.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

let root: string;
let app: Server;
let appPort: number;
/** What the application received: Host and Authorization of each request. */
const seen: { host: string | undefined; authorization: string | undefined }[] = [];
const gateways: TestSidecar[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "sidecar-router-authz-"));
  app = createServer((request, response) => {
    seen.push({ host: request.headers.host, authorization: request.headers.authorization });
    response.end(`httpbin ${request.url ?? ""}\n`);
  });
  appPort = await new Promise<number>((resolve) => app.listen(0, "127.0.0.1", () => resolve((app.address() as AddressInfo).port)));
});

afterAll(async () => {
  for (const gateway of gateways) await gateway.stop();
  app?.close();
  await rm(root, { recursive: true, force: true });
});

/** The application as a mesh service, a Gateway selecting `istio: ingressgateway` with `servers`, and a VirtualService for *.example.com. */
const routedGateway = (servers: string): string => `apiVersion: networking.istio.io/v1
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
metadata: { name: httpbin-gateway, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
${servers}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: httpbin, namespace: default }
spec:
  hosts: ["*.example.com"]
  gateways: [istio-system/httpbin-gateway]
  http:
  - route: [{ destination: { host: httpbin.default.svc.cluster.local, port: { number: 8000 } } }]
`;

/** A router-mode sidecar labelled as Istio's ingress gateway in istio-system, serving `yaml`. */
async function startGateway(name: string, yaml: string, args: readonly string[] = []): Promise<TestSidecar & { readonly dir: string }> {
  const dir = join(root, name);
  await mkdir(join(dir, "config"), { recursive: true });
  await writeFile(join(dir, "config", "gateway.yaml"), yaml);
  const gateway = await startTestSidecar(
    ["--config", join(dir, "config"), "--proxy-mode", "router", "--labels", "istio=ingressgateway,app=istio-ingressgateway", "--namespace", "istio-system", ...args],
    dir,
    name,
  );
  gateways.push(gateway);
  return Object.assign(gateway, { dir });
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** One HTTP/1.1 GET on a new connection from `localAddress` (127.0.0.1 unless given). */
function get(port: number, options: { host?: string; path?: string; headers?: Record<string, string>; localAddress?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: "127.0.0.1", port, path: options.path ?? "/headers", localAddress: options.localAddress ?? "127.0.0.1", headers: { host: options.host ?? "httpbin.example.com", ...options.headers }, agent: false },
      (response) => {
        let body = "";
        response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
      },
    );
    request.on("error", reject);
    request.end();
  });
}

/** One request over a new h2c connection. */
async function h2Get(port: number, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const session = h2Connect(port);
  try {
    const response = await h2Request(session, { ":path": "/headers", ":authority": "httpbin.example.com", ...headers });
    return { status: response.status, body: response.body };
  } finally {
    session.close();
  }
}

/** The admin `/stats` value of `name` (NaN when absent). */
async function stat(gateway: TestSidecar, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${gateway.port("admin")}/stats`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}: `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 2));
}

const denied = { status: 403, body: "RBAC: access denied" };

describe("ingress access control: ipBlocks and remoteIpBlocks with a trusted proxy's X-Forwarded-For", () => {
  let gateway: TestSidecar;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    const meshConfig = join(root, "mesh-one-trusted-proxy.yaml");
    // Istio's setup behind one load balancer: MeshConfig defaultConfig.gatewayTopology.
    await writeFile(meshConfig, "defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: 1\n");
    gateway = await startGateway(
      "ip-allow-list",
      `${routedGateway(`  - port: { number: ${port}, name: http, protocol: HTTP }\n    hosts: ["*.example.com"]\n`)}---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ingress-policy, namespace: istio-system }
spec:
  selector: { matchLabels: { app: istio-ingressgateway } }
  action: ALLOW
  rules:
  - from: [{ source: { remoteIpBlocks: ["203.0.113.0/24"] } }]
  - from: [{ source: { ipBlocks: ["127.0.0.2"] } }]
`,
      ["--mesh-config", meshConfig],
    );
  });

  it("admits the client X-Forwarded-For names inside remoteIpBlocks, and denies one outside with Istio's 403", async () => {
    expect(await get(port, { headers: { "x-forwarded-for": "203.0.113.7" } })).toMatchObject({ status: 200, body: "httpbin /headers\n" });
    expect(await get(port, { headers: { "x-forwarded-for": "198.51.100.1" } })).toMatchObject(denied);
    // Only the trusted proxy's entry (the rightmost) counts: an address the client wrote before it does not.
    expect(await get(port, { headers: { "x-forwarded-for": "203.0.113.7, 198.51.100.1" } })).toMatchObject(denied);
    // Without the header, remote.ip is the TCP peer (127.0.0.1): outside every block.
    expect(await get(port)).toMatchObject(denied);
  });

  it("matches ipBlocks against the TCP peer, never X-Forwarded-For", async () => {
    expect(await get(port, { localAddress: "127.0.0.2", headers: { "x-forwarded-for": "198.51.100.1" } })).toMatchObject({ status: 200 });
    expect(await get(port, { headers: { "x-forwarded-for": "127.0.0.2" } })).toMatchObject(denied);
  });

  it("logs denials with Envoy's RBAC details and counts them", async () => {
    const line = await eventually("a denial's access-log line", async () => (await gateway.accessLog()).find((l) => l["response_code"] === 403), { timeoutMs: 5_000, intervalMs: 20 });
    expect(line).toMatchObject({ response_flags: "-", response_code_details: "rbac_access_denied_matched_policy[none]" });
    const metrics = await gateway.metrics();
    expect(metrics).toMatch(/^envoy_http_inbound_rbac_denied [1-9]\d*$/m);
    expect(metrics).toMatch(/^envoy_http_inbound_rbac_allowed [1-9]\d*$/m);
  });
});

describe("a DENY on a host at the gateway, on HTTP/1.1, HTTP/2 and HTTPS; policies for other workloads have no effect", () => {
  let gateway: TestSidecar & { readonly dir: string };
  let httpPort: number;
  let httpsPort: number;
  let yaml: string;

  beforeAll(async () => {
    httpPort = await freePort();
    httpsPort = await freePort();
    const certs = join(root, "certs");
    await mkdir(certs, { recursive: true });
    await writeFile(join(certs, "gateway.crt"), testCertificatePem);
    await writeFile(join(certs, "gateway.key"), testPrivateKeyPem);
    yaml = `${routedGateway(`  - port: { number: ${httpPort}, name: http, protocol: HTTP }
    hosts: ["*.example.com"]
  - port: { number: ${httpsPort}, name: https, protocol: HTTPS }
    tls: { mode: SIMPLE, serverCertificate: ${join(certs, "gateway.crt")}, privateKey: ${join(certs, "gateway.key")} }
    hosts: ["*.example.com"]
`)}---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin-host, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: DENY
  rules:
  - to: [{ operation: { hosts: ["admin.example.com"] } }]
---
# Selects another workload of the gateway's namespace: not the gateway.
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-all-productpage, namespace: istio-system }
spec:
  selector: { matchLabels: { app: productpage } }
  action: DENY
  rules: [{}]
---
# Namespace-wide in another namespace: not the gateway's.
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: default }
spec: {}
`;
    gateway = await startGateway("deny-host", yaml);
  });

  it("denies the host on HTTP/1.1 and lets the others through, untouched by policies that do not select the gateway", async () => {
    seen.length = 0;
    expect(await get(httpPort, { host: "admin.example.com" })).toMatchObject(denied);
    expect(await get(httpPort, { host: "httpbin.example.com" })).toMatchObject({ status: 200, body: "httpbin /headers\n" });
    expect(seen.map((s) => s.host)).toEqual(["httpbin.example.com"]);
  });

  it("denies the host on HTTP/2 (h2c)", async () => {
    expect(await h2Get(httpPort, { ":authority": "admin.example.com" })).toEqual(denied);
    expect(await h2Get(httpPort, { ":authority": "httpbin.example.com" })).toEqual({ status: 200, body: "httpbin /headers\n" });
  });

  it("denies the host on the HTTPS port the gateway terminates", async () => {
    const https = (host: string) => httpsGet(httpsPort, host, { ca: testCertificatePem, path: "/headers", skipHostnameCheck: true });
    expect(await https("admin.example.com")).toMatchObject(denied);
    expect(await https("httpbin.example.com")).toMatchObject({ status: 200, body: "httpbin /headers\n" });
    const line = await eventually("the HTTPS denial's access-log line", async () => (await gateway.accessLog()).find((l) => l["response_code"] === 403 && l["requested_server_name"] === "admin.example.com"), { timeoutMs: 5_000, intervalMs: 20 });
    expect(line).toMatchObject({ response_code_details: "rbac_access_denied_matched_policy[ns[istio-system]-policy[deny-admin-host]-rule[0]]" });
  });

  it("a config push replaces the policies: without the DENY the host is served", async () => {
    await writeFile(join(gateway.dir, "config", "gateway.yaml"), yaml.replace('hosts: ["admin.example.com"]', 'hosts: ["nobody.example.com"]'));
    const answer = await eventually("the admin host served after the push", async () => {
      const reply = await get(httpPort, { host: "admin.example.com" });
      return reply.status === 200 ? reply : undefined;
    }, { timeoutMs: 10_000, intervalMs: 50 });
    expect(answer.body).toBe("httpbin /headers\n");
  });
});

describe("JWT at the ingress gateway: RequestAuthentication + requestPrincipals: [\"*\"]", () => {
  const iss = "testing@secure.istio.io";
  const key = generateTestKey("ES256", "gateway-key");
  const nowS = Math.floor(Date.now() / 1000);
  const token = signJwt(key, { iss, sub: iss, exp: nowS + 3600, iat: nowS });
  const expired = signJwt(key, { iss, sub: iss, exp: nowS - 3600, iat: nowS - 7200 });
  let jwks: Server;
  let gateway: TestSidecar;
  let port: number;

  beforeAll(async () => {
    jwks = createServer((_request, response) => response.setHeader("content-type", "application/json").end(jwksOf(key)));
    const jwksPort = await new Promise<number>((resolve) => jwks.listen(0, "127.0.0.1", () => resolve((jwks.address() as AddressInfo).port)));
    port = await freePort();
    gateway = await startGateway(
      "jwt",
      `${routedGateway(`  - port: { number: ${port}, name: http, protocol: HTTP }\n    hosts: ["*.example.com"]\n`)}---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt-example, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  jwtRules:
  - issuer: "${iss}"
    jwksUri: http://127.0.0.1:${jwksPort}/jwks.json
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: require-jwt, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: ALLOW
  rules:
  - from: [{ source: { requestPrincipals: ["*"] } }]
`,
    );
  });

  afterAll(() => {
    jwks?.close();
  });

  it("denies a request without a token (403) and answers a bad or expired one with Envoy's 401", async () => {
    expect(await get(port)).toMatchObject(denied);
    const malformed = await get(port, { headers: { authorization: "Bearer deadbeef" } });
    expect(malformed).toMatchObject({ status: 401, body: "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections" });
    expect(malformed.headers["www-authenticate"]).toBe('Bearer realm="http://httpbin.example.com/headers", error="invalid_token"');
    expect(await get(port, { headers: { authorization: `Bearer ${expired}` } })).toMatchObject({ status: 401, body: "Jwt is expired" });
  });

  it("routes a request with a valid token (keys fetched from the JWKS server), without forwarding the token", async () => {
    seen.length = 0;
    expect(await get(port, { headers: { authorization: `Bearer ${token}` } })).toMatchObject({ status: 200, body: "httpbin /headers\n" });
    expect(seen).toEqual([{ host: "httpbin.example.com", authorization: undefined }]);
  });

  it("does the same over HTTP/2 and counts the token refusals", async () => {
    expect(await h2Get(port, {})).toEqual(denied);
    expect(await h2Get(port, { authorization: `Bearer ${token}` })).toEqual({ status: 200, body: "httpbin /headers\n" });
    expect(await gateway.metrics()).toMatch(/^envoy_http_inbound_jwt_authn_denied 2$/m);
  });
});

describe("principals at the gateway: a MUTUAL server's client certificates, none on SIMPLE", () => {
  let mutualPort: number;
  let simplePort: number;
  let ca: string;
  let sleep: { cert: string; key: string };
  let other: { cert: string; key: string };

  beforeAll(async () => {
    const dir = join(root, "mutual-certs");
    await mkdir(dir, { recursive: true });
    await issueWithOpenssl(dir, "example.com", "example.com", "");
    const caPrefix = join(dir, "example.com");
    ca = (await readIssued({ cert: `${caPrefix}.crt`, key: `${caPrefix}.key` })).cert;
    const server = await issueWithOpenssl(dir, "gateway", "httpbin.example.com", "DNS:httpbin.example.com", caPrefix);
    sleep = await readIssued(await issueWithOpenssl(dir, "sleep", "sleep", "URI:spiffe://cluster.local/ns/foo/sa/sleep", caPrefix));
    other = await readIssued(await issueWithOpenssl(dir, "other", "other", "URI:spiffe://cluster.local/ns/foo/sa/other", caPrefix));
    mutualPort = await freePort();
    simplePort = await freePort();
    await startGateway(
      "mutual",
      `${routedGateway(`  - port: { number: ${mutualPort}, name: https-mutual, protocol: HTTPS }
    tls: { mode: MUTUAL, serverCertificate: ${server.cert}, privateKey: ${server.key}, caCertificates: ${caPrefix}.crt }
    hosts: ["*.example.com"]
  - port: { number: ${simplePort}, name: https-simple, protocol: HTTPS }
    tls: { mode: SIMPLE, serverCertificate: ${server.cert}, privateKey: ${server.key} }
    hosts: ["*.example.com"]
`)}---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: only-sleep, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  rules:
  - from: [{ source: { principals: ["cluster.local/ns/foo/sa/sleep"] } }]
`,
    );
  });

  const https = (port: number, client: { cert: string; key: string }) => httpsGet(port, "httpbin.example.com", { ca, path: "/headers", client });

  it("matches principals against the verified client certificate's SPIFFE ID", async () => {
    expect(await https(mutualPort, sleep)).toMatchObject({ status: 200, body: "httpbin /headers\n" });
    expect(await https(mutualPort, other)).toMatchObject(denied);
  });

  it("has no principal on a SIMPLE server, whatever certificate the client holds", async () => {
    expect(await https(simplePort, sleep)).toMatchObject(denied);
  });
});

describe("a TLS passthrough port under ipBlocks (the TCP form of the policies)", () => {
  let nginx: HttpsServer;
  let gateway: TestSidecar;
  let port: number;

  beforeAll(async () => {
    nginx = createHttpsServer({ cert: testCertificatePem, key: testPrivateKeyPem }, (request, response) => response.end(`nginx terminated TLS for ${request.headers.host ?? ""}\n`));
    const nginxPort = await new Promise<number>((resolve) => nginx.listen(0, "127.0.0.1", () => resolve((nginx.address() as AddressInfo).port)));
    port = await freePort();
    gateway = await startGateway(
      "passthrough",
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: my-nginx, namespace: default }
spec:
  hosts: [my-nginx.default.svc.cluster.local]
  ports: [{ number: 443, name: https, protocol: TLS }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { https: ${nginxPort} } }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: mygateway, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: ${port}, name: https, protocol: HTTPS }
    tls: { mode: PASSTHROUGH }
    hosts: [nginx.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: nginx, namespace: default }
spec:
  hosts: [nginx.example.com]
  gateways: [istio-system/mygateway]
  tls:
  - match: [{ port: ${port}, sniHosts: [nginx.example.com] }]
    route: [{ destination: { host: my-nginx, port: { number: 443 } } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-127-0-0-2, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: DENY
  rules:
  - from: [{ source: { ipBlocks: ["127.0.0.2"] } }]
`,
    );
  });

  afterAll(() => {
    nginx?.close();
  });

  /** A GET over TLS through the passthrough port from `localAddress`; the app's answer, or the error that ended the connection. */
  const tlsGet = (localAddress: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const tcp = netConnect({ host: "127.0.0.1", port, localAddress });
      tcp.on("error", reject);
      const socket = tlsConnect({ socket: tcp, servername: "nginx.example.com", rejectUnauthorized: false }, () => {
        let reply = "";
        socket.setEncoding("utf8").on("data", (chunk: string) => (reply += chunk));
        socket.on("end", () => resolve(reply));
        socket.end("GET / HTTP/1.1\r\nhost: nginx.example.com\r\nconnection: close\r\n\r\n");
      });
      socket.on("error", reject);
    });

  it("closes a connection from a denied address before the app is dialled, and passes the others", async () => {
    expect(await tlsGet("127.0.0.1")).toContain("nginx terminated TLS for nginx.example.com");
    await expect(tlsGet("127.0.0.2")).rejects.toThrow();
    const line = await eventually("the denied connection's access-log line", async () => (await gateway.accessLog()).find((l) => String(l["connection_termination_details"]).startsWith("rbac_access_denied")), { timeoutMs: 5_000, intervalMs: 20 });
    expect(line).toMatchObject({
      connection_termination_details: "rbac_access_denied_matched_policy[ns[istio-system]-policy[deny-127-0-0-2]-rule[0]]",
      requested_server_name: "nginx.example.com",
      // Never dialled: no upstream host.
      upstream_host: null,
    });
    expect(await stat(gateway, "tcp.rbac.denied")).toBe(1);
    expect(await stat(gateway, "tcp.rbac.allowed")).toBe(1);
  });
});
