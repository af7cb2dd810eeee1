// Every way an SVID chain must be refused (X509-SVID §5, RFC 5280 §6), each with its reason,
// and the chains that must pass, including both sides of a root rotation.
import { beforeAll, describe, expect, it } from "vitest";
import {
  at,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  flipByte,
  forgeCertificate,
  indexOfAscii,
  issue,
  KeyUsageFlags,
  KeyUsagesExtension,
  leafExtensions,
  makePki,
  ok,
  seconds,
  sid,
  SubjectAlternativeNameExtension,
  t0,
  type TestPki,
} from "../tests/fixtures.ts";
import type { SvidRejectReason } from "./reasons.ts";
import { addRoot, removeRoot, trustBundles, type TrustBundles } from "./trust-bundles.ts";
import { verifySvid } from "./verify-svid.ts";
import { createRootCa, createIntermediateCa } from "./create-ca.ts";
import { generateKeyPair } from "./key-pair.ts";
import { Extension, Name } from "./x509.ts";
import type { SigningCa } from "./signing-ca.ts";

let a: TestPki;
let b: TestPki;
const web = sid("spiffe://a.example/ns/default/sa/web");

beforeAll(async () => {
  a = await makePki("a.example");
  b = await makePki("b.example");
});

/** A leaf for `web` signed by a's intermediate with the given extensions, chained leaf → intermediate → root. */
async function forgedChain(extensions: Extension[], validity: { notBefore?: Date; notAfter?: Date } = {}, issuer: SigningCa = a.intermediate): Promise<Uint8Array[]> {
  const leaf = await forgeCertificate({ issuer, extensions, ...validity });
  return [leaf.der, ...issuer.chain];
}

/** A SigningCa around a forged CA certificate (issued by a's root), to sign leaves under it. */
function forgedCa(subject: string, keys: CryptoKeyPair, der: Uint8Array): SigningCa {
  return { ...a.intermediate, chain: [der, ...a.root.chain], privateKey: keys.privateKey, subjectDer: new Uint8Array(new Name(subject).toArrayBuffer()), subjectKeyId: undefined };
}

interface Case {
  readonly name: string;
  readonly build: () => Promise<{ chain: readonly Uint8Array[]; bundles?: TrustBundles; now?: Date }>;
  readonly reason: SvidRejectReason;
}

