// Key pairs for workloads and CAs: ECDSA P-256 by default (DESIGN.md §3.3), RSA for interop;
// generated and imported through WebCrypto, exported as PKCS#8 PEM for node:tls and grpc-js.
import { derToPem } from "./pem.ts";
import { resolveCrypto } from "./resolve-crypto.ts";

/** The key types this lib generates and signs with. */
export type KeyAlgorithmName = "ecdsa-p256" | "ecdsa-p384" | "rsa-2048" | "rsa-3072" | "rsa-4096";

/** WebCrypto parameters to generate or import a key of `name` for signing. */
export function webCryptoKeyParams(name: KeyAlgorithmName): EcKeyImportParams | RsaHashedImportParams {
  switch (name) {
    case "ecdsa-p256":
      return { name: "ECDSA", namedCurve: "P-256" };
    case "ecdsa-p384":
      return { name: "ECDSA", namedCurve: "P-384" };
    case "rsa-2048":
    case "rsa-3072":
    case "rsa-4096":
      return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  }
}

/**
 * The signature algorithm a private key signs certificates and CSRs with: ECDSA with the hash
 * matching its curve (SHA-256 for P-256, SHA-384 for P-384), RSA PKCS#1 v1.5 with its own hash.
 */
export function signingAlgorithmFor(key: CryptoKey): Algorithm | EcdsaParams {
  const algorithm = key.algorithm as EcKeyAlgorithm | RsaHashedKeyAlgorithm;
  if (algorithm.name === "ECDSA") {
    return { name: "ECDSA", hash: (algorithm as EcKeyAlgorithm).namedCurve === "P-384" ? "SHA-384" : "SHA-256" };
  }
  return { name: algorithm.name };
}

/**
 * Generates a key pair (default ECDSA P-256) for signing. `extractable` (default true) lets the
 * private key be exported as PKCS#8, which node:tls and grpc-js need as PEM; a CA that persists
 * its key needs it too.
 */
export async function generateKeyPair(
  algorithm: KeyAlgorithmName = "ecdsa-p256",
  options: { readonly crypto?: Crypto; readonly extractable?: boolean } = {},
): Promise<CryptoKeyPair> {
  const crypto = resolveCrypto(options.crypto);
  const extractable = options.extractable ?? true;
  const usages: KeyUsage[] = ["sign", "verify"];
  if (algorithm.startsWith("rsa-")) {
    const modulusLength = Number(algorithm.slice("rsa-".length));
    const params: RsaHashedKeyGenParams = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", modulusLength, publicExponent: new Uint8Array([1, 0, 1]) };
    return crypto.subtle.generateKey(params, extractable, usages);
  }
  return crypto.subtle.generateKey(webCryptoKeyParams(algorithm) as EcKeyGenParams, extractable, usages);
}

/** The private key as PKCS#8 DER. The key must be extractable. */
export async function exportPrivateKeyDer(key: CryptoKey, crypto?: Crypto): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await resolveCrypto(crypto).subtle.exportKey("pkcs8", key));
}

/** The private key as a PKCS#8 `PRIVATE KEY` PEM block (the `key` of `tls.createSecureContext`). */
export async function exportPrivateKeyPem(key: CryptoKey, crypto?: Crypto): Promise<string> {
  return derToPem(await exportPrivateKeyDer(key, crypto), "PRIVATE KEY");
}

/** The public key as SubjectPublicKeyInfo DER. */
export async function exportPublicKeyDer(key: CryptoKey, crypto?: Crypto): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await resolveCrypto(crypto).subtle.exportKey("spki", key));
}

/**
 * Imports a PKCS#8 private key of the given type for signing (e.g. a CA key loaded from a file).
 * Rejects (throws) when the bytes are not such a key: callers load keys at the edge and report it.
 */
export async function importPrivateKey(
  pkcs8: Uint8Array<ArrayBuffer>,
  algorithm: KeyAlgorithmName,
  options: { readonly crypto?: Crypto; readonly extractable?: boolean } = {},
): Promise<CryptoKey> {
  return resolveCrypto(options.crypto).subtle.importKey("pkcs8", pkcs8, webCryptoKeyParams(algorithm), options.extractable ?? true, ["sign"]);
}
