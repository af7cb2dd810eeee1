// JWT-SVIDs from an in-process CA over real gRPC + TLS and real HTTP: CreateJwtSvid attested by
// the workload token (refusals with their status and reason), the token checked here with
// node:crypto against the JWT authorities WatchTrustBundle publishes and against the OIDC
// discovery endpoints (/.well-known/openid-configuration, /keys), a key rotation through the admin
// API that keeps the old key published, and the keys surviving a restart.
import { createPublicKey, verify, type JsonWebKey } from "node:crypto";
import { stat } from "node:fs/promises";
import { get } from "node:http";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import type { WatchTrustBundleResponse } from "@meshwork/protocol";
import { createJwtSvid } from "@meshwork/workload-identity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jwtKeysFile } from "../src/adapters/jwt-keys.ts";
import { refusalOf, startCaFixture, type CaFixture } from "./ca-fixture.ts";

const issuer = "https://ca.meshwork.test";
const webId = "spiffe://cluster.local/ns/shop/sa/web";
let f: CaFixture;
beforeAll(async () => {
  f = await startCaFixture(["--jwt-issuer", issuer, "--jwt-ttl-seconds", "120", "--rate-limit-per-second", "0"]);
});
afterAll(async () => {
  await f?.stop();
});

interface Jwk extends JsonWebKey {
  kid: string;
  use?: string;
}

const decodePart = (part: string | undefined): Record<string, unknown> => JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8")) as Record<string, unknown>;

/** Verifies an ES256 compact JWS with the key of its `kid` in `keys` (independent of the CA's code). */
function verifyEs256(token: string, keys: readonly Jwk[]): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header, payload, signature] = token.split(".");
  const head = decodePart(header);
  const jwk = keys.find((k) => k.kid === head["kid"]);
  if (!jwk) throw new Error(`no key ${String(head["kid"])} among ${keys.map((k) => k.kid).join(", ")}`);
  const { kid: _kid, use: _use, ...material } = jwk;
  const ok = verify("sha256", Buffer.from(`${header}.${payload}`), { key: createPublicKey({ key: material, format: "jwk" }), dsaEncoding: "ieee-p1363" }, Buffer.from(signature ?? "", "base64url"));
  if (!ok) throw new Error("bad signature");
  return { header: head, claims: decodePart(payload) };
}

function firstBundle(client: ReturnType<CaFixture["client"]>, minVersion = 0): Promise<NonNullable<WatchTrustBundleResponse["bundle"]>> {
  return new Promise((resolve, reject) => {
    const stream = client.watchTrustBundle({});
    stream.on("data", (message: WatchTrustBundleResponse) => {
      if (message.bundle && message.bundle.version >= minVersion) {
        resolve(message.bundle);
        stream.cancel();
      }
    });
    stream.on("error", (error: Error & { code?: number }) => error.code !== status.CANCELLED && reject(error));
  });
}

/** GET over node:http (fetch may not set Host), JSON answer. */
function getJson(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = get({ host: "127.0.0.1", port: f.ca.adminPort, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown> }));
    });
    request.on("error", reject);
  });
}

describe("CreateJwtSvid", () => {
  it("signs sub = the attested ID, aud, exp = iat + TTL and iss, verifiable with the bundle's JWT authorities", async () => {
    const client = f.client();
    const response = await createJwtSvid(client, { audiences: ["api"], spiffeId: "", workloadToken: await f.token({ ns: "shop", sa: "web" }) });
    const bundle = await firstBundle(client);
    client.close();
    const jwks = JSON.parse(bundle.jwtAuthoritiesJwks) as { keys: Jwk[] };
    expect(jwks.keys.map((k) => k.use)).toEqual(["jwt-svid"]);
    const { header, claims } = verifyEs256(response.token, jwks.keys);
    expect(header).toEqual({ alg: "ES256", kid: jwks.keys[0]?.kid, typ: "JWT" });
    expect(claims).toMatchObject({ iss: issuer, sub: webId, aud: "api" });
    expect((claims["exp"] as number) - (claims["iat"] as number)).toBe(120);
    expect(Math.abs((claims["iat"] as number) - Date.now() / 1000)).toBeLessThan(5);
    expect(response).toMatchObject({ spiffeId: webId, expiresAtSeconds: claims["exp"] });
    expect(f.logLines.map((l) => JSON.parse(l)).find((l) => l.msg === "JWT-SVID issued")).toMatchObject({ audit: true, spiffeId: webId, audiences: ["api"] });
  });

  it("names the attested ID on request and keeps several audiences as an array", async () => {
    const client = f.client();
    const response = await createJwtSvid(client, { audiences: ["api", "db"], spiffeId: webId, workloadToken: await f.token({ ns: "shop", sa: "web" }) });
    client.close();
    expect(decodePart(response.token.split(".")[1])).toMatchObject({ sub: webId, aud: ["api", "db"] });
  });

  it.each<[string, { audiences: string[]; spiffeId?: string; sa?: string; audience?: string; badToken?: boolean }, number, string]>([
    ["no audience", { audiences: [] }, status.INVALID_ARGUMENT, "audience-missing"],
    ["another workload's SPIFFE ID", { audiences: ["api"], spiffeId: "spiffe://cluster.local/ns/shop/sa/admin" }, status.PERMISSION_DENIED, "id-mismatch"],
    ["a token minted for another audience", { audiences: ["api"], audience: "someone-else" }, status.UNAUTHENTICATED, "token-wrong-audience"],
    ["a token that is not a JWT", { audiences: ["api"], badToken: true }, status.UNAUTHENTICATED, "token-malformed"],
  ])("refuses %s", async (_name, c, code, reason) => {
    const client = f.client();
    const workloadToken = c.badToken ? "not-a-token" : await f.token({ ns: "shop", sa: c.sa ?? "web", ...(c.audience ? { audience: c.audience } : {}) });
    const refusal = await refusalOf(createJwtSvid(client, { audiences: c.audiences, spiffeId: c.spiffeId ?? "", workloadToken }));
    client.close();
    expect(refusal).toMatchObject({ code, reason });
  });

  it("spends one-time tokens like CreateCertificate", async () => {
    const client = f.client();
    const workloadToken = await f.token({ ns: "shop", sa: "web", jti: "jwt-once" });
    await createJwtSvid(client, { audiences: ["api"], spiffeId: "", workloadToken });
    expect(await refusalOf(createJwtSvid(client, { audiences: ["api"], spiffeId: "", workloadToken }))).toMatchObject({ code: status.UNAUTHENTICATED, reason: "token-reused" });
    client.close();
  });
});

