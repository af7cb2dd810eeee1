// SVID checks on a peer certificate as node:tls and grpc-js hand it over, after OpenSSL has
// validated the chain: synchronous (TLS callbacks are), working on the `raw` DER of the peer
// certificate and of its `issuerCertificate` links. No import of node:tls: the shape is structural.
import { checkIssuer, checkSvidLeaf, checkValidity, type SvidVerification } from "./check-svid-leaf.ts";
import { equalBytes } from "./equal-bytes.ts";
import { readCertificate, type CertificateFacts } from "./read-certificate.ts";
import { reject } from "./reasons.ts";
import type { SpiffeId } from "./spiffe-id.ts";
import { rootsOf, type TrustBundles } from "./trust-bundles.ts";

/**
 * The part of node:tls `DetailedPeerCertificate` (from `socket.getPeerCertificate(true)`, or
 * the `cert` argument of `checkServerIdentity`) these checks read. Node links each certificate
 * to its issuer and the root to itself.
 */
export interface PeerCertificateLike {
  readonly raw: Uint8Array;
  readonly issuerCertificate?: PeerCertificateLike | undefined;
}

/** Which peer IDs are acceptable: a list, or a predicate (e.g. an authorization policy lookup). */
export type AllowedIds = readonly SpiffeId[] | ((id: SpiffeId) => boolean);

const maxPeerChain = 16;

/** The DER chain of a peer certificate, leaf first, following `issuerCertificate` until a self-link. */
export function peerCertificateChain(peer: PeerCertificateLike): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let cert: PeerCertificateLike | undefined = peer;
  while (cert && chain.length < maxPeerChain) {
    chain.push(cert.raw);
    const next: PeerCertificateLike | undefined = cert.issuerCertificate;
    if (next === cert || (next && equalBytes(next.raw, cert.raw))) break;
    cert = next;
  }
  return chain;
}

/**
 * Checks a peer certificate whose chain OpenSSL has already verified against the union of all
 * bundle roots (`ca: bundlesToCaPem(bundles)`, `rejectUnauthorized: true`: signatures, CA flags,
 * path lengths, purposes). What OpenSSL cannot know is added here: the leaf profile
 * (checkSvidLeaf); that the chain's top certificate is, byte for byte, a root of the bundle of
 * *the leaf's own* trust domain (else another domain's CA could mint this domain's IDs); the
 * validity of every certificate at `now`; the issuers' CA constraints again; and, when `allowed`
 * is given, that the ID is one of them ("unexpected-id").
 *
 * Signatures are not re-checked here (WebCrypto is asynchronous, TLS callbacks are not): never use
 * this with `rejectUnauthorized: false`. For a full check, run verifySvid on peerCertificateChain.
 */
export function checkPeerCertificate(
  peer: PeerCertificateLike,
  options: { readonly bundles: TrustBundles; readonly now: Date; readonly allowed?: AllowedIds },
): SvidVerification {
  const ders = peerCertificateChain(peer);
  const chain: CertificateFacts[] = [];
  for (const [i, der] of ders.entries()) {
    const read = readCertificate(der);
    if (!read.ok) return reject("malformed", `peer certificate #${i + 1}: ${read.detail}`);
    chain.push(read.cert);
  }
  const leaf = chain[0] as CertificateFacts;
  const profile = checkSvidLeaf(leaf);
  if (!profile.ok) return profile;
  const roots = rootsOf(options.bundles, profile.trustDomain);
  if (roots.length === 0) return reject("wrong-trust-domain", `"${profile.spiffeId}" is in trust domain "${profile.trustDomain}", for which there is no trust bundle`);
  const top = chain[chain.length - 1] as CertificateFacts;
  if (chain.length < 2 || !roots.some((r) => equalBytes(r, top.der))) {
    const hint = chain.length < 2 ? " (no issuer chain: pass getPeerCertificate(true))" : "";
    return reject("untrusted-root", `"${profile.spiffeId}" chains to "${top.subject}", which is not a root of trust domain "${profile.trustDomain}"${hint}`);
  }
  for (const [i, cert] of chain.entries()) {
    const role = i === 0 ? "leaf" : i === chain.length - 1 ? "root" : `intermediate #${i}`;
    const expired = checkValidity(cert, options.now, role);
    if (expired) return expired;
    if (i > 0) {
      const problem = checkIssuer(cert, i - 1, role);
      if (problem) return problem;
    }
  }
  if (options.allowed && !isAllowed(options.allowed, profile.spiffeId)) {
    return reject("unexpected-id", `peer "${profile.spiffeId}" is not ${typeof options.allowed === "function" ? "allowed" : `one of ${options.allowed.join(", ")}`}`);
  }
  return profile;
}

function isAllowed(allowed: AllowedIds, id: SpiffeId): boolean {
  return typeof allowed === "function" ? allowed(id) : allowed.includes(id);
}

/**
 * Checks the leaf of a resumed TLS session, which comes without its chain: the SVID profile, a
 * bundle for its trust domain, its validity at `now` and `allowed`. Only for a leaf whose full
 * chain passed checkPeerCertificate in the handshake that made the session (the caller keeps
 * track: a ticket is issued before the server's own check, so a refused client holds one too).
 */
export function checkResumedLeaf(
  peer: PeerCertificateLike,
  options: { readonly bundles: TrustBundles; readonly now: Date; readonly allowed?: AllowedIds },
): SvidVerification {
  const read = readCertificate(peer.raw);
  if (!read.ok) return reject("malformed", `peer certificate: ${read.detail}`);
  const profile = checkSvidLeaf(read.cert);
  if (!profile.ok) return profile;
  if (rootsOf(options.bundles, profile.trustDomain).length === 0) return reject("wrong-trust-domain", `"${profile.spiffeId}" is in trust domain "${profile.trustDomain}", for which there is no trust bundle`);
  const expired = checkValidity(read.cert, options.now, "leaf");
  if (expired) return expired;
  if (options.allowed && !isAllowed(options.allowed, profile.spiffeId)) {
    return reject("unexpected-id", `peer "${profile.spiffeId}" is not ${typeof options.allowed === "function" ? "allowed" : `one of ${options.allowed.join(", ")}`}`);
  }
  return profile;
}

