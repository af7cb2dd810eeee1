// The X.509-SVID profile of issued leaves (X509-SVID §2-§4), their validity window, and what
// issuance refuses.
import { beforeAll, describe, expect, it } from "vitest";
import { at, makePki, ok, seconds, sid, t0, type TestPki } from "../tests/fixtures.ts";
import { createCsr } from "./create-csr.ts";
import { createIntermediateCa } from "./create-ca.ts";
import { exportPublicKeyDer, generateKeyPair } from "./key-pair.ts";
import { parseCsr } from "./parse-csr.ts";
import { readCertificate, ekuOids } from "./read-certificate.ts";
import { issueSvid } from "./issue-svid.ts";
import { verifySvid } from "./verify-svid.ts";

let pki: TestPki;
const web = sid("spiffe://a.example/ns/default/sa/web");

beforeAll(async () => {
  pki = await makePki("a.example");
});

async function ecdsaCsr() {
  return ok(await parseCsr((await createCsr({ keys: await generateKeyPair(), spiffeId: web })).der)).csr;
}

describe("issueSvid()", () => {
  it("issues the X.509-SVID leaf profile", async () => {
    const csr = await ecdsaCsr();
    const svid = ok(await issueSvid({ csr, spiffeId: web, ttlSeconds: 3600, issuer: pki.intermediate, now: t0 })).svid;
    const leaf = ok(readCertificate(svid.certificate)).cert;
    expect(leaf.uriSans).toEqual([web]);
    expect(leaf.subject).toBe("");
    expect(leaf.basicConstraints).toEqual({ ca: false, pathLength: undefined });
    expect([...(leaf.keyUsages ?? [])]).toEqual(["digitalSignature"]);
    expect(leaf.extKeyUsages).toEqual([ekuOids.serverAuth, ekuOids.clientAuth]);
    expect(leaf.spki).toEqual(csr.spki);
    expect(leaf.authorityKeyId).toBe(pki.intermediate.subjectKeyId);
    expect(leaf.subjectKeyId).toMatch(/^[0-9a-f]{40}$/);
    expect(leaf.serialHex).toBe(svid.serialHex);
    expect(svid.chain).toEqual([svid.certificate, ...pki.intermediate.chain]);
    expect(await verifySvid({ chain: svid.chain, bundles: pki.bundles, now: t0 })).toMatchObject({ ok: true, spiffeId: web });
  });

  it("adds keyEncipherment for RSA keys (X509-SVID §4.3)", async () => {
    const csr = ok(await parseCsr((await createCsr({ keys: await generateKeyPair("rsa-2048"), spiffeId: web })).der)).csr;
    const svid = ok(await issueSvid({ csr, spiffeId: web, ttlSeconds: 3600, issuer: pki.intermediate, now: t0 })).svid;
    expect([...(ok(readCertificate(svid.certificate)).cert.keyUsages ?? [])].sort()).toEqual(["digitalSignature", "keyEncipherment"]);
  });

  it("backdates notBefore by 60 s by default, or as configured, and ends after the TTL", async () => {
    const csr = await ecdsaCsr();
    const now = at(seconds(1000) + 999); // sub-second times are floored: X.509 has 1 s resolution
    const byDefault = ok(await issueSvid({ csr, spiffeId: web, ttlSeconds: 3600, issuer: pki.intermediate, now })).svid;
    expect(byDefault.notBefore).toEqual(at(seconds(940)));
    expect(byDefault.notAfter).toEqual(at(seconds(4600)));
    const configured = ok(await issueSvid({ csr, spiffeId: web, ttlSeconds: 60, issuer: pki.intermediate, now, backdateSeconds: 300 })).svid;
    expect(configured.notBefore).toEqual(at(seconds(700)));
    expect(ok(readCertificate(configured.certificate)).cert.notBefore).toEqual(at(seconds(700)));
  });

  it("never outlives its CA: notAfter is the CA's when the TTL reaches past it", async () => {
    const shortCa = ok(await createIntermediateCa({ parent: pki.root, keys: await generateKeyPair(), now: t0, ttlSeconds: 1800 })).ca;
    const svid = ok(await issueSvid({ csr: await ecdsaCsr(), spiffeId: web, ttlSeconds: 3600, issuer: shortCa, now: at(seconds(600)) })).svid;
    expect(svid.notAfter).toEqual(shortCa.notAfter);
    expect(ok(readCertificate(svid.certificate)).cert.notAfter).toEqual(at(seconds(1800)));
  });

  it("gives every leaf a distinct random serial of at most 128 bits", async () => {
    const csr = await ecdsaCsr();
    const serials = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const svid = ok(await issueSvid({ csr, spiffeId: web, ttlSeconds: 60, issuer: pki.intermediate, now: t0 })).svid;
      expect(svid.serialHex).toMatch(/^[0-9a-f]{1,32}$/);
      serials.add(svid.serialHex);
    }
    expect(serials.size).toBe(20);
  });

  it("accepts a key given as SubjectPublicKeyInfo without a CSR", async () => {
    const spki = await exportPublicKeyDer((await generateKeyPair()).publicKey);
    expect(await issueSvid({ csr: { spki, key: { kind: "ecdsa", curve: "P-256" } }, spiffeId: web, ttlSeconds: 60, issuer: pki.root, now: t0 })).toMatchObject({ ok: true });
  });
});

describe("issueSvid() refuses", () => {
  const cases = [
    { name: "an ID of another trust domain", spiffeId: "spiffe://b.example/ns/default/sa/web", reason: "wrong-trust-domain" },
    { name: "an ID without a path", spiffeId: "spiffe://a.example", reason: "invalid-spiffe-id" },
    { name: "a string that is not a SPIFFE ID", spiffeId: "spiffe://a.example/x/", reason: "invalid-spiffe-id" },
    { name: "a zero TTL", spiffeId: web, ttlSeconds: 0, reason: "bad-ttl" },
    { name: "a negative TTL", spiffeId: web, ttlSeconds: -5, reason: "bad-ttl" },
    { name: "a CA that expired", spiffeId: web, now: at(seconds(2 * 365 * 86400)), reason: "issuer-expired" },
    { name: "a CA not yet valid", spiffeId: web, now: at(-seconds(3600)), reason: "issuer-not-yet-valid" },
  ] as const;
  it.each(cases)("$name → $reason", async (c) => {
    const result = await issueSvid({ csr: await ecdsaCsr(), spiffeId: c.spiffeId as typeof web, ttlSeconds: "ttlSeconds" in c ? c.ttlSeconds : 60, issuer: pki.intermediate, now: "now" in c ? c.now : t0 });
    expect(result).toMatchObject({ ok: false, reason: c.reason });
  });
});
