// The synchronous peer checks used from node:tls / grpc-js callbacks, on hand-built
// PeerCertificateLike objects shaped like Node's (issuer links, the root linked to itself).
import { beforeAll, describe, expect, it } from "vitest";
import { forgeCertificate, issue, leafExtensions, BasicConstraintsExtension, makePki, sid, t0, at, seconds, type TestPki } from "../tests/fixtures.ts";
import { checkPeerCertificate, peerCertificateChain, type PeerCertificateLike } from "./peer-certificate.ts";
import { spiffeServerIdentityCheck, SvidRejectedError } from "./spiffe-server-identity-check.ts";
import { addRoot } from "./trust-bundles.ts";
import { verifyClientChain } from "./verify-client-chain.ts";
import { svidTlsMaterial } from "./svid-tls-material.ts";
import { splitPem } from "./pem.ts";

let a: TestPki;
let b: TestPki;
const web = sid("spiffe://a.example/ns/default/sa/web");
const db = sid("spiffe://a.example/ns/default/sa/db");

beforeAll(async () => {
  a = await makePki("a.example");
  b = await makePki("b.example");
});

/** Links DER certificates the way Node does: each to the next, the last to itself. */
function asPeer(chain: readonly Uint8Array[]): PeerCertificateLike {
  const nodes = chain.map((raw) => ({ raw, issuerCertificate: undefined as PeerCertificateLike | undefined }));
  nodes.forEach((node, i) => (node.issuerCertificate = nodes[i + 1] ?? node));
  return nodes[0] as PeerCertificateLike;
}

describe("peerCertificateChain()", () => {
  it("follows issuer links until the self-linked root", async () => {
    const svid = await issue(a.intermediate, web);
    expect(peerCertificateChain(asPeer(svid.chain))).toEqual(svid.chain);
    expect(peerCertificateChain({ raw: svid.certificate })).toEqual([svid.certificate]);
  });
});

describe("checkPeerCertificate()", () => {
  it("accepts an SVID chaining to its own domain's root, optionally restricted to some IDs", async () => {
    const peer = asPeer((await issue(a.intermediate, web)).chain);
    expect(checkPeerCertificate(peer, { bundles: a.bundles, now: t0 })).toMatchObject({ ok: true, spiffeId: web });
    expect(checkPeerCertificate(peer, { bundles: a.bundles, now: t0, allowed: [db, web] })).toMatchObject({ ok: true });
    expect(checkPeerCertificate(peer, { bundles: a.bundles, now: t0, allowed: (id) => id.endsWith("/sa/web") })).toMatchObject({ ok: true });
  });

  it("refuses an ID that is not expected", async () => {
    const peer = asPeer((await issue(a.intermediate, web)).chain);
    expect(checkPeerCertificate(peer, { bundles: a.bundles, now: t0, allowed: [db] })).toMatchObject({ ok: false, reason: "unexpected-id" });
  });

  it("refuses an a.example ID whose chain ends at b.example's root, though OpenSSL trusts both roots", async () => {
    const leaf = await forgeCertificate({ issuer: b.intermediate, extensions: leafExtensions([web]) });
    const bundles = addRoot(a.bundles, b.trustDomain, b.root.chain[0] as Uint8Array);
    expect(checkPeerCertificate(asPeer([leaf.der, ...b.intermediate.chain]), { bundles, now: t0 })).toMatchObject({ ok: false, reason: "untrusted-root" });
  });

  it("refuses a peer without issuer chain, an unknown trust domain, a CA leaf, an expired leaf", async () => {
    const svid = await issue(a.intermediate, web);
    expect(checkPeerCertificate({ raw: svid.certificate }, { bundles: a.bundles, now: t0 })).toMatchObject({ ok: false, reason: "untrusted-root" });
    expect(checkPeerCertificate(asPeer(svid.chain), { bundles: b.bundles, now: t0 })).toMatchObject({ ok: false, reason: "wrong-trust-domain" });
    expect(checkPeerCertificate(asPeer(svid.chain), { bundles: a.bundles, now: at(seconds(7200)) })).toMatchObject({ ok: false, reason: "expired" });
    const caLeaf = await forgeCertificate({ issuer: a.intermediate, extensions: [new BasicConstraintsExtension(true, undefined, true), ...leafExtensions([web]).slice(1)] });
    expect(checkPeerCertificate(asPeer([caLeaf.der, ...a.intermediate.chain]), { bundles: a.bundles, now: t0 })).toMatchObject({ ok: false, reason: "leaf-is-ca" });
  });
});

