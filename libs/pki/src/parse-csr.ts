// Parses and checks a certificate signing request from a workload (RFC 2986): signature (proof
// the sender holds the key), key type and size against policy, and the URI SAN it asks for, if
// any. Untrusted bytes: a strict DER reader, every failure a refusal value.
import { contentOf, decodeOid, encodingOf, readChildren, readNode, tags, type DerNode } from "./der.ts";
import { describePublicKey, type PublicKeyDescription } from "./describe-public-key.ts";
import { readGeneralNames } from "./general-names.ts";
import { pemToDer } from "./pem.ts";
import { reject, type CsrRejectReason, type Rejection } from "./reasons.ts";
import { resolveCrypto } from "./resolve-crypto.ts";
import { parseSpiffeId, type SpiffeId } from "./spiffe-id.ts";
import { verifySignature } from "./verify-signature.ts";

/** Which keys a CSR may carry. */
export interface CsrKeyPolicy {
  /** Accepted ECDSA curves (WebCrypto names). */
  readonly ecdsaCurves: readonly string[];
  /** Accepted RSA modulus sizes, inclusive; `undefined` refuses RSA. */
  readonly rsaBits: { readonly min: number; readonly max: number } | undefined;
}

/** ECDSA P-256 / P-384 and RSA 2048-4096 bits (DESIGN.md §3.3: P-256 default, RSA-2048 accepted). */
export const defaultCsrKeyPolicy: CsrKeyPolicy = { ecdsaCurves: ["P-256", "P-384"], rsaBits: { min: 2048, max: 4096 } };

/** A CSR that passed every check. */
export interface VerifiedCsr {
  /** The subject's public key, SubjectPublicKeyInfo DER: what the certificate will certify. */
  readonly spki: Uint8Array;
  readonly key: PublicKeyDescription;
  /** The one SPIFFE ID the CSR asks for, or `undefined` when it names none. */
  readonly requestedId: SpiffeId | undefined;
  readonly dnsSans: readonly string[];
}

const extensionRequestOid = "1.2.840.113549.1.9.14";
const subjectAltNameOid = "2.5.29.17";
/** The parts of a CSR the checks need, as views into its bytes. */
interface CsrParts {
  readonly info: Uint8Array;
  readonly spki: Uint8Array;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
  readonly uris: string[];
  readonly dnsSans: string[];
}

/**
 * Parses a CSR (PEM or DER) and verifies it: the self-signature must be valid, the key allowed by
 * `policy`, and at most one URI SAN which must be a valid SPIFFE ID (X509-SVID §2). Whether that
 * ID is the caller's is the CA's decision (it takes the ID from the workload token). Bad input is
 * a refusal value, never an exception.
 */
export async function parseCsr(
  input: string | Uint8Array,
  options: { readonly policy?: CsrKeyPolicy; readonly crypto?: Crypto } = {},
): Promise<{ readonly ok: true; readonly csr: VerifiedCsr } | Rejection<CsrRejectReason>> {
  const crypto = resolveCrypto(options.crypto);
  const policy = options.policy ?? defaultCsrKeyPolicy;
  let der: Uint8Array;
  if (typeof input === "string") {
    const decoded = pemToDer(input, "CERTIFICATE REQUEST");
    if (!decoded.ok) return decoded;
    der = decoded.der;
  } else {
    der = input;
  }
  const parts = readCsr(der);
  if (typeof parts === "string") return reject("malformed", `the CSR is not valid DER PKCS#10: ${parts}`);
  const spki = parts.spki.slice();
  const described = describePublicKey(spki);
  if (!described.ok) return described;
  const key = described.key;
  const keyProblem = checkKey(key, policy);
  if (keyProblem) return keyProblem;
  const signed = await verifySignature({ spki, key, algorithmOid: parts.signatureAlgorithm, signature: parts.signature, data: parts.info }, crypto);
  if (!signed) return reject("bad-signature", "the CSR's signature does not verify with its own public key");
  if (parts.uris.length > 1) return reject("uri-san-count", `the CSR asks for ${parts.uris.length} URI SANs (${parts.uris.join(", ")}); an SVID has exactly one`);
  let requestedId: SpiffeId | undefined;
  if (parts.uris[0] !== undefined) {
    const parsed = parseSpiffeId(parts.uris[0]);
    if (!parsed.ok) return reject("invalid-spiffe-id", `the CSR's URI SAN is not a SPIFFE ID: ${parsed.detail}`);
    requestedId = parsed.id;
  }
  return { ok: true, csr: { spki, key, requestedId, dnsSans: parts.dnsSans } };
}

