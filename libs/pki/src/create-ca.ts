// Creates CA certificates: a self-signed root for a trust domain and intermediates signed by it,
// each a SPIFFE signing certificate (X509-SVID §3.2, §4.1, §4.3) with a path length constraint.
import { exportPublicKeyDer, signingAlgorithmFor } from "./key-pair.ts";
import { floorToSecond, randomSerialHex } from "./random-serial.ts";
import { readCertificate, type CertificateFacts } from "./read-certificate.ts";
import { reject, type IssueRejectReason, type Rejection } from "./reasons.ts";
import { resolveCrypto } from "./resolve-crypto.ts";
import { signingCaOf, type SigningCa } from "./signing-ca.ts";
import { trustDomainId, type TrustDomain } from "./spiffe-id.ts";
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
  type Extension,
} from "./x509.ts";

/** Options shared by root and intermediate CAs. */
export interface CaOptions {
  /** The CA's key pair (see generateKeyPair). */
  readonly keys: CryptoKeyPair;
  readonly now: Date;
  readonly ttlSeconds: number;
  /** basicConstraints pathLenConstraint: intermediates allowed below this CA. */
  readonly pathLength?: number;
  /** The subject's CN; the subject is `O=<trust domain>, CN=<commonName>`. */
  readonly commonName?: string;
  /** How far notBefore lies before `now`, for peers whose clocks run behind. Default 60. */
  readonly backdateSeconds?: number;
  readonly crypto?: Crypto;
}

/** Default pathLenConstraint of a root: one intermediate (the signing CA) between it and leaves. */
export const defaultRootPathLength = 1;

/**
 * Creates a self-signed root CA for `trustDomain`: CA=true with `pathLength` (default 1),
 * keyCertSign + cRLSign (critical), subject and authority key identifiers, and the URI SAN
 * `spiffe://<trustDomain>` (a signing certificate's ID has no path, X509-SVID §3.2). Valid from
 * `now - backdateSeconds` for `ttlSeconds`. Throws RangeError for a TTL that is not positive:
 * configuration is validated before it reaches here.
 */
export async function createRootCa(options: CaOptions & { readonly trustDomain: TrustDomain }): Promise<SigningCa> {
  if (!(options.ttlSeconds > 0)) throw new RangeError(`root CA ttlSeconds must be positive, got ${options.ttlSeconds}`);
  const crypto = resolveCrypto(options.crypto);
  const spki = await exportPublicKeyDer(options.keys.publicKey, crypto);
  const ski = await SubjectKeyIdentifierExtension.create(spki, false, crypto);
  const name = caName(options.trustDomain, options.commonName ?? "Meshwork Root CA");
  const facts = await signCa({
    subject: name,
    issuer: name,
    spki,
    signingKey: options.keys.privateKey,
    notBefore: floorToSecond(new Date(options.now.getTime() - (options.backdateSeconds ?? 60) * 1000)),
    notAfter: floorToSecond(new Date(options.now.getTime() + options.ttlSeconds * 1000)),
    extensions: [...caExtensions(options.trustDomain, options.pathLength ?? defaultRootPathLength, ski), new AuthorityKeyIdentifierExtension(ski.keyId)],
    crypto,
  });
  return signingCaOf([facts], options.keys.privateKey, options.trustDomain);
}

/**
 * Creates an intermediate CA signed by `parent`, in the parent's trust domain. Its notAfter is
 * the earlier of `now + ttlSeconds` and the parent's notAfter, so it never outlives its issuers;
 * its pathLength defaults to 0 (signs leaves only) and may not exceed what the parent chain
 * leaves room for. Refused when the parent is not valid at `now`, has no path length left, or the
 * TTL is not positive.
 */
