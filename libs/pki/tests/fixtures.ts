// Test fixtures: trust domains, CAs and SVIDs built with the lib itself, plus `forgeCertificate`,
// which signs whatever certificate a security test needs (bad profiles the lib refuses to issue).
import { expect } from "vitest";
import {
  createIntermediateCa,
  createRootCa,
  exportPublicKeyDer,
  generateKeyPair,
  issueSvid,
  parseSpiffeId,
  parseTrustDomain,
  trustBundles,
  type IssuedSvid,
  type SigningCa,
  type SpiffeId,
  type TrustBundles,
  type TrustDomain,
} from "../src/index.ts";
import { signingAlgorithmFor } from "../src/key-pair.ts";
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
  type Extension,
} from "../src/x509.ts";

export { AuthorityKeyIdentifierExtension, BasicConstraintsExtension, ExtendedKeyUsage, ExtendedKeyUsageExtension, KeyUsageFlags, KeyUsagesExtension, SubjectAlternativeNameExtension };

/** The fixed "now" of the tests. */
export const t0 = new Date("2030-01-01T00:00:00Z");

export const seconds = (n: number): number => n * 1000;
export const at = (offsetMs: number): Date => new Date(t0.getTime() + offsetMs);

export function td(name: string): TrustDomain {
  const parsed = parseTrustDomain(name);
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.trustDomain;
}

export function sid(text: string): SpiffeId {
  const parsed = parseSpiffeId(text);
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.id;
}

/** Unwraps an `{ ok: true }` result, failing the test with the refusal otherwise. */
export function ok<T extends { ok: boolean }>(result: T): Extract<T, { ok: true }> {
  expect(result, JSON.stringify(result)).toMatchObject({ ok: true });
  return result as Extract<T, { ok: true }>;
}

/** A trust domain's PKI: root (10 years) → intermediate (1 year) and its bundle. */
export interface TestPki {
  readonly trustDomain: TrustDomain;
  readonly root: SigningCa;
  readonly intermediate: SigningCa;
  readonly bundles: TrustBundles;
}

export async function makePki(name: string, options: { readonly now?: Date } = {}): Promise<TestPki> {
  const trustDomain = td(name);
  const now = options.now ?? t0;
  const root = await createRootCa({ trustDomain, keys: await generateKeyPair(), now, ttlSeconds: 10 * 365 * 86400 });
  const intermediate = ok(await createIntermediateCa({ parent: root, keys: await generateKeyPair(), now, ttlSeconds: 365 * 86400 })).ca;
  return { trustDomain, root, intermediate, bundles: trustBundles([[trustDomain, [root.chain[0] as Uint8Array]]]) };
}

/** A fresh ECDSA P-256 key pair and an SVID for `id` from `issuer`, valid for an hour from `now` (default t0). */
export async function issue(issuer: SigningCa, id: SpiffeId, options: { readonly now?: Date; readonly ttlSeconds?: number } = {}): Promise<IssuedSvid & { keys: CryptoKeyPair }> {
  const keys = await generateKeyPair();
  const spki = await exportPublicKeyDer(keys.publicKey);
  const svid = ok(await issueSvid({ csr: { spki, key: { kind: "ecdsa", curve: "P-256" } }, spiffeId: id, ttlSeconds: options.ttlSeconds ?? 3600, issuer, now: options.now ?? t0 })).svid;
  return { ...svid, keys };
}

/** The usual leaf extensions for `uris`, which tests then replace one at a time. */
export function leafExtensions(uris: readonly string[]): Extension[] {
  return [
    new BasicConstraintsExtension(false, undefined, true),
    new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
    new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth]),
    new SubjectAlternativeNameExtension(uris.map((value) => ({ type: "url" as const, value })), true),
  ];
}

/**
 * Signs an arbitrary certificate with `issuer`'s key (or self-signs with `keys`): whatever
 * extensions and validity a test needs, bypassing every check the lib makes when issuing.
 */
export async function forgeCertificate(options: {
  readonly issuer: SigningCa | "self";
  readonly keys?: CryptoKeyPair;
  readonly subject?: string;
  readonly extensions: Extension[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}): Promise<{ der: Uint8Array; keys: CryptoKeyPair }> {
  const keys = options.keys ?? (await generateKeyPair());
  const spki = await exportPublicKeyDer(keys.publicKey);
  const subject = options.subject ? new Name(options.subject) : undefined;
  const issuerName = options.issuer === "self" ? subject : new Name(options.issuer.subjectDer as Uint8Array<ArrayBuffer>);
  const signingKey = options.issuer === "self" ? keys.privateKey : options.issuer.privateKey;
  const extensions = [...options.extensions, await SubjectKeyIdentifierExtension.create(spki)];
  if (options.issuer !== "self" && options.issuer.subjectKeyId) extensions.push(new AuthorityKeyIdentifierExtension(options.issuer.subjectKeyId));
  const cert = await X509CertificateGenerator.create({
    ...(subject ? { subject } : {}),
    ...(issuerName ? { issuer: issuerName } : {}),
    notBefore: options.notBefore ?? at(-seconds(60)),
    notAfter: options.notAfter ?? at(seconds(3600)),
    publicKey: spki,
    signingKey,
    signingAlgorithm: signingAlgorithmFor(signingKey),
    extensions,
  });
  return { der: new Uint8Array(cert.rawData), keys };
}

/** A copy of `der` with one byte XOR-ed (default: the last one, inside the signature). */
export function flipByte(der: Uint8Array, index = der.length - 1): Uint8Array {
  const copy = new Uint8Array(der);
  copy[index] = (copy[index] as number) ^ 0x01;
  return copy;
}

/** The index of the first occurrence of `needle` (ASCII) in `der`. */
export function indexOfAscii(der: Uint8Array, needle: string): number {
  const bytes = new TextEncoder().encode(needle);
  outer: for (let i = 0; i + bytes.length <= der.length; i++) {
    for (let j = 0; j < bytes.length; j++) if (der[i + j] !== bytes[j]) continue outer;
    return i;
  }
  return -1;
}