/** Reads CertificationRequest ::= SEQUENCE { info, signatureAlgorithm, signature BIT STRING } (RFC 2986 §4); a string says what is wrong. */
function readCsr(der: Uint8Array): CsrParts | string {
  const root = readNode(der, 0);
  if (!root || root.tag !== tags.sequence || root.end !== der.length) return "not one DER SEQUENCE";
  const [info, algorithm, signature, ...extra] = readChildren(der, root) ?? [];
  if (!info || info.tag !== tags.sequence || !algorithm || algorithm.tag !== tags.sequence || !signature || signature.tag !== tags.bitString || extra.length) {
    return "expected SEQUENCE { info, algorithm, signature }";
  }
  // CertificationRequestInfo ::= SEQUENCE { version INTEGER (0), subject Name, subjectPKInfo, attributes [0] }
  const [version, subject, spki, attributes, ...more] = readChildren(der, info) ?? [];
  if (version?.tag !== tags.integer || contentOf(der, version).join() !== "0") return "version is not 0";
  if (subject?.tag !== tags.sequence || spki?.tag !== tags.sequence || more.length) return "malformed CertificationRequestInfo";
  if (attributes && attributes.tag !== 0xa0) return "attributes are not [0]";
  const algorithmOid = readChildren(der, algorithm)?.[0];
  const signatureAlgorithm = algorithmOid?.tag === tags.oid ? decodeOid(contentOf(der, algorithmOid)) : null;
  const signatureBits = contentOf(der, signature);
  if (!signatureAlgorithm || signatureBits[0] !== 0) return "malformed signature";
  const sans = attributes ? readSans(der, attributes) : { uris: [], dnsSans: [] };
  if (typeof sans === "string") return sans;
  return { info: encodingOf(der, info), spki: encodingOf(der, spki), signatureAlgorithm, signature: signatureBits.subarray(1), ...sans };
}

/** The URI and DNS names of the subjectAltName in the extensionRequest attribute (RFC 2985 §5.4.2). */
function readSans(der: Uint8Array, attributes: DerNode): { uris: string[]; dnsSans: string[] } | string {
  const uris: string[] = [];
  const dnsSans: string[] = [];
  let sanSeen = false;
  let requestSeen = false;
  for (const attribute of readChildren(der, attributes) ?? [null]) {
    if (!attribute || attribute.tag !== tags.sequence) return "malformed attribute";
    const [type, values] = readChildren(der, attribute) ?? [];
    if (type?.tag !== tags.oid || values?.tag !== tags.set) return "malformed attribute";
    if (decodeOid(contentOf(der, type)) !== extensionRequestOid) continue;
    const [extensions, ...others] = readChildren(der, values) ?? [];
    if (requestSeen || others.length || extensions?.tag !== tags.sequence) return "malformed extensionRequest";
    requestSeen = true;
    for (const extension of readChildren(der, extensions) ?? [null]) {
      const fields = extension?.tag === tags.sequence ? readChildren(der, extension) : null;
      const id = fields?.[0];
      const value = fields?.[fields.length - 1];
      if (!fields || fields.length < 2 || fields.length > 3 || id?.tag !== tags.oid || value?.tag !== tags.octetString) return "malformed extension";
      if (decodeOid(contentOf(der, id)) !== subjectAltNameOid) continue;
      if (sanSeen) return "two subjectAltName extensions";
      sanSeen = true;
      const names = readGeneralNames(contentOf(der, value));
      if (!names) return "malformed subjectAltName";
      uris.push(...names.uris);
      dnsSans.push(...names.dnsNames);
    }
  }
  return { uris, dnsSans };
}

function checkKey(key: PublicKeyDescription, policy: CsrKeyPolicy): Rejection<CsrRejectReason> | null {
  switch (key.kind) {
    case "ecdsa":
      return policy.ecdsaCurves.includes(key.curve) ? null : reject("key-not-allowed", `ECDSA curve ${key.curve} is not allowed (allowed: ${policy.ecdsaCurves.join(", ")})`);
    case "rsa": {
      const range = policy.rsaBits;
      if (!range) return reject("key-not-allowed", "RSA keys are not allowed");
      return key.bits >= range.min && key.bits <= range.max ? null : reject("key-not-allowed", `RSA-${key.bits} is not allowed (allowed: ${range.min}-${range.max} bits)`);
    }
    case "other":
      return reject("key-not-allowed", `keys of algorithm ${key.algorithm} are not allowed`);
  }
}
