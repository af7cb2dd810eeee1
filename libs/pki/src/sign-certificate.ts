// Assembles and signs DER certificates from their parts (RFC 5280 §4.1): the signature
// algorithm a key implies, extensions, key identifiers, and the final signed structure.
import { bitString, concatBytes, contentOf, oid, readChildren, readNode, sequence, tags, tlv, unsignedInteger } from "./der.ts";
import { signingAlgorithmFor } from "./key-pair.ts";

const booleanTrue = new Uint8Array([tags.boolean, 1, 0xff]);

/** An Extension (RFC 5280 §4.1): its OID, `critical` only when true (DER omits defaults), its DER value. */
export function extensionDer(extensionOid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? sequence(oid(extensionOid), booleanTrue, tlv(tags.octetString, value)) : sequence(oid(extensionOid), tlv(tags.octetString, value));
}

/** The hash a key signs with, as a WebCrypto name. */
function hashOf(key: CryptoKey): string {
  const algorithm = signingAlgorithmFor(key) as EcdsaParams;
  if (algorithm.name === "ECDSA") return String(algorithm.hash);
  return (key.algorithm as RsaHashedKeyAlgorithm).hash.name;
}

const ecdsaOids: Record<string, string> = { "SHA-256": "1.2.840.10045.4.3.2", "SHA-384": "1.2.840.10045.4.3.3", "SHA-512": "1.2.840.10045.4.3.4" };
const rsaOids: Record<string, string> = { "SHA-256": "1.2.840.113549.1.1.11", "SHA-384": "1.2.840.113549.1.1.12", "SHA-512": "1.2.840.113549.1.1.13" };

/**
 * The AlgorithmIdentifier of the signatures `key` makes: ecdsa-with-SHA256/384 (no parameters,
 * RFC 5758 §3.2) or sha*WithRSAEncryption (NULL parameters, RFC 4055 §5).
 */
export function signatureAlgorithmDer(key: CryptoKey): Uint8Array {
  const hash = hashOf(key);
  if (key.algorithm.name === "ECDSA") return sequence(oid(ecdsaOids[hash] as string));
  if (key.algorithm.name === "RSASSA-PKCS1-v1_5") return sequence(oid(rsaOids[hash] as string), tlv(tags.null, new Uint8Array(0)));
  throw new Error(`cannot sign certificates with a ${key.algorithm.name} key`);
}

/** Signs `tbs` with `key` and returns the Certificate DER: SEQUENCE { tbs, algorithm, BIT STRING signature }. */
export async function signCertificate(tbs: Uint8Array<ArrayBuffer>, algorithmDer: Uint8Array, key: CryptoKey, crypto: Crypto): Promise<Uint8Array<ArrayBuffer>> {
  const raw = new Uint8Array(await crypto.subtle.sign(signingAlgorithmFor(key), key, tbs));
  let signature: Uint8Array = raw;
  if (key.algorithm.name === "ECDSA") {
    // WebCrypto gives r || s; X.509 carries Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 5758 §3.2).
    const half = raw.length / 2;
    signature = sequence(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
  }
  return sequence(tbs, algorithmDer, bitString(signature));
}

/** The subjectPublicKey bits of a SubjectPublicKeyInfo (DER), or `null` when it is not one. */
export function subjectPublicKeyBits(spki: Uint8Array): Uint8Array | null {
  const root = readNode(spki, 0);
  if (!root || root.tag !== tags.sequence || root.end !== spki.length) return null;
  const children = readChildren(spki, root);
  const bits = children?.[1];
  if (!children || children.length !== 2 || children[0]?.tag !== tags.sequence || bits?.tag !== tags.bitString) return null;
  const content = contentOf(spki, bits);
  if (content.length < 2 || content[0] !== 0) return null;
  return content.subarray(1);
}

/** Key identifier method 1 of RFC 5280 §4.2.1.2: SHA-1 of the subjectPublicKey bits. */
export async function keyIdentifierOf(spki: Uint8Array, crypto: Crypto): Promise<Uint8Array<ArrayBuffer>> {
  const bits = subjectPublicKeyBits(spki);
  if (!bits) throw new Error("not a SubjectPublicKeyInfo");
  return new Uint8Array(await crypto.subtle.digest("SHA-1", concatBytes([bits])));
}
