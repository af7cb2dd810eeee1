// Key generation, PKCS#8 export for node:tls, and import of a saved key that then signs.
import { describe, expect, it } from "vitest";
import { exportPrivateKeyDer, exportPrivateKeyPem, generateKeyPair, importPrivateKey, signingAlgorithmFor } from "./key-pair.ts";
import { pemToDer } from "./pem.ts";

describe("key pairs", () => {
  it("generate ECDSA P-256 by default", async () => {
    const keys = await generateKeyPair();
    expect(keys.privateKey.algorithm).toMatchObject({ name: "ECDSA", namedCurve: "P-256" });
    expect(signingAlgorithmFor(keys.privateKey)).toEqual({ name: "ECDSA", hash: "SHA-256" });
  });

  it("sign with the hash of their curve", async () => {
    expect(signingAlgorithmFor((await generateKeyPair("ecdsa-p384")).privateKey)).toEqual({ name: "ECDSA", hash: "SHA-384" });
  });

  it("export as PKCS#8 PEM and import back into a key that signs what the public key verifies", async () => {
    const keys = await generateKeyPair();
    const pem = await exportPrivateKeyPem(keys.privateKey);
    const der = pemToDer(pem, "PRIVATE KEY");
    if (!der.ok) throw new Error(der.detail);
    expect(der.der).toEqual(await exportPrivateKeyDer(keys.privateKey));
    const imported = await importPrivateKey(der.der, "ecdsa-p256");
    const data = new TextEncoder().encode("hello");
    const signature = await crypto.subtle.sign(signingAlgorithmFor(imported), imported, data);
    expect(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, keys.publicKey, signature, data)).toBe(true);
  });

  it("refuse to export a non-extractable key", async () => {
    const keys = await generateKeyPair("ecdsa-p256", { extractable: false });
    await expect(exportPrivateKeyPem(keys.privateKey)).rejects.toThrow();
  });
});
