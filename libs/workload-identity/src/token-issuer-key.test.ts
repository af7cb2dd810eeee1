// Reading the token issuer's private key: a P-256 PKCS#8 PEM signs tokens its public key verifies;
// other text and other key types are refused with a reason, never a throw.
import { derToPem, exportPrivateKeyPem, generateKeyPair } from "@meshwork/pki";
import { describe, expect, it } from "vitest";
import { importTokenIssuerKey } from "./token-issuer-key.ts";
import { mintWorkloadToken, verifyWorkloadToken } from "./workload-token.ts";

const crypto = globalThis.crypto;

describe("importTokenIssuerKey", () => {
  it("imports a P-256 PKCS#8 PEM whose tokens verify with the matching public key", async () => {
    const keys = await generateKeyPair("ecdsa-p256", { crypto });
    const imported = await importTokenIssuerKey(await exportPrivateKeyPem(keys.privateKey, crypto), crypto);
    if (!imported.ok) throw new Error(imported.detail);
    const token = await mintWorkloadToken({ privateKey: imported.privateKey, issuer: "meshwork", audience: "meshwork-ca", namespace: "shop", serviceAccount: "web", now: new Date(0), ttlSeconds: 60, crypto });
    expect(await verifyWorkloadToken(token, { publicKey: keys.publicKey, crypto })).toMatchObject({ ok: true, claims: { ns: "shop", sa: "web" } });
  });

  it.each([
    ["empty text", ""],
    ["a certificate block", derToPem(new Uint8Array([1, 2, 3]), "CERTIFICATE")],
    ["a PRIVATE KEY block of garbage", derToPem(new Uint8Array([1, 2, 3]), "PRIVATE KEY")],
  ])("refuses %s", async (_name, pem) => {
    expect(await importTokenIssuerKey(pem, crypto)).toMatchObject({ ok: false, detail: expect.stringMatching(/^not an? /) });
  });

  it("refuses a P-384 key", async () => {
    const keys = await generateKeyPair("ecdsa-p384", { crypto });
    expect(await importTokenIssuerKey(await exportPrivateKeyPem(keys.privateKey, crypto), crypto)).toMatchObject({ ok: false, detail: expect.stringContaining("P-256") });
  });
});
