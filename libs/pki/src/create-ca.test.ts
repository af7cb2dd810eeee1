// Root and intermediate CA certificates: the signing-certificate profile (X509-SVID §3.2, §4),
// lifetimes nested in their parent's, and path length bookkeeping.
import { beforeAll, describe, expect, it } from "vitest";
import { at, ok, seconds, t0, td } from "../tests/fixtures.ts";
import { createIntermediateCa, createRootCa } from "./create-ca.ts";
import { generateKeyPair } from "./key-pair.ts";
import { readCertificate } from "./read-certificate.ts";
import type { SigningCa } from "./signing-ca.ts";

const trustDomain = td("cluster.local");
let root: SigningCa;

beforeAll(async () => {
  root = await createRootCa({ trustDomain, keys: await generateKeyPair(), now: t0, ttlSeconds: 10 * 365 * 86400 });
});

describe("createRootCa()", () => {
  it("makes a self-signed CA with pathLen 1, keyCertSign + cRLSign, key ids and the trust domain's ID", () => {
    const cert = ok(readCertificate(root.chain[0] as Uint8Array)).cert;
    expect(cert.subject).toBe("O=cluster.local, CN=Meshwork Root CA");
    expect(cert.issuerDer).toEqual(cert.subjectDer);
    expect(cert.basicConstraints).toEqual({ ca: true, pathLength: 1 });
    expect([...(cert.keyUsages ?? [])].sort()).toEqual(["cRLSign", "keyCertSign"]);
    expect(cert.uriSans).toEqual(["spiffe://cluster.local"]);
    expect(cert.subjectKeyId).toMatch(/^[0-9a-f]{40}$/);
    expect(cert.authorityKeyId).toBe(cert.subjectKeyId);
    expect(cert.extKeyUsages).toBeUndefined();
    expect(cert.notBefore).toEqual(at(-seconds(60)));
    expect(cert.notAfter).toEqual(at(seconds(10 * 365 * 86400)));
    expect(root).toMatchObject({ trustDomain, pathHeadroom: 1, notAfter: cert.notAfter, subjectKeyId: cert.subjectKeyId });
  });

  it("throws on a TTL that is not positive (configuration is validated before)", async () => {
    await expect(createRootCa({ trustDomain, keys: await generateKeyPair(), now: t0, ttlSeconds: 0 })).rejects.toThrow(RangeError);
  });
});

describe("createIntermediateCa()", () => {
  it("makes a CA signed by the root, pathLen 0 by default, chained to it", async () => {
    const intermediate = ok(await createIntermediateCa({ parent: root, keys: await generateKeyPair(), now: t0, ttlSeconds: 86400 })).ca;
    const cert = ok(readCertificate(intermediate.chain[0] as Uint8Array)).cert;
    const rootCert = ok(readCertificate(root.chain[0] as Uint8Array)).cert;
    expect(intermediate.chain).toHaveLength(2);
    expect(intermediate.chain[1]).toEqual(root.chain[0]);
    expect(cert.issuerDer).toEqual(rootCert.subjectDer);
    expect(cert.authorityKeyId).toBe(rootCert.subjectKeyId);
    expect(cert.basicConstraints).toEqual({ ca: true, pathLength: 0 });
    expect(intermediate.pathHeadroom).toBe(0);
    expect(cert.uriSans).toEqual(["spiffe://cluster.local"]);
  });

  it("never outlives its parent", async () => {
    const shortRoot = await createRootCa({ trustDomain, keys: await generateKeyPair(), now: t0, ttlSeconds: 3600 });
    const intermediate = ok(await createIntermediateCa({ parent: shortRoot, keys: await generateKeyPair(), now: t0, ttlSeconds: 86400 })).ca;
    expect(intermediate.notAfter).toEqual(shortRoot.notAfter);
  });

  it("refuses when the parent chain has no path length left, or a pathLength beyond it", async () => {
    const intermediate = ok(await createIntermediateCa({ parent: root, keys: await generateKeyPair(), now: t0, ttlSeconds: 86400 })).ca;
    expect(await createIntermediateCa({ parent: intermediate, keys: await generateKeyPair(), now: t0, ttlSeconds: 60 })).toMatchObject({ ok: false, reason: "path-length-exceeded" });
    expect(await createIntermediateCa({ parent: root, keys: await generateKeyPair(), now: t0, ttlSeconds: 60, pathLength: 1 })).toMatchObject({ ok: false, reason: "path-length-exceeded" });
  });

  it("allows deeper hierarchies when the root allows them", async () => {
    const deepRoot = await createRootCa({ trustDomain, keys: await generateKeyPair(), now: t0, ttlSeconds: 86400, pathLength: 2 });
    const first = ok(await createIntermediateCa({ parent: deepRoot, keys: await generateKeyPair(), now: t0, ttlSeconds: 3600, pathLength: 1 })).ca;
    const second = ok(await createIntermediateCa({ parent: first, keys: await generateKeyPair(), now: t0, ttlSeconds: 3600 })).ca;
    expect(second.chain).toHaveLength(3);
    expect(second.pathHeadroom).toBe(0);
  });

  it("refuses an expired or not-yet-valid parent and a bad TTL", async () => {
    const keys = await generateKeyPair();
    expect(await createIntermediateCa({ parent: root, keys, now: at(seconds(11 * 365 * 86400)), ttlSeconds: 60 })).toMatchObject({ ok: false, reason: "issuer-expired" });
    expect(await createIntermediateCa({ parent: root, keys, now: at(-seconds(3600)), ttlSeconds: 60 })).toMatchObject({ ok: false, reason: "issuer-not-yet-valid" });
    expect(await createIntermediateCa({ parent: root, keys, now: t0, ttlSeconds: 0 })).toMatchObject({ ok: false, reason: "bad-ttl" });
  });
});
