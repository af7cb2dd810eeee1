// Minting and verifying ES256 workload tokens: round trip, and each way a token's bytes are refused.
import { describe, expect, it } from "vitest";
import { mintWorkloadToken, verifyWorkloadToken } from "./workload-token.ts";

const crypto = globalThis.crypto;
const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
const otherKeys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
const now = new Date("2026-11-22T10:00:00Z");
const mint = (extra: { jti?: string } = {}) =>
  mintWorkloadToken({ privateKey: keys.privateKey, issuer: "meshwork", audience: "meshwork-ca", namespace: "shop", serviceAccount: "web", now, ttlSeconds: 600, crypto, ...extra });

function b64url(text: string): string {
  return Buffer.from(text).toString("base64url");
}

describe("workload tokens", () => {
  it("verify with the issuer's public key and carry the claims", async () => {
    const result = await verifyWorkloadToken(await mint({ jti: "boot-1" }), { publicKey: keys.publicKey, crypto });
    expect(result).toEqual({
      ok: true,
      claims: { iss: "meshwork", aud: "meshwork-ca", expSeconds: now.getTime() / 1000 + 600, nbfSeconds: now.getTime() / 1000, iatSeconds: now.getTime() / 1000, ns: "shop", sa: "web", td: undefined, jti: "boot-1" },
    });
  });

  it("are refused when signed by another key", async () => {
    expect(await verifyWorkloadToken(await mint(), { publicKey: otherKeys.publicKey, crypto })).toMatchObject({ ok: false, reason: "token-bad-signature" });
  });

  it("are refused when the claims were altered", async () => {
    const [header, , signature] = (await mint()).split(".");
    const forged = `${header}.${b64url(JSON.stringify({ iss: "meshwork", aud: "meshwork-ca", exp: 9e9, ns: "kube-system", sa: "admin" }))}.${signature}`;
    expect(await verifyWorkloadToken(forged, { publicKey: keys.publicKey, crypto })).toMatchObject({ ok: false, reason: "token-bad-signature" });
  });

  it.each([
    ["empty", "", "token-missing"],
    ["not three parts", "a.b", "token-malformed"],
    ["alg none", `${b64url('{"alg":"none"}')}.${b64url('{"ns":"a","sa":"b"}')}.`, "token-malformed"],
    ["alg HS256", `${b64url('{"alg":"HS256"}')}.${b64url("{}")}.${"A".repeat(43)}`, "token-malformed"],
    ["header not JSON", `${b64url("{")}.${b64url("{}")}.${"A".repeat(86)}`, "token-malformed"],
    ["non-base64url signature", `${b64url('{"alg":"ES256"}')}.${b64url("{}")}.***`, "token-malformed"],
  ])("are refused when %s", async (_name, token, reason) => {
    expect(await verifyWorkloadToken(token, { publicKey: keys.publicKey, crypto })).toMatchObject({ ok: false, reason });
  });

  it("are refused when validly signed but missing ns", async () => {
    const encoder = new TextEncoder();
    const input = `${b64url('{"alg":"ES256"}')}.${b64url('{"iss":"meshwork","aud":"meshwork-ca","exp":9000000000,"sa":"web"}')}`;
    const signature = Buffer.from(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, encoder.encode(input))).toString("base64url");
    expect(await verifyWorkloadToken(`${input}.${signature}`, { publicKey: keys.publicKey, crypto })).toMatchObject({ ok: false, reason: "token-malformed" });
  });
});