const refused: Case[] = [
  {
    name: "a leaf of another trust domain, when only a.example is trusted",
    build: async () => ({ chain: (await issue(b.intermediate, sid("spiffe://b.example/ns/default/sa/web"))).chain }),
    reason: "wrong-trust-domain",
  },
  {
    name: "an a.example ID signed by b.example's CA, both domains trusted (bundles are per domain)",
    build: async () => ({ chain: await forgedChain(leafExtensions([web]), {}, b.intermediate), bundles: trustBundles([[a.trustDomain, [a.root.chain[0] as Uint8Array]], [b.trustDomain, [b.root.chain[0] as Uint8Array]]]) }),
    reason: "untrusted-root",
  },
  { name: "an expired leaf", build: async () => ({ chain: (await issue(a.intermediate, web)).chain, now: at(seconds(3600) + 1000) }), reason: "expired" },
  { name: "a not-yet-valid leaf", build: async () => ({ chain: (await issue(a.intermediate, web, { now: at(seconds(600)) })).chain, now: at(seconds(600 - 61)) }), reason: "not-yet-valid" },
  {
    name: "a leaf marked CA",
    build: async () => ({ chain: await forgedChain([new BasicConstraintsExtension(true, undefined, true), ...leafExtensions([web]).slice(1)]) }),
    reason: "leaf-is-ca",
  },
  { name: "a leaf with two URI SANs", build: async () => ({ chain: await forgedChain(leafExtensions([web, "spiffe://a.example/ns/default/sa/admin"])) }), reason: "uri-san-count" },
  {
    name: "a leaf without URI SAN",
    build: async () => ({ chain: await forgedChain([...leafExtensions([]).slice(0, 3), new SubjectAlternativeNameExtension([{ type: "dns", value: "web.default" }], false)]) }),
    reason: "uri-san-count",
  },
  {
    name: "a leaf with EKU serverAuth only",
    build: async () => ({ chain: await forgedChain([...leafExtensions([web]).slice(0, 2), new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth]), ...leafExtensions([web]).slice(3)]) }),
    reason: "missing-eku",
  },
  {
    name: "an intermediate without the CA flag",
    build: async () => {
      const keys = await generateKeyPair();
      const notCa = await forgeCertificate({
        issuer: a.root,
        keys,
        subject: "O=a.example, CN=Not A CA",
        extensions: [new BasicConstraintsExtension(false, undefined, true), new KeyUsagesExtension(KeyUsageFlags.keyCertSign, true)],
        notAfter: at(seconds(86400)),
      });
      return { chain: await forgedChain(leafExtensions([web]), {}, forgedCa("O=a.example, CN=Not A CA", keys, notCa.der)) };
    },
    reason: "issuer-not-ca",
  },
  {
    name: "a CA signed by an intermediate with pathLenConstraint 0",
    build: async () => {
      const sub = ok(await createIntermediateCa({ parent: { ...a.intermediate, pathHeadroom: undefined }, keys: await generateKeyPair(), now: t0, ttlSeconds: 86400 })).ca;
      return { chain: (await issue(sub, web)).chain };
    },
    reason: "path-length-exceeded",
  },
  {
    name: "an intermediate under a root with pathLenConstraint 0",
    build: async () => {
      const root = await createRootCa({ trustDomain: a.trustDomain, keys: await generateKeyPair(), now: t0, ttlSeconds: 86400, pathLength: 0, commonName: "Leaves Only Root" });
      const intermediate = ok(await createIntermediateCa({ parent: { ...root, pathHeadroom: undefined }, keys: await generateKeyPair(), now: t0, ttlSeconds: 86400 })).ca;
      return { chain: (await issue(intermediate, web)).chain, bundles: trustBundles([[a.trustDomain, [root.chain[0] as Uint8Array]]]) };
    },
    reason: "path-length-exceeded",
  },
  { name: "a leaf whose signature was tampered with", build: async () => ({ chain: [flipByte((await issue(a.intermediate, web)).certificate), ...a.intermediate.chain] }), reason: "bad-signature" },
  {
    name: "a leaf whose ID was rewritten after signing (web → wec)",
    build: async () => {
      const cert = (await issue(a.intermediate, web)).certificate;
      return { chain: [flipByte(cert, indexOfAscii(cert, "sa/web") + 5), ...a.intermediate.chain] };
    },
    reason: "bad-signature",
  },
  {
    name: "a leaf with keyCertSign",
    build: async () => ({ chain: await forgedChain([leafExtensions([web])[0] as Extension, new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign, true), ...leafExtensions([web]).slice(2)]) }),
    reason: "leaf-can-sign",
  },
  {
    name: "a leaf with cRLSign",
    build: async () => ({ chain: await forgedChain([leafExtensions([web])[0] as Extension, new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.cRLSign, true), ...leafExtensions([web]).slice(2)]) }),
    reason: "leaf-can-sign",
  },
  {
    name: "a leaf without keyUsage",
    build: async () => ({ chain: await forgedChain([leafExtensions([web])[0] as Extension, ...leafExtensions([web]).slice(2)]) }),
    reason: "missing-key-usage",
  },
  {
    name: "a leaf with keyUsage keyEncipherment only",
    build: async () => ({ chain: await forgedChain([leafExtensions([web])[0] as Extension, new KeyUsagesExtension(KeyUsageFlags.keyEncipherment, true), ...leafExtensions([web]).slice(2)]) }),
    reason: "missing-digital-signature",
  },
  { name: "a leaf whose URI SAN is not a SPIFFE ID", build: async () => ({ chain: await forgedChain(leafExtensions(["https://a.example/web"])) }), reason: "invalid-spiffe-id" },
  { name: "a leaf whose ID has no path (a trust domain ID)", build: async () => ({ chain: await forgedChain(leafExtensions(["spiffe://a.example"])) }), reason: "invalid-spiffe-id" },
  {
    name: "a leaf with an unknown critical extension",
    build: async () => ({ chain: await forgedChain([...leafExtensions([web]), new Extension("1.2.3.4.5", true, new Uint8Array([5, 0]))]) }),
    reason: "unhandled-critical-extension",
  },
  { name: "a chain missing its intermediate", build: async () => ({ chain: [(await issue(a.intermediate, web)).certificate] }), reason: "untrusted-root" },
  {
    name: "a chain under a root that is not in the bundle (same names, other key)",
    build: async () => {
      const rogueRoot = await createRootCa({ trustDomain: a.trustDomain, keys: await generateKeyPair(), now: t0, ttlSeconds: 86400 });
      return { chain: (await issue(rogueRoot, web)).chain };
    },
    reason: "untrusted-root",
  },
  {
    name: "a chain whose intermediate expired (leaf still valid)",
    build: async () => {
      const shortCa = ok(await createIntermediateCa({ parent: a.root, keys: await generateKeyPair(), now: t0, ttlSeconds: 120 })).ca;
      const leaf = await forgeCertificate({ issuer: shortCa, extensions: leafExtensions([web]), notAfter: at(seconds(3600)) });
      return { chain: [leaf.der, ...shortCa.chain], now: at(seconds(300)) };
    },
    reason: "expired",
  },
  {
    name: "a chain whose intermediate lacks keyCertSign",
    build: async () => {
      const keys = await generateKeyPair();
      const subject = "O=a.example, CN=No keyCertSign";
      const ca = await forgeCertificate({ issuer: a.root, keys, subject, extensions: [new BasicConstraintsExtension(true, 0, true), new KeyUsagesExtension(KeyUsageFlags.cRLSign, true)], notAfter: at(seconds(86400)) });
      return { chain: await forgedChain(leafExtensions([web]), {}, forgedCa(subject, keys, ca.der)) };
    },
    reason: "issuer-cannot-sign",
  },
  { name: "bytes that are not a certificate", build: async () => ({ chain: [new Uint8Array([48, 3, 2, 1, 0])] }), reason: "malformed" },
  { name: "an empty chain", build: async () => ({ chain: [] }), reason: "empty-chain" },
  { name: "a chain of 9 certificates", build: async () => ({ chain: Array.from({ length: 9 }, () => a.root.chain[0] as Uint8Array) }), reason: "chain-too-long" },
];

