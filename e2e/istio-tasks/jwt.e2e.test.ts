// Istio task "JWT Token" authorization (https://istio.io/latest/docs/tasks/security/authorization/authz-jwt/)
// on bookinfo's productpage, through the ingress gateway. The test is the issuer
// (testing@secure.istio.io): it serves its JWKS on a port of its own and signs RS256 tokens with
// the claims of Istio's demo.jwt and groups-scope.jwt. RequestAuthentication: an invalid token →
// 401, a valid one or none → 200; require-jwt: no token → 403; the groups claim in
// `when: request.auth.claims[groups]`: a token with group1 → 200, one without groups → 403.
import { createSign, generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MeshEndpoints } from "./support/local-mesh.ts";
import { applyYaml, fixture } from "./support/mesh-config.ts";
import { resetToBaseline } from "./support/mesh-state.ts";
import { MESH_HOOK_TIMEOUT, useLocalMesh } from "./support/use-local-mesh.ts";

const issuer = "testing@secure.istio.io";
const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const kid = "e2e-istio-jwt-task";
const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" }] });

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString("base64url");
}

function signToken(claims: Record<string, unknown>): string {
  const head = `${base64url(JSON.stringify({ alg: "RS256", kid, typ: "JWT" }))}.${base64url(JSON.stringify(claims))}`;
  const signature = createSign("RSA-SHA256").update(head).sign(privateKey);
  return `${head}.${base64url(signature)}`;
}

/** The claims of Istio's samples demo.jwt and groups-scope.jwt. */
const demoToken = signToken({ exp: 4685989700, foo: "bar", iat: 1532389700, iss: issuer, sub: issuer });
const groupsToken = signToken({ exp: 3537391104, groups: ["group1", "group2"], iat: 1537391104, iss: issuer, scope: ["scope1", "scope2"], sub: issuer });

let mesh: MeshEndpoints;
let jwksServer: Server;
let jwksFetches = 0;
let jwksUri = "";

beforeAll(async () => {
  jwksServer = createServer((_req, res) => {
    jwksFetches++;
    res.writeHead(200, { "content-type": "application/json" }).end(jwks);
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
  jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  mesh = await useLocalMesh();
  await resetToBaseline(mesh);
}, MESH_HOOK_TIMEOUT);
afterAll(async () => {
  if (mesh !== undefined) await resetToBaseline(mesh);
  await new Promise((resolve) => jwksServer.close(resolve));
});

async function status(token?: string): Promise<number> {
  const response = await fetch(`${mesh.gateway}/productpage`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(20_000) });
  await response.arrayBuffer();
  return response.status;
}

describe("JWT authentication and claims in authorization", () => {
  it("RequestAuthentication: an invalid token is rejected with 401, a valid one and none pass", async () => {
    await applyYaml(mesh, fixture("jwt-request-authentication.yaml").replaceAll("JWKS_URI", jwksUri));
    expect(await status("invalidToken")).toBe(401);
    expect(await status(demoToken)).toBe(200);
    expect(await status()).toBe(200);
    expect(jwksFetches).toBeGreaterThan(0);
  });

  it("require-jwt: a request without a token is denied (403), with the issuer's token allowed", async () => {
    await applyYaml(mesh, fixture("jwt-require-jwt.yaml"));
    expect(await status()).toBe(403);
    expect(await status(demoToken)).toBe(200);
  });

  it("require-jwt with `when: request.auth.claims[groups]` = group1: the groups token passes, the token without groups is denied", async () => {
    await applyYaml(mesh, fixture("jwt-require-jwt-groups.yaml"));
    expect(await status(groupsToken)).toBe(200);
    expect(await status(demoToken)).toBe(403);
  });
});
