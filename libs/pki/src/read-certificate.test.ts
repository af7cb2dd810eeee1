// The DER certificate reader, checked against @peculiar/x509's independent parser on the
// certificates both the lib and x509 itself produce, and fuzzed with corrupted certificates.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { forgeCertificate, issue, leafExtensions, makePki, ok, sid, SubjectAlternativeNameExtension, t0, type TestPki } from "../tests/fixtures.ts";
import { readCertificate } from "./read-certificate.ts";
import { trustBundles } from "./trust-bundles.ts";
import { verifySvid } from "./verify-svid.ts";
import { X509Certificate } from "./x509.ts";

let pki: TestPki;
const web = sid("spiffe://a.example/ns/default/sa/web");

beforeAll(async () => {
  pki = await makePki("a.example");
});

/** What @peculiar/x509 reads from the same bytes, in the reader's terms. */
function x509View(der: Uint8Array) {
  const x = new X509Certificate(der as Uint8Array<ArrayBuffer>);
  return { subject: x.subject, issuer: x.issuer, serialHex: x.serialNumber.toLowerCase(), notBefore: x.notBefore, notAfter: x.notAfter, spki: new Uint8Array(x.publicKey.rawData) };
}

describe("readCertificate()", () => {
  it("agrees with @peculiar/x509 on leaves, intermediates and roots", async () => {
    const svid = await issue(pki.intermediate, web);
    for (const der of svid.chain) {
      const cert = ok(readCertificate(der)).cert;
      expect({ subject: cert.subject, issuer: cert.issuer, serialHex: cert.serialHex, notBefore: cert.notBefore, notAfter: cert.notAfter, spki: new Uint8Array(cert.spki) }).toEqual(x509View(der));
    }
  });

  it("reads GeneralizedTime validity (years from 2050) and names with several attributes", async () => {
    const forged = await forgeCertificate({ issuer: "self", subject: "CN=Far Future, O=Example, C=DE", extensions: leafExtensions([web]), notAfter: new Date("2051-06-01T12:00:00Z") });
    const cert = ok(readCertificate(forged.der)).cert;
    expect(cert.notAfter).toEqual(new Date("2051-06-01T12:00:00Z"));
    expect(cert.subject).toBe(x509View(forged.der).subject);
  });

  it("reads SAN URIs beside other name types it skips", async () => {
    const forged = await forgeCertificate({
      issuer: pki.intermediate,
      extensions: [...leafExtensions([]).slice(0, 3), new SubjectAlternativeNameExtension([{ type: "ip", value: "10.0.0.1" }, { type: "url", value: web }, { type: "dns", value: "web.default.svc" }, { type: "email", value: "a@b.c" }], true)],
    });
    const cert = ok(readCertificate(forged.der)).cert;
    expect(cert.uriSans).toEqual([web]);
    expect(cert.dnsSans).toEqual(["web.default.svc"]);
  });

  it("refuses bytes that are not a certificate", () => {
    for (const bytes of [new Uint8Array(), new Uint8Array([0x30, 0]), new Uint8Array([1, 2, 3])]) expect(readCertificate(bytes)).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("never throws on corrupted certificates, and verifySvid refuses every corruption it cannot tell apart from a signed one", async () => {
    const svid = await issue(pki.intermediate, web);
    const leaf = svid.certificate;
    const bundles = trustBundles([[pki.trustDomain, [pki.root.chain[0] as Uint8Array]]]);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.tuple(fc.nat(leaf.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3, selector: ([at]) => at }), fc.option(fc.nat(leaf.length - 1)), async (flips, cut) => {
        let bytes = new Uint8Array(leaf);
        for (const [at, xor] of flips) bytes[at] = (bytes[at] as number) ^ xor;
        if (cut !== null) bytes = bytes.subarray(0, cut);
        readCertificate(bytes);
        // Any change to the signed bytes or the signature must be refused; only changes to
        // unsigned framing that decode to the same certificate could pass, and DER leaves none.
        const result = await verifySvid({ chain: [bytes, ...svid.chain.slice(1)], bundles, now: t0 });
        expect(result.ok).toBe(false);
      }),
      { seed: 11, numRuns: 300 },
    );
  });
});
