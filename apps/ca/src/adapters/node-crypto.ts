// A WebCrypto `Crypto` whose signing and hashing go through node:crypto synchronously (the rest is
// the platform's WebCrypto): WebCrypto's async job dispatch costs more than the P-256 signature
// itself, and issuance is the CA's hot path (bench/ca: ~2× the leaves per second).
import { createHash, createPublicKey, KeyObject, sign as nodeSign, verify as nodeVerify, webcrypto, type JsonWebKey as NodeJsonWebKey } from "node:crypto";

function asBytes(data: BufferSource): Uint8Array {
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function hashName(algorithm: AlgorithmIdentifier | EcdsaParams, key: CryptoKey): string {
  const fromParams = typeof algorithm === "object" && "hash" in algorithm ? algorithm.hash : undefined;
  const fromKey = (key.algorithm as RsaHashedKeyAlgorithm).hash as KeyAlgorithm | undefined;
  const hash = fromParams ?? fromKey ?? "SHA-256";
  return (typeof hash === "string" ? hash : hash.name).replace("-", "").toLowerCase();
}

/** WebCrypto curve names → node:crypto's. */
const nodeCurveNames: Readonly<Record<string, string>> = { "P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1" };

/** The DER of an SPKI header for an uncompressed P-256 point (RFC 5480 §2): id-ecPublicKey, prime256v1, BIT STRING of 66 bytes. */
const p256SpkiPrefix = Uint8Array.from([0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04]);

/**
 * The JWK of an SPKI that is exactly an uncompressed P-256 point, or undefined for any other
 * shape (which then goes through the DER decoder). node:crypto still checks the point is on the curve.
 */
export function p256PublicJwk(spki: Uint8Array): NodeJsonWebKey | undefined {
  if (spki.length !== p256SpkiPrefix.length + 64) return undefined;
  for (let i = 0; i < p256SpkiPrefix.length; i++) if (spki[i] !== p256SpkiPrefix[i]) return undefined;
  const point = Buffer.from(spki.buffer, spki.byteOffset + p256SpkiPrefix.length, 64);
  return { kty: "EC", crv: "P-256", x: point.subarray(0, 32).toString("base64url"), y: point.subarray(32).toString("base64url") };
}

/**
 * Returns a Crypto backed by node:crypto for ECDSA/RSA sign and verify and SHA digests. Public
 * keys imported as `spki` for `verify` only (CSR and token checks: one import per request) are
 * node KeyObjects behind a minimal CryptoKey-shaped handle that only this Crypto's `verify` accepts.
 */
export function nodeCrypto(): Crypto {
  const keyObjects = new WeakMap<CryptoKey, KeyObject>();
  const base = webcrypto as unknown as Crypto;
  const keyObjectOf = (key: CryptoKey): KeyObject => {
    let keyObject = keyObjects.get(key);
    if (!keyObject) keyObjects.set(key, (keyObject = KeyObject.from(key as webcrypto.CryptoKey)));
    return keyObject;
  };
  // Node's SubtleCrypto methods insist on `this` being the real instance: delegate bound methods.
  const names = ["decrypt", "deriveBits", "deriveKey", "digest", "encrypt", "exportKey", "generateKey", "importKey", "sign", "unwrapKey", "verify", "wrapKey"] as const;
  const subtle = Object.fromEntries(names.map((m) => [m, base.subtle[m].bind(base.subtle)])) as unknown as SubtleCrypto;
  const supported = (key: CryptoKey): boolean => key.algorithm.name === "ECDSA" || key.algorithm.name === "RSASSA-PKCS1-v1_5";
  const webSign = subtle.sign;
  subtle.sign = async (algorithm, key, data) => {
    if (!supported(key)) return webSign(algorithm, key, data);
    const dsaEncoding = key.algorithm.name === "ECDSA" ? "ieee-p1363" : undefined;
    return toArrayBuffer(nodeSign(hashName(algorithm, key), asBytes(data), { key: keyObjectOf(key), ...(dsaEncoding ? { dsaEncoding } : {}) }));
  };
  const webImportKey = subtle.importKey;
  subtle.importKey = (async (format: KeyFormat, keyData: BufferSource | JsonWebKey, algorithm: AlgorithmIdentifier | EcKeyImportParams | RsaHashedImportParams, extractable: boolean, usages: KeyUsage[]) => {
    const name = typeof algorithm === "string" ? algorithm : algorithm.name;
    if (format !== "spki" || usages.length !== 1 || usages[0] !== "verify" || (name !== "ECDSA" && name !== "RSASSA-PKCS1-v1_5")) {
      return webImportKey(format as "raw", keyData as BufferSource, algorithm, extractable, usages);
    }
    const curve = typeof algorithm === "object" && "namedCurve" in algorithm ? algorithm.namedCurve : undefined;
    const spki = asBytes(keyData as BufferSource);
    const p256 = name === "ECDSA" && curve === "P-256" ? p256PublicJwk(spki) : undefined;
    // A P-256 key (every CSR in the mesh) skips OpenSSL's DER decoder: bench/ca measured the
    // SPKI import at ~2× the JWK import, and more than the signature check itself.
    const keyObject = p256 ? createPublicKey({ key: p256, format: "jwk" }) : createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
    const expected = name === "ECDSA" ? "ec" : "rsa";
    if (keyObject.asymmetricKeyType !== expected) throw new DOMException(`the key is not a ${name} key`, "DataError");
    if (!p256 && curve !== undefined && nodeCurveNames[curve] !== keyObject.asymmetricKeyDetails?.namedCurve) throw new DOMException(`the key is not on curve ${curve}`, "DataError");
    const keyAlgorithm = typeof algorithm === "string" ? { name } : { ...algorithm };
    const handle = Object.freeze({ type: "public", extractable: false, algorithm: keyAlgorithm, usages: ["verify"] }) as unknown as CryptoKey;
    keyObjects.set(handle, keyObject);
    return handle;
  }) as SubtleCrypto["importKey"];
  const webVerify = subtle.verify;
  subtle.verify = async (algorithm, key, signature, data) => {
    if (!supported(key)) return webVerify(algorithm, key, signature, data);
    const dsaEncoding = key.algorithm.name === "ECDSA" ? "ieee-p1363" : undefined;
    return nodeVerify(hashName(algorithm, key), asBytes(data), { key: keyObjectOf(key), ...(dsaEncoding ? { dsaEncoding } : {}) }, asBytes(signature));
  };
  const webDigest = subtle.digest;
  subtle.digest = async (algorithm, data) => {
    const name = typeof algorithm === "string" ? algorithm : algorithm.name;
    if (!/^SHA-(1|256|384|512)$/.test(name)) return webDigest(algorithm, data);
    return toArrayBuffer(createHash(name.replace("-", "").toLowerCase()).update(asBytes(data)).digest());
  };
  return { subtle, getRandomValues: base.getRandomValues.bind(base), randomUUID: base.randomUUID.bind(base) } as Crypto;
}
