// Loading a signing CA from its chain and key (the plug-in `cacerts` path of apps/ca).
import { beforeAll, describe, expect, it } from "vitest";
import { issue, makePki, ok, sid, t0, td, type TestPki } from "../tests/fixtures.ts";
import { createRootCa } from "./create-ca.ts";
import { generateKeyPair } from "./key-pair.ts";
import { loadSigningCa } from "./signing-ca.ts";

let pki: TestPki;

beforeAll(async () => {
  pki = await makePki("a.example");
});

describe("loadSigningCa()", () => {
  it("loads an intermediate chain and its key into the same SigningCa that created it", async () => {
    const loaded = ok(await loadSigningCa({ chain: pki.intermediate.chain, privateKey: pki.intermediate.privateKey })).ca;
    expect(loaded).toEqual(pki.intermediate);
  });

  it("takes the trust domain from the CA's URI SAN, and refuses a different one", async () => {
    expect(await loadSigningCa({ chain: pki.root.chain, privateKey: pki.root.privateKey })).toMatchObject({ ok: true, ca: { trustDomain: "a.example" } });
    expect(await loadSigningCa({ chain: pki.root.chain, privateKey: pki.root.privateKey, trustDomain: td("b.example") })).toMatchObject({ ok: false, reason: "wrong-trust-domain" });
  });

  it("refuses a key that does not belong to the certificate", async () => {
    expect(await loadSigningCa({ chain: pki.intermediate.chain, privateKey: pki.root.privateKey })).toMatchObject({ ok: false, reason: "key-mismatch" });
    const rsa = await generateKeyPair("rsa-2048");
    expect(await loadSigningCa({ chain: pki.intermediate.chain, privateKey: rsa.privateKey })).toMatchObject({ ok: false, reason: "key-mismatch" });
  });

  it("refuses a chain in the wrong order or with a gap", async () => {
    expect(await loadSigningCa({ chain: [...pki.intermediate.chain].reverse(), privateKey: pki.root.privateKey })).toMatchObject({ ok: false, reason: "malformed" });
    const other = await createRootCa({ trustDomain: pki.trustDomain, keys: await generateKeyPair(), now: t0, ttlSeconds: 60 });
    expect(await loadSigningCa({ chain: [pki.intermediate.chain[0] as Uint8Array, other.chain[0] as Uint8Array], privateKey: pki.intermediate.privateKey })).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("refuses a leaf certificate as a CA, and an empty chain", async () => {
    const leaf = await issue(pki.intermediate, sid("spiffe://a.example/ns/x/sa/y"));
    expect(await loadSigningCa({ chain: leaf.chain, privateKey: leaf.keys.privateKey })).toMatchObject({ ok: false, reason: "not-a-ca" });
    expect(await loadSigningCa({ chain: [], privateKey: leaf.keys.privateKey })).toMatchObject({ ok: false, reason: "empty-chain" });
  });
});
