// The template-spliced leaf TBSCertificate is byte-identical to the one composed from DER parts,
// for every key type, ID, serial and validity; and leaves built from it parse with @peculiar/x509
// and pass the lib's own SVID verification. (openssl's check: tests/svid-template-openssl.test.ts.)
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { makePki, ok, t0, type TestPki } from "../tests/fixtures.ts";
import { createRootCa } from "./create-ca.ts";
import { exportPublicKeyDer, generateKeyPair, type KeyAlgorithmName } from "./key-pair.ts";
import { issueSvid } from "./issue-svid.ts";
import { readCertificate } from "./read-certificate.ts";
import type { SigningCa } from "./signing-ca.ts";
import type { SpiffeId } from "./spiffe-id.ts";
import { svidTbs, SvidTemplate, type SvidTbsFields } from "./svid-tbs.ts";
import { verifySvid } from "./verify-svid.ts";
import { X509Certificate } from "./x509.ts";

let pki: TestPki;
let rsaRoot: SigningCa;
const spkis: { spki: Uint8Array; rsa: boolean; name: KeyAlgorithmName }[] = [];

beforeAll(async () => {
  pki = await makePki("cluster.local");
  rsaRoot = await createRootCa({ trustDomain: pki.trustDomain, keys: await generateKeyPair("rsa-2048"), now: t0, ttlSeconds: 10 * 365 * 86400 });
  for (const name of ["ecdsa-p256", "ecdsa-p256", "ecdsa-p384", "rsa-2048"] as const) {
    spkis.push({ spki: await exportPublicKeyDer((await generateKeyPair(name)).publicKey), rsa: name.startsWith("rsa"), name });
  }
}, 30_000);

const segment = fc.stringMatching(/^[a-zA-Z0-9._-]{1,70}$/).filter((s) => s !== "." && s !== "..");
const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const spiffeIdArb = fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => `spiffe://cluster.local/${parts.join("/")}` as SpiffeId);
/** Whole seconds from 1950 to 2200: UTCTime and GeneralizedTime both. */
const secondArb = fc.integer({ min: -631_152_000, max: 7_258_118_400 });

function fieldsArb(): fc.Arbitrary<SvidTbsFields> {
  return fc.record({
    serial: fc.uint8Array({ minLength: 0, maxLength: 20 }),
    notBefore: secondArb.map((s) => new Date(s * 1000)),
    notAfter: secondArb.map((s) => new Date(s * 1000)),
    key: fc.integer({ min: 0, max: 3 }),
    spiffeId: spiffeIdArb,
    subjectKeyId: fc.uint8Array({ minLength: 20, maxLength: 20 }),
  }).map(({ key, ...rest }) => {
    const chosen = spkis[key] as (typeof spkis)[number];
    return { ...rest, spki: chosen.spki, rsaKey: chosen.rsa };
  });
}

describe("SvidTemplate", () => {
  it("splices the same bytes svidTbs composes (EC and RSA issuers, every key kind, serial, time and ID)", () => {
    fc.assert(
      fc.property(fc.constantFrom("intermediate", "root", "rsa-root"), fieldsArb(), (which, fields) => {
        const issuer = which === "intermediate" ? pki.intermediate : which === "root" ? pki.root : rsaRoot;
        expect(hex(SvidTemplate.of(issuer).tbs(fields))).toBe(hex(svidTbs(issuer, fields)));
      }),
      { numRuns: 500 },
    );
  });

  it("is built once per signing CA", () => {
    expect(SvidTemplate.of(pki.intermediate)).toBe(SvidTemplate.of(pki.intermediate));
    expect(SvidTemplate.of(pki.root)).not.toBe(SvidTemplate.of(pki.intermediate));
  });

  it("refuses a subject key identifier that is not 20 bytes and a non-ASCII ID", () => {
    const base = { serial: new Uint8Array([1]), notBefore: t0, notAfter: t0, spki: spkis[0]?.spki as Uint8Array, rsaKey: false, spiffeId: "spiffe://cluster.local/a" };
    expect(() => SvidTemplate.of(pki.root).tbs({ ...base, subjectKeyId: new Uint8Array(19) })).toThrow(/20 bytes/);
    expect(() => SvidTemplate.of(pki.root).tbs({ ...base, subjectKeyId: new Uint8Array(20), spiffeId: "spiffe://cluster.local/é" })).toThrow(/not ASCII/);
  });

  it("issues leaves that @peculiar/x509 parses and verifySvid accepts, for several keys, IDs and TTLs", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3 }), spiffeIdArb, fc.integer({ min: 1, max: 30 * 86400 }), async (key, spiffeId, ttlSeconds) => {
        const { spki, name } = spkis[key] as (typeof spkis)[number];
        const described = name.startsWith("rsa") ? ({ kind: "rsa", bits: 2048 } as const) : ({ kind: "ecdsa", curve: name === "ecdsa-p256" ? "P-256" : "P-384" } as const);
        const svid = ok(await issueSvid({ csr: { spki, key: described }, spiffeId, ttlSeconds, issuer: pki.intermediate, now: t0 })).svid;
        const parsed = new X509Certificate(svid.certificate);
        expect(parsed.serialNumber.replace(/^(00)+(?=.)/, "").toLowerCase()).toBe(svid.serialHex);
        expect(parsed.notAfter.getTime()).toBe(svid.notAfter.getTime());
        expect(ok(readCertificate(svid.certificate)).cert.uriSans).toEqual([spiffeId]);
        expect(await verifySvid({ chain: svid.chain, bundles: pki.bundles, now: t0 })).toMatchObject({ ok: true, spiffeId });
      }),
      { numRuns: 40 },
    );
  });
});
