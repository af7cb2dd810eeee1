// The SPIFFE-specific checks on a leaf certificate that X.509 path validation does not make
// (X509-SVID §5.2), shared by the full verifier and the node:tls / grpc-js peer checks.
import { ekuOids, type CertificateFacts } from "./read-certificate.ts";
import { reject, type Rejection, type SvidRejectReason } from "./reasons.ts";
import { parseSpiffeId, type SpiffeId, type TrustDomain } from "./spiffe-id.ts";

/** An accepted SVID: the peer's identity. */
export interface SvidAccepted {
  readonly ok: true;
  readonly spiffeId: SpiffeId;
  readonly trustDomain: TrustDomain;
  /** When the leaf expires. */
  readonly notAfter: Date;
}

/** The outcome of checking an SVID. */
export type SvidVerification = SvidAccepted | Rejection<SvidRejectReason>;

/**
 * Checks the leaf profile: exactly one URI SAN (X509-SVID §2, §5.2) holding a SPIFFE ID with a
 * path (§3.1); basicConstraints not CA (§4.1, §5.2); a keyUsage extension (§4.3) with
 * digitalSignature and without keyCertSign / cRLSign (§5.2); when extKeyUsage is present, both
 * serverAuth and clientAuth (§4.4); no critical extension this lib does not process (RFC 5280
 * §4.2). Validity and trust are the caller's checks.
 */
export function checkSvidLeaf(leaf: CertificateFacts): SvidVerification {
  if (leaf.uriSans.length !== 1) {
    return reject("uri-san-count", `the leaf has ${leaf.uriSans.length} URI SANs${leaf.uriSans.length ? ` (${leaf.uriSans.join(", ")})` : ""}; an SVID has exactly one`);
  }
  const parsed = parseSpiffeId(leaf.uriSans[0] as string);
  if (!parsed.ok) return reject("invalid-spiffe-id", `the leaf's URI SAN is not a SPIFFE ID: ${parsed.detail}`);
  if (parsed.path === "") return reject("invalid-spiffe-id", `the leaf's ID "${parsed.id}" has no path; leaf IDs name a workload (X509-SVID §3.1)`);
  if (leaf.basicConstraints?.ca === true) return reject("leaf-is-ca", `the leaf for "${parsed.id}" is a CA certificate (basicConstraints CA=true)`);
  if (leaf.keyUsages === undefined) return reject("missing-key-usage", `the leaf for "${parsed.id}" has no keyUsage extension (X509-SVID §4.3)`);
  const signing = (["keyCertSign", "cRLSign"] as const).filter((u) => leaf.keyUsages?.has(u));
  if (signing.length > 0) return reject("leaf-can-sign", `the leaf for "${parsed.id}" has key usage ${signing.join(" + ")}`);
  if (!leaf.keyUsages.has("digitalSignature")) return reject("missing-digital-signature", `the leaf for "${parsed.id}" lacks key usage digitalSignature`);
  const eku = leaf.extKeyUsages;
  if (eku !== undefined && !eku.includes(ekuOids.any)) {
    const missing = (["serverAuth", "clientAuth"] as const).filter((name) => !eku.includes(ekuOids[name]));
    if (missing.length > 0) return reject("missing-eku", `the leaf for "${parsed.id}" lacks extended key usage ${missing.join(" + ")} (X509-SVID §4.4)`);
  }
  if (leaf.unhandledCriticalExtensions.length > 0) {
    return reject("unhandled-critical-extension", `the leaf for "${parsed.id}" has critical extension(s) ${leaf.unhandledCriticalExtensions.join(", ")} this verifier does not process`);
  }
  return { ok: true, spiffeId: parsed.id, trustDomain: parsed.trustDomain, notAfter: leaf.notAfter };
}

/** Checks `cert`'s validity window contains `now` (RFC 5280 §4.1.2.5: both ends inclusive). */
export function checkValidity(cert: CertificateFacts, now: Date, role: string): Rejection<SvidRejectReason> | null {
  if (now < cert.notBefore) return reject("not-yet-valid", `the ${role} (${cert.subject || "no subject"}) is valid from ${cert.notBefore.toISOString()}, now is ${now.toISOString()}`);
  if (now > cert.notAfter) return reject("expired", `the ${role} (${cert.subject || "no subject"}) expired at ${cert.notAfter.toISOString()}, now is ${now.toISOString()}`);
  return null;
}

/**
 * Checks a certificate that signed the one below it in a path: a CA (basicConstraints CA=true)
 * allowed to sign certificates (keyCertSign when keyUsage is present), whose pathLenConstraint
 * admits the `intermediatesBelow` CA certificates between it and the leaf (RFC 5280 §4.2.1.9).
 */
export function checkIssuer(cert: CertificateFacts, intermediatesBelow: number, role: string): Rejection<SvidRejectReason> | null {
  if (cert.basicConstraints?.ca !== true) return reject("issuer-not-ca", `the ${role} (${cert.subject}) signed a certificate but is not a CA (basicConstraints CA is not true)`);
  if (cert.keyUsages !== undefined && !cert.keyUsages.has("keyCertSign")) return reject("issuer-cannot-sign", `the ${role} (${cert.subject}) lacks key usage keyCertSign`);
  const limit = cert.basicConstraints.pathLength;
  if (limit !== undefined && intermediatesBelow > limit) {
    return reject("path-length-exceeded", `the ${role} (${cert.subject}) allows ${limit} intermediate CA(s) below it, the chain has ${intermediatesBelow}`);
  }
  if (cert.unhandledCriticalExtensions.length > 0) {
    return reject("unhandled-critical-extension", `the ${role} (${cert.subject}) has critical extension(s) ${cert.unhandledCriticalExtensions.join(", ")} this verifier does not process`);
  }
  return null;
}
