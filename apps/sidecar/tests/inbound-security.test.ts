// RequestAuthentication and AuthorizationPolicy on a real sidecar's inbound listener (standalone,
// plain text): the application behind it only sees what the policies let through; a denial is
// Istio's 403 "RBAC: access denied" with Envoy's RBAC details in the access log and counters; an
// invalid token is 401 before authorization; a valid token's principal satisfies
// requestPrincipals and the token is not forwarded; remote.ip is X-Forwarded-For's last entry; a
// policy change applies without a restart.
import { createServer, type Server } from "node:http";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "@meshwork/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateTestKey, jwksOf, signJwt } from "../src/authn/testing/sign-jwt.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";

const iss = "testing@secure.istio.io";
const key = generateTestKey("ES256", "k1");
const nowS = Math.floor(Date.now() / 1000);
const token = signJwt(key, { iss, sub: iss, exp: nowS + 3600, iat: nowS, groups: ["admins"] });

let dir: string;
let app: Server;
let appPort: number;
let sidecar: TestSidecar;
const seen: { path: string; authorization: string | undefined }[] = [];

const policies = (authz: string): string => `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: shop }
spec:
  selector: { matchLabels: { app: api } }
  jwtRules:
  - issuer: "${iss}"
    jwks: '${jwksOf(key)}'
---
${authz}`;

const allowAdmins = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: admins-only, namespace: shop }
spec:
  selector: { matchLabels: { app: api } }
  rules:
  - from: [{ source: { requestPrincipals: ["${iss}/${iss}"] } }]
    to: [{ operation: { paths: ["/admin/*"] } }]
  - to: [{ operation: { methods: ["GET"], paths: ["/public/*"] } }]
`;

async function setPolicies(authz: string): Promise<void> {
  await writeFile(join(dir, "config", "policies.yaml"), policies(authz));
}

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${sidecar.port("inbound")}${path}`, { headers });
  return { status: response.status, body: await response.text() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sidecar-inbound-security-"));
  app = createServer((request, response) => {
    seen.push({ path: request.url ?? "", authorization: request.headers.authorization });
    response.end("app\n");
  });
  appPort = await new Promise<number>((resolve) => app.listen(0, "127.0.0.1", () => resolve((app.address() as { port: number }).port)));
  // The access log goes elsewhere: writes in the config directory would keep its watcher's debounce from settling.
  await mkdir(join(dir, "logs"));
  await mkdir(join(dir, "config"));
  await setPolicies(allowAdmins);
  sidecar = await startTestSidecar(["--config", join(dir, "config"), "--namespace", "shop", "--labels", "app=api,version=v1", "--app-port", String(appPort)], join(dir, "logs"), "api");
});

afterAll(async () => {
  await sidecar?.stop();
  app?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("inbound request security on a real sidecar", () => {
  it("forwards what a rule allows and denies the rest with Istio's 403", async () => {
    expect(await get("/public/x")).toEqual({ status: 200, body: "app\n" });
    expect(await get("/admin/x")).toEqual({ status: 403, body: "RBAC: access denied" });
    expect(seen.map((s) => s.path)).toEqual(["/public/x"]);
  });

  it("answers an invalid token with 401 before authorization", async () => {
    const reply = await get("/public/x", { authorization: "Bearer not.a.jwt" });
    expect(reply.status).toBe(401);
    expect(seen.map((s) => s.path)).toEqual(["/public/x"]);
  });

  it("lets a verified token's principal reach /admin, without forwarding the token", async () => {
    expect(await get("/admin/x", { authorization: `Bearer ${token}` })).toEqual({ status: 200, body: "app\n" });
    expect(seen.at(-1)).toEqual({ path: "/admin/x", authorization: undefined });
  });

  it("marks denials in the access log (Envoy's RBAC details) and counts them", async () => {
    // The writer batches lines: poll until the denial's has reached the file.
    const denial = await eventually("the denial's access-log line", async () => (await sidecar.accessLog()).find((l) => l["path"] === "/admin/x" && l["response_code"] === 403), { timeoutMs: 5_000, intervalMs: 20 });
    expect(denial).toMatchObject({ response_flags: "-", response_code_details: "rbac_access_denied_matched_policy[none]" });
    const metrics = await sidecar.metrics();
    expect(metrics).toMatch(/^envoy_http_inbound_rbac_denied 1$/m);
    expect(metrics).toMatch(/^envoy_http_inbound_jwt_authn_denied 1$/m);
    expect(metrics).toMatch(/istio_requests_total\{reporter="destination"[^}]*response_code="403"[^}]*\} 1/);
  });

  it("takes remote.ip from X-Forwarded-For's last entry, as Envoy on a sidecar does (remoteIpBlocks)", async () => {
    await setPolicies(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: block-remote, namespace: shop }
spec:
  selector: { matchLabels: { app: api } }
  action: DENY
  rules:
  - from: [{ source: { remoteIpBlocks: ["203.0.113.0/24"] } }]
`);
    await eventually("the DENY on remote.ip in force", async () => (await get("/public/x", { "x-forwarded-for": "203.0.113.7" })).status === 403, { timeoutMs: 10_000 });
    // The last entry counts: an earlier one is whatever the client wrote.
    expect((await get("/public/x", { "x-forwarded-for": "203.0.113.7, 198.51.100.1" })).status).toBe(200);
    expect((await get("/public/x", { "x-forwarded-for": "198.51.100.1, 203.0.113.9" })).status).toBe(403);
    // Without the header (or with one that is not an address) remote.ip is the TCP peer.
    expect((await get("/public/x")).status).toBe(200);
    expect((await get("/public/x", { "x-forwarded-for": "not-an-ip" })).status).toBe(200);
    await setPolicies(allowAdmins);
    await eventually("the DENY gone", async () => (await get("/public/x", { "x-forwarded-for": "203.0.113.7" })).status === 200, { timeoutMs: 10_000 });
  });

  it("applies a changed policy without a restart (allow-nothing)", async () => {
    await setPolicies(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: shop }
spec: {}
`);
    let reply = await get("/public/x");
    for (let i = 0; i < 100 && reply.status !== 403; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      reply = await get("/public/y");
    }
    expect(reply).toEqual({ status: 403, body: "RBAC: access denied" });
  });
});
