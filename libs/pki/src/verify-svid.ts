// The verification a peer applies to an X.509-SVID chain (X509-SVID §5): path validation to a
// root of the bundle of the leaf's own trust domain, validity at `now`, CA constraints of every
// issuer, and the SPIFFE leaf checks. Pure: the time and the bundles are inputs.
import { checkIssuer, checkSvidLeaf, checkValidity, type SvidVerification } from "./check-svid-leaf.ts";
import { equalBytes } from "./equal-bytes.ts";
import { isSignedBy, readCertificate, type CertificateFacts } from "./read-certificate.ts";
import { reject, type Rejection, type SvidRejectReason } from "./reasons.ts";
import { resolveCrypto } from "./resolve-crypto.ts";
import { rootsOf, type TrustBundles } from "./trust-bundles.ts";

/** Chains longer than this are refused before any signature is checked. */
export const defaultMaxChainLength = 8;

/**
 * Verifies an SVID chain (leaf first, then intermediates in any order; a trailing root is
 * allowed and ignored) against `bundles` at `now`:
 *
 * 1. the leaf profile (checkSvidLeaf): one URI SAN with a SPIFFE ID, not a CA, digitalSignature,
 *    no keyCertSign / cRLSign, serverAuth + clientAuth when EKU is present;
 * 2. the ID's trust domain has a bundle ("wrong-trust-domain" otherwise);
 * 3. a path from the leaf through the presented certificates to a root *of that domain's
 *    bundle*: names chain bytewise, key identifiers agree when both present, each signature
 *    verifies ("bad-signature" when a certificate named as issuer did not sign; "untrusted-root"
 *    when the path ends elsewhere, e.g. at another trust domain's root, X509-SVID §5.1);
 * 4. every certificate on the path, the root included, is valid at `now` (inclusive);
 * 5. every issuer on the path is a CA with keyCertSign and its pathLenConstraint holds
 *    (RFC 5280 §4.2.1.3, §4.2.1.9).
 *
 * Returns the peer's SPIFFE ID, or the first reason found with a detail naming the certificate.
 * Untrusted input never throws.
 */
export async function verifySvid(options: {
  readonly chain: readonly Uint8Array[];
  readonly bundles: TrustBundles;
  readonly now: Date;
  readonly maxChainLength?: number;
  readonly crypto?: Crypto;
}): Promise<SvidVerification> {
  const { chain, bundles, now } = options;
  const crypto = resolveCrypto(options.crypto);
  if (chain.length === 0) return reject("empty-chain", "no certificate was presented");
  const max = options.maxChainLength ?? defaultMaxChainLength;
  if (chain.length > max) return reject("chain-too-long", `the chain has ${chain.length} certificates, the limit is ${max}`);
  const presented: CertificateFacts[] = [];
  for (const [i, der] of chain.entries()) {
    const read = readCertificate(der);
    if (!read.ok) return reject("malformed", `chain certificate #${i + 1}: ${read.detail}`);
    presented.push(read.cert);
  }
  const leaf = presented[0] as CertificateFacts;
  const profile = checkSvidLeaf(leaf);
  if (!profile.ok) return profile;

  const roots = rootsOf(bundles, profile.trustDomain).flatMap((der) => {
    const read = readCertificate(der);
    return read.ok ? [read.cert] : [];
  });
  if (roots.length === 0) return reject("wrong-trust-domain", `"${profile.spiffeId}" is in trust domain "${profile.trustDomain}", for which there is no trust bundle`);

  const path = await buildPath(leaf, presented.slice(1), roots, max, crypto);
  if (!path.ok) return path.rejection;

  for (const [i, cert] of path.certs.entries()) {
    const problem = checkValidity(cert, now, roleOf(i, path.certs.length));
    if (problem) return problem;
  }
  for (let i = 1; i < path.certs.length; i++) {
    // Intermediates between this issuer and the leaf: every certificate on the path below it but the leaf.
    const problem = checkIssuer(path.certs[i] as CertificateFacts, i - 1, roleOf(i, path.certs.length));
    if (problem) return problem;
  }
  return profile;
}

function roleOf(index: number, length: number): string {
  if (index === 0) return "leaf";
  return index === length - 1 ? "root" : `intermediate #${index}`;
}

type PathResult = { readonly ok: true; readonly certs: readonly CertificateFacts[] } | { readonly ok: false; readonly rejection: Rejection<SvidRejectReason> };

/** Could `issuer` have issued `cert`? Names must match bytewise; key ids when both are present. */
function namesIssuer(issuer: CertificateFacts, cert: CertificateFacts): boolean {
  if (!equalBytes(issuer.subjectDer, cert.issuerDer)) return false;
  return issuer.subjectKeyId === undefined || cert.authorityKeyId === undefined || issuer.subjectKeyId === cert.authorityKeyId;
}

/**
 * Walks from the leaf up: at each step a bundle root that signed the current certificate ends
 * the path; otherwise an unused presented certificate that signed it becomes the next step.
 */
async function buildPath(
  leaf: CertificateFacts,
  intermediates: readonly CertificateFacts[],
  roots: readonly CertificateFacts[],
  maxLength: number,
  crypto: Crypto,
): Promise<PathResult> {
  const certs: CertificateFacts[] = [leaf];
  const used = new Set<number>();
  let current = leaf;
  let badSignature: CertificateFacts | undefined;
  while (certs.length <= maxLength) {
    for (const root of roots) {
      if (!namesIssuer(root, current)) continue;
      if (await isSignedBy(current, root, crypto)) return { ok: true, certs: [...certs, root] };
      badSignature = current;
    }
    let next: number | undefined;
    for (const [i, candidate] of intermediates.entries()) {
      if (used.has(i) || !namesIssuer(candidate, current)) continue;
      if (await isSignedBy(current, candidate, crypto)) {
        next = i;
        break;
      }
      badSignature = current;
    }
    if (next === undefined) break;
    badSignature = undefined; // a mismatch beside the issuer that did sign is no longer the story
    used.add(next);
    current = intermediates[next] as CertificateFacts;
    certs.push(current);
  }
  if (badSignature) {
    return { ok: false, rejection: reject("bad-signature", `the signature on ${badSignature === leaf ? "the leaf" : `"${badSignature.subject}"`} does not verify with the key of the certificate named as its issuer (${badSignature.issuer})`) };
  }
  return {
    ok: false,
    rejection: reject("untrusted-root", `the chain does not lead to a root of the leaf's trust domain bundle: nothing presented or trusted issued "${current.subject || "the leaf"}" (issuer ${current.issuer})`),
  };
}
