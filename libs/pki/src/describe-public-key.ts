// Tells what kind of public key a SubjectPublicKeyInfo holds, so CSRs can be refused by key
// policy and leaves get the key usages that fit their key (X509-SVID §4.3).
import { contentOf, decodeOid, readChildren, readNode, tags } from "./der.ts";
import { reject, type Rejection } from "./reasons.ts";

/** A public key's type and strength. */
export type PublicKeyDescription =
  | { readonly kind: "ecdsa"; readonly curve: string }
  | { readonly kind: "rsa"; readonly bits: number }
  | { readonly kind: "other"; readonly algorithm: string };

const idEcPublicKey = "1.2.840.10045.2.1";
const rsaEncryption = "1.2.840.113549.1.1.1";
/** Named curves (RFC 5480 §2.1.1.1) by OID, under their WebCrypto names. */
const curves: Record<string, string> = { "1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384", "1.3.132.0.35": "P-521" };

/**
 * Describes the key in a SubjectPublicKeyInfo (DER, RFC 5280 §4.1.2.7): ECDSA with its named
 * curve (RFC 5480), RSA with its modulus size in bits (RFC 3279 §2.3.1), or the algorithm OID of
 * anything else. Refused when the bytes are not a SubjectPublicKeyInfo.
 */
export function describePublicKey(spki: Uint8Array): { readonly ok: true; readonly key: PublicKeyDescription } | Rejection<"malformed"> {
  const malformed = reject("malformed", "the public key is not a DER SubjectPublicKeyInfo");
  const root = readNode(spki, 0);
  if (!root || root.tag !== tags.sequence || root.end !== spki.length) return malformed;
  const [algorithm, bits, ...extra] = readChildren(spki, root) ?? [];
  if (!algorithm || algorithm.tag !== tags.sequence || !bits || bits.tag !== tags.bitString || extra.length > 0) return malformed;
  const [algorithmOid, params] = readChildren(spki, algorithm) ?? [];
  const name = algorithmOid?.tag === tags.oid ? decodeOid(contentOf(spki, algorithmOid)) : null;
  const keyBits = contentOf(spki, bits);
  if (!name || keyBits[0] !== 0) return malformed;
  if (name === idEcPublicKey) {
    const curveOid = params?.tag === tags.oid ? decodeOid(contentOf(spki, params)) : null;
    if (!curveOid) return malformed;
    return { ok: true, key: { kind: "ecdsa", curve: curves[curveOid] ?? curveOid } };
  }
  if (name === rsaEncryption) {
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
    const inner = keyBits.subarray(1);
    const seq = readNode(inner, 0);
    const modulus = seq && seq.tag === tags.sequence && seq.end === inner.length ? readChildren(inner, seq)?.[0] : undefined;
    if (!modulus || modulus.tag !== tags.integer) return malformed;
    let n = contentOf(inner, modulus);
    while (n.length > 1 && n[0] === 0) n = n.subarray(1);
    const top = n[0] ?? 0;
    return { ok: true, key: { kind: "rsa", bits: (n.length - 1) * 8 + (top === 0 ? 0 : Math.floor(Math.log2(top)) + 1) } };
  }
  return { ok: true, key: { kind: "other", algorithm: name } };
}