describe("spiffeServerIdentityCheck() / verifyClientChain()", () => {
  it("returns undefined for the expected server and an SvidRejectedError with the reason otherwise", async () => {
    const peer = asPeer((await issue(a.intermediate, web)).chain);
    expect(spiffeServerIdentityCheck([web], { bundles: a.bundles, clock: () => t0 })("ignored.host", peer)).toBeUndefined();
    const error = spiffeServerIdentityCheck([db], { bundles: a.bundles, clock: () => t0 })("web", peer);
    expect(error).toBeInstanceOf(SvidRejectedError);
    expect(error).toMatchObject({ code: "unexpected-id", message: expect.stringContaining(web) });
    expect(spiffeServerIdentityCheck([web], { bundles: a.bundles, clock: () => at(seconds(7200)) })("web", peer)).toMatchObject({ code: "expired" });
  });

  it("verifyClientChain() returns the client's ID, or refuses a missing certificate", async () => {
    const peer = asPeer((await issue(a.intermediate, web)).chain);
    expect(verifyClientChain(peer, { bundles: a.bundles, now: t0 })).toMatchObject({ ok: true, spiffeId: web });
    expect(verifyClientChain({} as PeerCertificateLike, { bundles: a.bundles, now: t0 })).toMatchObject({ ok: false, reason: "empty-chain" });
    expect(verifyClientChain(undefined, { bundles: a.bundles, now: t0 })).toMatchObject({ ok: false, reason: "empty-chain" });
  });

  it("verifyClientChain() checks the leaf alone for a resumed session the caller vouches for, and nothing else", async () => {
    const svid = await issue(a.intermediate, web);
    const leafOnly: PeerCertificateLike = { raw: svid.certificate };
    expect(verifyClientChain(leafOnly, { bundles: a.bundles, now: t0, resumed: true })).toMatchObject({ ok: true, spiffeId: web });
    expect(verifyClientChain(leafOnly, { bundles: a.bundles, now: t0, resumed: false })).toMatchObject({ ok: false, reason: "untrusted-root" });
    expect(verifyClientChain(leafOnly, { bundles: a.bundles, now: at(seconds(7200)), resumed: true })).toMatchObject({ ok: false, reason: "expired" });
    expect(verifyClientChain(leafOnly, { bundles: b.bundles, now: t0, resumed: true })).toMatchObject({ ok: false, reason: "wrong-trust-domain" });
    expect(verifyClientChain(leafOnly, { bundles: a.bundles, now: t0, resumed: true, allowed: [db] })).toMatchObject({ ok: false, reason: "unexpected-id" });
    // A full chain is checked in full even on a resumed session.
    const forged = await forgeCertificate({ issuer: b.intermediate, extensions: leafExtensions([web]) });
    const bundles = addRoot(a.bundles, b.trustDomain, b.root.chain[0] as Uint8Array);
    expect(verifyClientChain(asPeer([forged.der, ...b.intermediate.chain]), { bundles, now: t0, resumed: true })).toMatchObject({ ok: false, reason: "untrusted-root" });
  });
});

describe("svidTlsMaterial()", () => {
  it("sends leaf + intermediate (not the root) and trusts every bundle root", async () => {
    const svid = await issue(a.intermediate, web);
    const material = svidTlsMaterial({ chain: svid.chain, privateKeyPem: "KEY", bundles: addRoot(a.bundles, b.trustDomain, b.root.chain[0] as Uint8Array) });
    const cert = splitPem(material.cert);
    const ca = splitPem(material.ca);
    expect(cert.ok && cert.blocks.map((x) => x.der)).toEqual(svid.chain.slice(0, 2));
    expect(ca.ok && ca.blocks.map((x) => x.der)).toEqual([a.root.chain[0], b.root.chain[0]]);
    expect(material.key).toBe("KEY");
  });
});
