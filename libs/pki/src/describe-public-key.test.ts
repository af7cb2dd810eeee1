// Key descriptions read from SubjectPublicKeyInfo DER, for every key type the lib generates.
import { describe, expect, it } from "vitest";
import { describePublicKey } from "./describe-public-key.ts";
import { exportPublicKeyDer, generateKeyPair, type KeyAlgorithmName } from "./key-pair.ts";

describe("describePublicKey()", () => {
  it.each([
    ["ecdsa-p256", { kind: "ecdsa", curve: "P-256" }],
    ["ecdsa-p384", { kind: "ecdsa", curve: "P-384" }],
    ["rsa-2048", { kind: "rsa", bits: 2048 }],
    ["rsa-3072", { kind: "rsa", bits: 3072 }],
  ] as const)("%s → %o", async (algorithm: KeyAlgorithmName, expected) => {
    const spki = await exportPublicKeyDer((await generateKeyPair(algorithm)).publicKey);
    expect(describePublicKey(spki)).toEqual({ ok: true, key: expected });
  });

  it("names other algorithms by OID and refuses non-SPKI bytes", async () => {
    const ed = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    expect(describePublicKey(await exportPublicKeyDer(ed.publicKey))).toEqual({ ok: true, key: { kind: "other", algorithm: "1.3.101.112" } });
    expect(describePublicKey(new Uint8Array([0x30, 0]))).toMatchObject({ ok: false, reason: "malformed" });
  });
});
