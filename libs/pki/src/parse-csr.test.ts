// CSR checks: what the CA accepts from a workload agent and every CSR it must refuse.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { flipByte, sid } from "../tests/fixtures.ts";
import { createCsr } from "./create-csr.ts";
import { generateKeyPair } from "./key-pair.ts";
import { derToPem } from "./pem.ts";
import { parseCsr } from "./parse-csr.ts";
import { Pkcs10CertificateRequestGenerator, SubjectAlternativeNameExtension } from "./x509.ts";

const web = sid("spiffe://cluster.local/ns/default/sa/web");

/** A CSR with whatever SANs a test needs, signed by `keys`. */
async function csrWithSans(keys: CryptoKeyPair, names: { type: "url" | "dns"; value: string }[]): Promise<Uint8Array> {
  const csr = await Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
    extensions: names.length ? [new SubjectAlternativeNameExtension(names, true)] : [],
  });
  return new Uint8Array(csr.rawData);
}

describe("createCsr() + parseCsr()", () => {
  it("round-trips an ECDSA P-256 CSR with one URI SAN, as PEM and as DER", async () => {
    const keys = await generateKeyPair();
    const csr = await createCsr({ keys, spiffeId: web });
    expect(csr.pem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
    for (const input of [csr.pem, csr.der]) {
      expect(await parseCsr(input)).toMatchObject({ ok: true, csr: { key: { kind: "ecdsa", curve: "P-256" }, requestedId: web, dnsSans: [] } });
    }
  });

  it("accepts RSA-2048 and ECDSA P-384 keys", async () => {
    const rsa = await parseCsr((await createCsr({ keys: await generateKeyPair("rsa-2048"), spiffeId: web })).der);
    expect(rsa).toMatchObject({ ok: true, csr: { key: { kind: "rsa", bits: 2048 } } });
    const p384 = await parseCsr((await createCsr({ keys: await generateKeyPair("ecdsa-p384"), spiffeId: web })).der);
    expect(p384).toMatchObject({ ok: true, csr: { key: { kind: "ecdsa", curve: "P-384" } } });
  });

  it("accepts a CSR that names no ID: the CA takes it from the token", async () => {
    expect(await parseCsr(await csrWithSans(await generateKeyPair(), []))).toMatchObject({ ok: true, csr: { requestedId: undefined } });
  });
});

describe("parseCsr() refuses", () => {
  it("a CSR asking for two URIs", async () => {
    const der = await csrWithSans(await generateKeyPair(), [
      { type: "url", value: web },
      { type: "url", value: "spiffe://cluster.local/ns/kube-system/sa/admin" },
    ]);
    expect(await parseCsr(der)).toMatchObject({ ok: false, reason: "uri-san-count" });
  });

  it("a CSR with a bad signature", async () => {
    const csr = await createCsr({ keys: await generateKeyPair(), spiffeId: web });
    expect(await parseCsr(flipByte(csr.der))).toMatchObject({ ok: false, reason: "bad-signature" });
  });

  it("a CSR signed by a key other than the one it certifies", async () => {
    const keys = await generateKeyPair();
    const other = await generateKeyPair();
    const der = await csrWithSans({ publicKey: keys.publicKey, privateKey: other.privateKey }, [{ type: "url", value: web }]);
    expect(await parseCsr(der)).toMatchObject({ ok: false, reason: "bad-signature" });
  });

  it("an RSA-1024 key, and RSA altogether when the policy says so", async () => {
    const rsa1024 = await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]) }, true, ["sign", "verify"]);
    const weak = await parseCsr((await createCsr({ keys: rsa1024, spiffeId: web })).der);
    expect(weak).toMatchObject({ ok: false, reason: "key-not-allowed", detail: expect.stringContaining("RSA-1024") });
    const rsa = (await createCsr({ keys: await generateKeyPair("rsa-2048"), spiffeId: web })).der;
    expect(await parseCsr(rsa, { policy: { ecdsaCurves: ["P-256"], rsaBits: undefined } })).toMatchObject({ ok: false, reason: "key-not-allowed" });
  });

  it("a P-384 key when only P-256 is allowed", async () => {
    const der = (await createCsr({ keys: await generateKeyPair("ecdsa-p384"), spiffeId: web })).der;
    expect(await parseCsr(der, { policy: { ecdsaCurves: ["P-256"], rsaBits: undefined } })).toMatchObject({ ok: false, reason: "key-not-allowed" });
  });

  it("a URI SAN that is not a SPIFFE ID", async () => {
    const der = await csrWithSans(await generateKeyPair(), [{ type: "url", value: "https://evil.example/" }]);
    expect(await parseCsr(der)).toMatchObject({ ok: false, reason: "invalid-spiffe-id" });
  });

  it("bytes and text that are not a CSR", async () => {
    expect(await parseCsr(new Uint8Array([1, 2, 3]))).toMatchObject({ ok: false, reason: "malformed" });
    expect(await parseCsr("hello")).toMatchObject({ ok: false, reason: "malformed" });
    expect(await parseCsr(derToPem(new Uint8Array([48, 0]), "CERTIFICATE REQUEST"))).toMatchObject({ ok: false, reason: "malformed" });
  });
});

describe("parseCsr() on corrupted input", () => {
  it("never throws, and refuses every change to a signed CSR", async () => {
    const csr = (await createCsr({ keys: await generateKeyPair(), spiffeId: web })).der;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.tuple(fc.nat(csr.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3, selector: ([at]) => at }), fc.option(fc.nat(csr.length - 1)), async (flips, cut) => {
        let bytes = new Uint8Array(csr);
        for (const [at, xor] of flips) bytes[at] = (bytes[at] as number) ^ xor;
        if (cut !== null) bytes = bytes.subarray(0, cut);
        expect((await parseCsr(bytes)).ok).toBe(false);
      }),
      { seed: 13, numRuns: 300 },
    );
  });
});
