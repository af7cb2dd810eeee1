// The node:crypto-backed Crypto agrees with WebCrypto: signatures made by one verify with the
// other, imported public keys refuse wrong curves, and tampered data does not verify.
import { webcrypto } from "node:crypto";
import { describe, expect, it } from "vitest";
import { nodeCrypto, p256PublicJwk } from "./node-crypto.ts";

const web = webcrypto as unknown as Crypto;
const fast = nodeCrypto();
const ecdsa = { name: "ECDSA", hash: "SHA-256" } as const;
const data = new TextEncoder().encode("to be signed");

describe("nodeCrypto", () => {
  it("signs what WebCrypto verifies, and verifies what WebCrypto signs", async () => {
    const keys = (await web.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const spki = await web.subtle.exportKey("spki", keys.publicKey);
    const imported = await fast.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    const byNode = await fast.subtle.sign(ecdsa, keys.privateKey, data);
    expect(await web.subtle.verify(ecdsa, keys.publicKey, byNode, data)).toBe(true);
    const byWeb = await web.subtle.sign(ecdsa, keys.privateKey, data);
    expect(await fast.subtle.verify(ecdsa, imported, byWeb, data)).toBe(true);
    expect(await fast.subtle.verify(ecdsa, imported, byWeb, new TextEncoder().encode("tampered"))).toBe(false);
  });

  it("refuses a public key imported for the wrong curve", async () => {
    const keys = (await web.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const spki = await web.subtle.exportKey("spki", keys.publicKey);
    await expect(fast.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"])).rejects.toThrow(/curve P-256/);
  });

  it("reads an uncompressed P-256 SPKI as the JWK WebCrypto exports, and nothing else", async () => {
    const keys = (await web.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const spki = new Uint8Array(await web.subtle.exportKey("spki", keys.publicKey));
    const jwk = await web.subtle.exportKey("jwk", keys.publicKey);
    expect(p256PublicJwk(spki)).toEqual({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y });
    expect(p256PublicJwk(spki.subarray(0, spki.length - 1))).toBeUndefined();
    const otherCurve = spki.slice();
    otherCurve[25] = 0x08; // a different curve OID byte
    expect(p256PublicJwk(otherCurve)).toBeUndefined();
  });

  it("refuses a P-256 public key whose point is not on the curve", async () => {
    const keys = (await web.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const spki = new Uint8Array(await web.subtle.exportKey("spki", keys.publicKey));
    spki[spki.length - 1] = (spki[spki.length - 1] as number) ^ 1;
    await expect(fast.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"])).rejects.toThrow();
  });

  it("hashes like WebCrypto", async () => {
    expect(new Uint8Array(await fast.subtle.digest("SHA-256", data))).toEqual(new Uint8Array(await web.subtle.digest("SHA-256", data)));
  });
});