export async function createIntermediateCa(
  options: CaOptions & { readonly parent: SigningCa },
): Promise<{ readonly ok: true; readonly ca: SigningCa } | Rejection<IssueRejectReason>> {
  const { parent, now } = options;
  if (!(options.ttlSeconds > 0)) return reject("bad-ttl", `ttlSeconds must be positive, got ${options.ttlSeconds}`);
  if (now < parent.notBefore) return reject("issuer-not-yet-valid", `the parent CA is valid from ${parent.notBefore.toISOString()}, now is ${now.toISOString()}`);
  if (now >= parent.notAfter) return reject("issuer-expired", `the parent CA expired at ${parent.notAfter.toISOString()}`);
  if (parent.pathHeadroom !== undefined && parent.pathHeadroom < 1) {
    return reject("path-length-exceeded", "the parent CA's path length constraint allows no further intermediate CA");
  }
  const maxPathLength = parent.pathHeadroom === undefined ? undefined : parent.pathHeadroom - 1;
  const pathLength = options.pathLength ?? 0;
  if (maxPathLength !== undefined && pathLength > maxPathLength) {
    return reject("path-length-exceeded", `pathLength ${pathLength} exceeds the ${maxPathLength} the parent chain allows`);
  }
  const crypto = resolveCrypto(options.crypto);
  const spki = await exportPublicKeyDer(options.keys.publicKey, crypto);
  const ski = await SubjectKeyIdentifierExtension.create(spki, false, crypto);
  const notBefore = new Date(Math.max(now.getTime() - (options.backdateSeconds ?? 60) * 1000, parent.notBefore.getTime()));
  const notAfter = new Date(Math.min(now.getTime() + options.ttlSeconds * 1000, parent.notAfter.getTime()));
  const extensions: Extension[] = caExtensions(parent.trustDomain, pathLength, ski);
  if (parent.subjectKeyId !== undefined) extensions.push(new AuthorityKeyIdentifierExtension(parent.subjectKeyId));
  const facts = await signCa({
    subject: caName(parent.trustDomain, options.commonName ?? "Meshwork Intermediate CA"),
    issuer: new Name(parent.subjectDer as Uint8Array<ArrayBuffer>),
    spki,
    signingKey: parent.privateKey,
    notBefore: floorToSecond(notBefore),
    notAfter: floorToSecond(notAfter),
    extensions,
    crypto,
  });
  const chainFacts: CertificateFacts[] = [facts];
  for (const der of parent.chain) {
    const read = readCertificate(der);
    if (!read.ok) throw new Error(`a SigningCa holds a certificate that does not parse: ${read.detail}`);
    chainFacts.push(read.cert);
  }
  return { ok: true, ca: signingCaOf(chainFacts, options.keys.privateKey, parent.trustDomain) };
}

function caName(trustDomain: TrustDomain, commonName: string): Name {
  return new Name([{ "2.5.4.10": [trustDomain] }, { "2.5.4.3": [commonName] }]);
}

function caExtensions(trustDomain: TrustDomain, pathLength: number, ski: SubjectKeyIdentifierExtension): Extension[] {
  return [
    new BasicConstraintsExtension(true, pathLength, true),
    new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
    ski,
    new SubjectAlternativeNameExtension([{ type: "url", value: trustDomainId(trustDomain) }], false),
  ];
}

async function signCa(params: {
  readonly subject: Name;
  readonly issuer: Name;
  readonly spki: Uint8Array<ArrayBuffer>;
  readonly signingKey: CryptoKey;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: Extension[];
  readonly crypto: Crypto;
}): Promise<CertificateFacts> {
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: randomSerialHex(params.crypto),
      subject: params.subject,
      issuer: params.issuer,
      notBefore: params.notBefore,
      notAfter: params.notAfter,
      publicKey: params.spki,
      signingKey: params.signingKey,
      signingAlgorithm: signingAlgorithmFor(params.signingKey),
      extensions: params.extensions,
    },
    params.crypto,
  );
  const read = readCertificate(new Uint8Array(cert.rawData));
  if (!read.ok) throw new Error(`a certificate this lib just built does not parse: ${read.detail}`);
  return read.cert;
}
