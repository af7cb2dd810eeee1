// Router mode serving the Kubernetes Gateway API (gateway.networking.k8s.io) as Istio's ingress
// task writes it: a Gateway of class istio with an HTTP and an HTTPS listener (certificateRefs →
// the credential directory) and an HTTPRoute with weighted backends, a header match, a
// ReplacePrefixMatch rewrite, a redirect and a ReplacePrefixMatch redirect. A real sidecar
// (`--config DIR`), real upstreams.
import { createServer, request as httpRequest, type Server } from "node:http";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, httpsGet, issueWithOpenssl, readIssued } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

let dir: string;
let apps: Server[] = [];
let sidecar: TestSidecar;
let httpPort: number;
let httpsPort: number;
let exampleCa: string;

const configYaml = (v1Port: number, v2Port: number): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: store-v1, namespace: default }
spec:
  hosts: [store-v1.default.svc.cluster.local]
  ports: [{ number: 8000, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${v1Port} } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: store-v2, namespace: default }
spec:
  hosts: [store-v2.default.svc.cluster.local]
  ports: [{ number: 8000, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${v2Port} } }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: web, namespace: istio-ingress }
spec:
  gatewayClassName: istio
  listeners:
  - name: http
    port: ${httpPort}
    protocol: HTTP
    hostname: "*.example.com"
    allowedRoutes: { namespaces: { from: All } }
  - name: https
    port: ${httpsPort}
    protocol: HTTPS
    hostname: store.example.com
    tls: { certificateRefs: [{ name: store-credential }] }
    allowedRoutes: { namespaces: { from: All } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: store, namespace: default }
spec:
  parentRefs: [{ name: web, namespace: istio-ingress }]
  hostnames: [store.example.com]
  rules:
  - matches: [{ path: { type: PathPrefix, value: /split } }]
    backendRefs:
    - { name: store-v1, port: 8000, weight: 50 }
    - { name: store-v2, port: 8000, weight: 50 }
  - matches: [{ headers: [{ name: x-canary, value: "yes" }] }]
    backendRefs: [{ name: store-v2, port: 8000 }]
  - matches: [{ path: { type: PathPrefix, value: /api } }]
    filters:
    - type: URLRewrite
      urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /v2 } }
    - type: ResponseHeaderModifier
      responseHeaderModifier: { set: [{ name: x-rewritten, value: "true" }] }
    backendRefs: [{ name: store-v1, port: 8000 }]
  - matches: [{ path: { type: Exact, value: /old } }]
    filters:
    - type: RequestRedirect
      requestRedirect: { scheme: https, hostname: new.example.com, statusCode: 301 }
  - matches: [{ path: { type: PathPrefix, value: /legacy } }]
    filters:
    - type: RequestRedirect
      requestRedirect: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /modern } }
  - backendRefs: [{ name: store-v1, port: 8000 }]
`;

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

function get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port: httpPort, path, headers: { host: "store.example.com", ...headers } }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
    });
    request.on("error", reject);
    request.end();
  });
}

async function startApp(name: string): Promise<number> {
  const app = createServer((request, response) => response.end(`${name} ${request.url}`));
  apps.push(app);
  return new Promise<number>((resolve) => app.listen(0, "127.0.0.1", () => resolve((app.address() as AddressInfo).port)));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-gateway-api-"));
  await mkdir(join(dir, "config"));
  const credential = join(dir, "credentials", "store-credential");
  await mkdir(credential, { recursive: true });
  const ca = await issueWithOpenssl(dir, "example.com", "example.com", "");
  exampleCa = (await readIssued(ca)).cert;
  const store = await readIssued(await issueWithOpenssl(dir, "store", "store.example.com", "DNS:store.example.com", join(dir, "example.com")));
  await writeFile(join(credential, "tls.crt"), store.cert);
  await writeFile(join(credential, "tls.key"), store.key);
  const [v1Port, v2Port] = [await startApp("v1"), await startApp("v2")];
  httpPort = await freePort();
  httpsPort = await freePort();
  await writeFile(join(dir, "config", "gateway-api.yaml"), configYaml(v1Port, v2Port));
  sidecar = await startTestSidecar(
    ["--config", join(dir, "config"), "--proxy-mode", "router", "--labels", "gateway.networking.k8s.io/gateway-name=web", "--namespace", "istio-ingress", "--credential-dir", join(dir, "credentials")],
    dir,
    "gateway-api",
  );
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  for (const app of apps) app.close();
  apps = [];
  await rm(dir, { recursive: true, force: true });
});

describe("router mode serving a Gateway API Gateway and HTTPRoute", () => {
  it("splits a PathPrefix rule between two backends by weight", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const answer = await get("/split/item");
      expect(answer.status).toBe(200);
      seen.add(answer.body.split(" ")[0] ?? "");
    }
    expect([...seen].sort()).toEqual(["v1", "v2"]);
  });

  it("sends requests with the matching header to the second backend", async () => {
    expect(await get("/anything", { "x-canary": "yes" })).toMatchObject({ status: 200, body: "v2 /anything" });
    expect(await get("/anything")).toMatchObject({ status: 200, body: "v1 /anything" });
  });

  it("rewrites the matched path prefix on whole segments only", async () => {
    const rewritten = await get("/api/users?x=1");
    expect(rewritten).toMatchObject({ status: 200, body: "v1 /v2/users?x=1" });
    expect(rewritten.headers["x-rewritten"]).toBe("true");
    expect(await get("/api")).toMatchObject({ status: 200, body: "v1 /v2" });
    // `/apix` is not under the /api segment: the catch-all rule forwards it unchanged.
    const other = await get("/apix");
    expect(other).toMatchObject({ status: 200, body: "v1 /apix" });
    expect(other.headers["x-rewritten"]).toBeUndefined();
  });

  it("answers the redirect rule with a Location on the new scheme and host", async () => {
    const answer = await get("/old");
    expect(answer.status).toBe(301);
    expect(answer.headers["location"]).toBe("https://new.example.com/old");
  });

  it("redirects with ReplacePrefixMatch: the matched path prefix is replaced, the rest and the query kept", async () => {
    const under = await get("/legacy/docs/page?lang=en");
    expect(under.status).toBe(302);
    expect(under.headers["location"]).toBe("http://store.example.com/modern/docs/page?lang=en");
    expect((await get("/legacy")).headers["location"]).toBe("http://store.example.com/modern");
    // `/legacyx` is not under the /legacy segment: the catch-all rule forwards it.
    expect(await get("/legacyx")).toMatchObject({ status: 200, body: "v1 /legacyx" });
  });

  it("does not serve a host outside the listener's and route's hostnames", async () => {
    expect((await get("/anything", { host: "other.example.com" })).status).toBe(404);
  });

  it("terminates TLS on the HTTPS listener with the certificateRef's credential", async () => {
    const answer = await httpsGet(httpsPort, "store.example.com", { ca: exampleCa, path: "/split/secure", host: "store.example.com" });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/^v[12] \/split\/secure$/);
    expect(answer.serverSans).toContain("store.example.com");
  });
});