describe("OIDC discovery of the JWT-SVID keys", () => {
  it("serves /.well-known/openid-configuration with the issuer and a jwks_uri where it was reached", async () => {
    const { status: code, body } = await getJson("/.well-known/openid-configuration");
    expect(code).toBe(200);
    expect(body).toMatchObject({ issuer, jwks_uri: `http://127.0.0.1:${f.ca.adminPort}/keys`, id_token_signing_alg_values_supported: ["ES256"] });
    expect((await getJson("/.well-known/openid-configuration", { "x-forwarded-proto": "https", host: "oidc.example.com" })).body["jwks_uri"]).toBe("https://oidc.example.com/keys");
  });

  it("serves /keys, whose keys verify the JWT-SVIDs", async () => {
    const client = f.client();
    const { token } = await createJwtSvid(client, { audiences: ["api"], spiffeId: "", workloadToken: await f.token({ ns: "shop", sa: "web" }) });
    client.close();
    const { status: code, body } = await getJson("/keys");
    expect(code).toBe(200);
    const keys = body["keys"] as Jwk[];
    expect(keys.map((k) => [k.use, k.alg, k.kty, k.crv])).toEqual([["sig", "ES256", "EC", "P-256"]]);
    expect(verifyEs256(token, keys).claims["sub"]).toBe(webId);
  });
});

describe("JWT key rotation", () => {
  it("signs with a new key after POST /v1/ca/rotate-jwt-key, keeps the old one published, and pushes the bundle", async () => {
    const client = f.client();
    const before = await createJwtSvid(client, { audiences: ["api"], spiffeId: "", workloadToken: await f.token({ ns: "shop", sa: "web" }) });
    const oldKid = decodePart(before.token.split(".")[0])["kid"];
    const version = f.ca.authority.bundle().version;
    const rotated = await fetch(`http://127.0.0.1:${f.ca.adminPort}/v1/ca/rotate-jwt-key`, { method: "POST" });
    expect(rotated.status).toBe(200);
    const answer = (await rotated.json()) as { kid: string; previousKid: string };
    expect(answer.previousKid).toBe(oldKid);
    expect(answer.kid).not.toBe(oldKid);
    const after = await createJwtSvid(client, { audiences: ["api"], spiffeId: "", workloadToken: await f.token({ ns: "shop", sa: "web" }) });
    expect(decodePart(after.token.split(".")[0])["kid"]).toBe(answer.kid);
    const bundle = await firstBundle(client, version + 1);
    client.close();
    const published = (JSON.parse(bundle.jwtAuthoritiesJwks) as { keys: Jwk[] }).keys;
    expect(published.map((k) => k.kid)).toEqual([answer.kid, oldKid]);
    const keys = (await getJson("/keys")).body["keys"] as Jwk[];
    expect(verifyEs256(before.token, keys).claims["sub"]).toBe(webId);
    expect(verifyEs256(after.token, keys).claims["sub"]).toBe(webId);
  });

  it("keeps the keys in jwt-keys.json (0600) across a restart", async () => {
    const kids = f.ca.authority.bundle().jwtAuthorities.map((k) => k.kid);
    expect((await stat(join(f.dataDir, jwtKeysFile))).mode & 0o777).toBe(0o600);
    const again = await startCaFixture(["--jwt-ttl-seconds", "120", "--admin-port", "0"], f.dataDir);
    try {
      expect(again.ca.authority.bundle().jwtAuthorities.map((k) => k.kid)).toEqual(kids);
    } finally {
      await again.stop();
    }
  });
});
