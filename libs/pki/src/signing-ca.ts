// A CA that can sign: its certificate chain, private key and the facts issuance needs, loaded
// from files (like Istio's `cacerts`: CA certificate, its issuers up to the root, key) or built
// by createRootCa / createIntermediateCa.
import { describePublicKey } from "./describe-public-key.ts";
import { signingAlgorithmFor } from "./key-pair.ts";
import { isSignedBy, readCertificate, type CertificateFacts } from "./read-certificate.ts";
import { reject, type IssueRejectReason, type Rejection } from "./reasons.ts";
import { resolveCrypto } from "./resolve-crypto.ts";
import { parseSpiffeId, type TrustDomain } from "./spiffe-id.ts";
import { equalBytes } from "./equal-bytes.ts";

/** A signing CA. Immutable: rotation builds a new one. */
export interface SigningCa {
  readonly trustDomain: TrustDomain;
  /** This CA's certificate first, then its issuers, the root last; DER. A root's chain is `[root]`. */
  readonly chain: readonly Uint8Array[];
  readonly privateKey: CryptoKey;
  /** This CA's subject name, DER: the issuer name of what it signs. */
  readonly subjectDer: Uint8Array;
  /** This CA's subject key identifier (hex): the authority key identifier of what it signs. */
  readonly subjectKeyId: string | undefined;
  /** When it may sign: the intersection of the validity windows of every certificate in `chain`. */
  readonly notBefore: Date;
  readonly notAfter: Date;
  /**
   * How many more intermediate CAs may be placed under this one, after every pathLenConstraint in
   * `chain` (RFC 5280 §4.2.1.9); `undefined` is unlimited, 0 means it may sign leaves only.
   */
  readonly pathHeadroom: number | undefined;
}

/**
 * The CA's certificate facts, and chain facts from its issuers, derived into a {@link SigningCa}.
 * The caller has checked the certificates parse and chain.
 */
export function signingCaOf(chain: readonly CertificateFacts[], privateKey: CryptoKey, trustDomain: TrustDomain): SigningCa {
  const own = chain[0] as CertificateFacts;
  let headroom: number | undefined;
  chain.forEach((c, depth) => {
    const limit = c.basicConstraints?.pathLength;
    if (limit !== undefined) headroom = Math.min(headroom ?? Infinity, limit - depth);
  });
  return {
    trustDomain,
    chain: chain.map((c) => c.der),
    privateKey,
    subjectDer: own.subjectDer,
    subjectKeyId: own.subjectKeyId,
    notBefore: new Date(Math.max(...chain.map((c) => c.notBefore.getTime()))),
    notAfter: new Date(Math.min(...chain.map((c) => c.notAfter.getTime()))),
    pathHeadroom: headroom,
  };
}

/**
 * Loads a signing CA from its chain (its own certificate first, root last, DER) and private key.
 * Checks each certificate parses, is a CA allowed to sign certificates, is signed by the next
 * one, and that the key belongs to the first certificate. The trust domain is `trustDomain`, or
 * else the `spiffe://<td>` URI SAN of the CA certificate (X509-SVID §3.2); when both are present
 * they must agree.
 */
export async function loadSigningCa(options: {
  readonly chain: readonly Uint8Array[];
  readonly privateKey: CryptoKey;
  readonly trustDomain?: TrustDomain;
  readonly crypto?: Crypto;
}): Promise<{ readonly ok: true; readonly ca: SigningCa } | Rejection<IssueRejectReason>> {
  const crypto = resolveCrypto(options.crypto);
  if (options.chain.length === 0) return reject("empty-chain", "the CA chain is empty");
  const facts: CertificateFacts[] = [];
  for (const [i, der] of options.chain.entries()) {
    const read = readCertificate(der);
    if (!read.ok) return reject("malformed", `CA chain certificate #${i + 1}: ${read.detail}`);
    const cert = read.cert;
    if (cert.basicConstraints?.ca !== true) return reject("not-a-ca", `CA chain certificate #${i + 1} (${cert.subject}) is not a CA (basicConstraints CA is not true)`);
    if (cert.keyUsages && !cert.keyUsages.has("keyCertSign")) return reject("cannot-sign", `CA chain certificate #${i + 1} (${cert.subject}) lacks keyCertSign`);
    facts.push(cert);
  }
  for (let i = 0; i + 1 < facts.length; i++) {
    const child = facts[i] as CertificateFacts;
    const parent = facts[i + 1] as CertificateFacts;
    if (!equalBytes(child.issuerDer, parent.subjectDer) || !(await isSignedBy(child, parent, crypto))) {
      return reject("malformed", `CA chain certificate #${i + 1} (${child.subject}) is not issued by #${i + 2} (${parent.subject}); order the chain CA first, root last`);
    }
  }
  const own = facts[0] as CertificateFacts;
  if (!(await keyMatches(options.privateKey, own, crypto))) return reject("key-mismatch", `the private key does not belong to the CA certificate (${own.subject})`);
  const sanDomains = own.uriSans.map(parseSpiffeId).flatMap((p) => (p.ok ? [p.trustDomain] : []));
  const trustDomain = options.trustDomain ?? sanDomains[0];
  if (trustDomain === undefined) return reject("wrong-trust-domain", `no trust domain given and the CA certificate (${own.subject}) has no spiffe:// URI SAN`);
  if (sanDomains.length > 0 && !sanDomains.includes(trustDomain)) {
    return reject("wrong-trust-domain", `the CA certificate names trust domain ${sanDomains.join(", ")}, not "${trustDomain}"`);
  }
  return { ok: true, ca: signingCaOf(facts, options.privateKey, trustDomain) };
}

/** True when `privateKey` signs what the certificate's public key verifies. */
async function keyMatches(privateKey: CryptoKey, cert: CertificateFacts, crypto: Crypto): Promise<boolean> {
  const probe = new TextEncoder().encode("meshwork signing CA key probe");
  const key = describePublicKey(cert.spki);
  if (!key.ok) return false;
  try {
    const algorithm = signingAlgorithmFor(privateKey);
    const signature = new Uint8Array(await crypto.subtle.sign(algorithm, privateKey, probe));
    const importParams =
      key.key.kind === "ecdsa" ? { name: "ECDSA", namedCurve: key.key.curve } : { name: "RSASSA-PKCS1-v1_5", hash: (privateKey.algorithm as RsaHashedKeyAlgorithm).hash };
    if (key.key.kind === "other" || key.key.kind !== (privateKey.algorithm.name === "ECDSA" ? "ecdsa" : "rsa")) return false;
    const publicKey = await crypto.subtle.importKey("spki", cert.spki.slice(), importParams, false, ["verify"]);
    return await crypto.subtle.verify(algorithm, publicKey, signature, probe);
  } catch {
    return false;
  }
}