describe("verifySvid() refuses", () => {
  it.each(refused)("$name → $reason", async ({ build, reason }) => {
    const { chain, bundles, now } = await build();
    const result = await verifySvid({ chain, bundles: bundles ?? a.bundles, now: now ?? t0 });
    expect(result).toMatchObject({ ok: false, reason });
    if (!result.ok) expect(result.detail.length).toBeGreaterThan(10);
  });
});

describe("verifySvid() accepts", () => {
  it("a leaf → intermediate → root chain, returning the SPIFFE ID", async () => {
    const svid = await issue(a.intermediate, web);
    expect(await verifySvid({ chain: svid.chain, bundles: a.bundles, now: t0 })).toEqual({ ok: true, spiffeId: web, trustDomain: a.trustDomain, notAfter: svid.notAfter });
  });

  it("the chain without its trailing root, and with the intermediates in any order", async () => {
    const svid = await issue(a.intermediate, web);
    expect(await verifySvid({ chain: svid.chain.slice(0, 2), bundles: a.bundles, now: t0 })).toMatchObject({ ok: true });
    expect(await verifySvid({ chain: [svid.chain[0] as Uint8Array, svid.chain[2] as Uint8Array, svid.chain[1] as Uint8Array], bundles: a.bundles, now: t0 })).toMatchObject({ ok: true });
  });

  it("a leaf signed directly by the root", async () => {
    expect(await verifySvid({ chain: (await issue(a.root, web)).chain, bundles: a.bundles, now: t0 })).toMatchObject({ ok: true, spiffeId: web });
  });

  it("a leaf at both ends of its validity window, which is inclusive", async () => {
    const svid = await issue(a.intermediate, web);
    expect(await verifySvid({ chain: svid.chain, bundles: a.bundles, now: svid.notBefore })).toMatchObject({ ok: true });
    expect(await verifySvid({ chain: svid.chain, bundles: a.bundles, now: svid.notAfter })).toMatchObject({ ok: true });
  });

  it("a leaf of either trust domain when both are trusted, each against its own roots", async () => {
    const bundles = addRoot(a.bundles, b.trustDomain, b.root.chain[0] as Uint8Array);
    const bWeb = sid("spiffe://b.example/ns/default/sa/web");
    expect(await verifySvid({ chain: (await issue(a.intermediate, web)).chain, bundles, now: t0 })).toMatchObject({ ok: true, spiffeId: web });
    expect(await verifySvid({ chain: (await issue(b.intermediate, bWeb)).chain, bundles, now: t0 })).toMatchObject({ ok: true, spiffeId: bWeb });
  });
});

describe("root rotation", () => {
  it("accepts old and new chains while both roots are in the bundle, and only new ones after the old root is removed", async () => {
    const newRoot = await createRootCa({ trustDomain: a.trustDomain, keys: await generateKeyPair(), now: t0, ttlSeconds: 86400 * 3650, commonName: "Meshwork Root CA 2" });
    const newIntermediate = ok(await createIntermediateCa({ parent: newRoot, keys: await generateKeyPair(), now: t0, ttlSeconds: 86400 })).ca;
    const oldChain = (await issue(a.intermediate, web)).chain;
    const newChain = (await issue(newIntermediate, web)).chain;
    const oldRoot = a.root.chain[0] as Uint8Array;

    const during = addRoot(a.bundles, a.trustDomain, newRoot.chain[0] as Uint8Array);
    expect(await verifySvid({ chain: oldChain, bundles: during, now: t0 })).toMatchObject({ ok: true });
    expect(await verifySvid({ chain: newChain, bundles: during, now: t0 })).toMatchObject({ ok: true });

    const after = removeRoot(during, a.trustDomain, oldRoot);
    expect(await verifySvid({ chain: newChain, bundles: after, now: t0 })).toMatchObject({ ok: true });
    expect(await verifySvid({ chain: oldChain, bundles: after, now: t0 })).toMatchObject({ ok: false, reason: "untrusted-root" });
    // Before the new root is published, its chains are refused.
    expect(await verifySvid({ chain: newChain, bundles: a.bundles, now: t0 })).toMatchObject({ ok: false, reason: "untrusted-root" });
  });
});
