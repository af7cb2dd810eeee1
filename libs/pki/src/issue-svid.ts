// Issues X.509-SVID leaf certificates (X509-SVID §2-§4): a pure function of the CSR's key, the
// SPIFFE ID the CA attested, the TTL, the signing CA and the time; randomness only for the serial.
// The leaf is spliced into a per-CA DER template (svid-tbs.ts; the hot path of the CA: see bench/ca).
import type { PublicKeyDescription } from "./describe-public-key.ts";
import { floorToSecond } from "./random-serial.ts";
import { reject, type IssueRejectReason, type Rejection } from "./reasons.ts";
import { resolveCrypto } from "./resolve-crypto.ts";
import { keyIdentifierOf, signCertificate, subjectPublicKeyBits } from "./sign-certificate.ts";
import type { SigningCa } from "./signing-ca.ts";
import { parseSpiffeId, type SpiffeId } from "./spiffe-id.ts";
import { SvidTemplate } from "./svid-tbs.ts";

function bytesToHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Default clock-skew allowance: notBefore lies this far before the issue time. */
export const defaultBackdateSeconds = 60;

/** An issued SVID. */
export interface IssuedSvid {
  /** The leaf certificate, DER. */
  readonly certificate: Uint8Array<ArrayBuffer>;
  /** Leaf first, then the issuer chain, root last (what `CreateCertificate` returns, DESIGN.md §3.3). */
  readonly chain: readonly Uint8Array[];
  readonly spiffeId: SpiffeId;
  /** Serial number, lowercase hex (for the audit log). */
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** What issueSvid needs to know about the requester's key: from parseCsr's `VerifiedCsr`. */
export interface SvidSubjectKey {
  /** SubjectPublicKeyInfo, DER. */
  readonly spki: Uint8Array;
  readonly key: PublicKeyDescription;
}

/**
 * Signs a leaf SVID for `spiffeId` over the CSR's public key. The profile (X509-SVID §4): exactly
 * one URI SAN (the ID, critical because the subject is empty, §3.1), basicConstraints CA=false
 * (critical), keyUsage digitalSignature (+ keyEncipherment for RSA keys, critical), extKeyUsage
 * serverAuth + clientAuth, subject / authority key identifiers, a random 128-bit serial.
 * Validity: notBefore = now - backdateSeconds (not before the CA's own notBefore), notAfter =
 * min(now + ttlSeconds, issuer.notAfter), so a leaf never outlives its CA chain.
 *
 * Refused when the ID is not in the CA's trust domain or has no path (a leaf ID names a workload,
 * §3.1), when the CA is not valid at `now`, or the TTL is not positive. Deciding *whether* the
 * caller may have this ID (token, policy) is the CA's job before calling this.
 */
export async function issueSvid(options: {
  readonly csr: SvidSubjectKey;
  readonly spiffeId: SpiffeId;
  readonly ttlSeconds: number;
  readonly issuer: SigningCa;
  readonly now: Date;
  readonly backdateSeconds?: number;
  readonly crypto?: Crypto;
}): Promise<{ readonly ok: true; readonly svid: IssuedSvid } | Rejection<IssueRejectReason>> {
  const { issuer, now, spiffeId } = options;
  if (!(options.ttlSeconds > 0)) return reject("bad-ttl", `ttlSeconds must be positive, got ${options.ttlSeconds}`);
  const parsed = parseSpiffeId(spiffeId);
  if (!parsed.ok) return reject("invalid-spiffe-id", parsed.detail);
  if (parsed.path === "") return reject("invalid-spiffe-id", `"${spiffeId}" has no path; a leaf SVID's ID names a workload (X509-SVID §3.1)`);
  if (parsed.trustDomain !== issuer.trustDomain) {
    return reject("wrong-trust-domain", `"${spiffeId}" is not in the CA's trust domain "${issuer.trustDomain}"`);
  }
  if (now < issuer.notBefore) return reject("issuer-not-yet-valid", `the CA is valid from ${issuer.notBefore.toISOString()}, now is ${now.toISOString()}`);
  if (now >= issuer.notAfter) return reject("issuer-expired", `the CA expired at ${issuer.notAfter.toISOString()}`);

  const crypto = resolveCrypto(options.crypto);
  const backdateMs = (options.backdateSeconds ?? defaultBackdateSeconds) * 1000;
  const notBefore = floorToSecond(new Date(Math.max(now.getTime() - backdateMs, issuer.notBefore.getTime())));
  const notAfter = floorToSecond(new Date(Math.min(now.getTime() + options.ttlSeconds * 1000, issuer.notAfter.getTime())));
  const { spki } = options.csr;
  if (!subjectPublicKeyBits(spki)) throw new Error("issueSvid: csr.spki is not a SubjectPublicKeyInfo; pass what parseCsr returned");
  const serial = crypto.getRandomValues(new Uint8Array(16));
  const subjectKeyId = await keyIdentifierOf(spki, crypto);
  const template = SvidTemplate.of(issuer);
  const tbs = template.tbs({ serial, notBefore, notAfter, spki, rsaKey: options.csr.key.kind === "rsa", spiffeId, subjectKeyId });
  const certificate = await signCertificate(tbs, template.signatureAlgorithm, issuer.privateKey, crypto);
  const serialHex = bytesToHex(serial).replace(/^(00)+(?=.)/, "");
  return {
    ok: true,
    svid: { certificate, chain: [certificate, ...issuer.chain], spiffeId, serialHex, notBefore, notAfter },
  };
}
