// Checks a signature made over DER data (a certificate's or a CSR's to-be-signed part) with the
// signer's SubjectPublicKeyInfo, through WebCrypto. Algorithms: ECDSA with SHA-2 (RFC 5758 §3.2)
// and RSA PKCS#1 v1.5 with SHA-2 (RFC 4055 §5); anything else does not verify.
import { contentOf, readChildren, readNode, tags } from "./der.ts";
import type { PublicKeyDescription } from "./describe-public-key.ts";

/** Signature algorithm OIDs this lib checks, as key kind + WebCrypto hash. */
const signatureAlgorithms: Record<string, { readonly kind: "ecdsa" | "rsa"; readonly hash: string }> = {
  "1.2.840.10045.4.3.2": { kind: "ecdsa", hash: "SHA-256" },
  "1.2.840.10045.4.3.3": { kind: "ecdsa", hash: "SHA-384" },
  "1.2.840.10045.4.3.4": { kind: "ecdsa", hash: "SHA-512" },
  "1.2.840.113549.1.1.11": { kind: "rsa", hash: "SHA-256" },
  "1.2.840.113549.1.1.12": { kind: "rsa", hash: "SHA-384" },
  "1.2.840.113549.1.1.13": { kind: "rsa", hash: "SHA-512" },
};

/** Bytes of r and of s in an ECDSA signature, by curve. */
const ecdsaHalfBytes: Record<string, number> = { "P-256": 32, "P-384": 48, "P-521": 66 };

/**
 * True when `signature` (as carried in X.509 / PKCS#10: DER Ecdsa-Sig-Value for ECDSA, raw for
 * RSA) over `data` verifies with `spki` under `algorithmOid`. A mismatched key type, unknown
 * algorithm, malformed signature or unusable key is `false`, never an exception.
 */
export async function verifySignature(
  params: { readonly spki: Uint8Array; readonly key: PublicKeyDescription; readonly algorithmOid: string; readonly signature: Uint8Array; readonly data: Uint8Array },
  crypto: Crypto,
): Promise<boolean> {
  const algorithm = signatureAlgorithms[params.algorithmOid];
  const { key } = params;
  if (!algorithm || algorithm.kind !== key.kind) return false;
  try {
    if (key.kind === "ecdsa") {
      const size = ecdsaHalfBytes[key.curve];
      const raw = size === undefined ? null : ecdsaSignatureToRaw(params.signature, size);
      if (!raw) return false;
      const publicKey = await crypto.subtle.importKey("spki", params.spki.slice(), { name: "ECDSA", namedCurve: key.curve }, false, ["verify"]);
      return await crypto.subtle.verify({ name: "ECDSA", hash: algorithm.hash }, publicKey, raw, params.data.slice());
    }
    const publicKey = await crypto.subtle.importKey("spki", params.spki.slice(), { name: "RSASSA-PKCS1-v1_5", hash: algorithm.hash }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "RSASSA-PKCS1-v1_5" }, publicKey, params.signature.slice(), params.data.slice());
  } catch {
    return false;
  }
}

/** Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } → r || s, each left-padded to `size` bytes. */
function ecdsaSignatureToRaw(der: Uint8Array, size: number): Uint8Array<ArrayBuffer> | null {
  const seq = readNode(der, 0);
  if (!seq || seq.tag !== tags.sequence || seq.end !== der.length) return null;
  const [r, s, ...extra] = readChildren(der, seq) ?? [];
  if (r?.tag !== tags.integer || s?.tag !== tags.integer || extra.length) return null;
  const out = new Uint8Array(size * 2);
  for (const [i, node] of [r, s].entries()) {
    let value = contentOf(der, node);
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    if (value.length > size) return null;
    out.set(value, (i + 1) * size - value.length);
  }
  return out;
}
