// The mesh token issuer's key files in the CA's data dir: their names, and reading the private key
// (PKCS#8 PEM, ECDSA P-256) that signs workload tokens, as apps/ca writes it on first start.
import { pemToDer } from "@meshwork/pki";

/**
 * File names of the token issuer's key pair inside the CA's data dir (`--data-dir` of apps/ca,
 * `--ca-data-dir` of `meshctl token issue`). The private key is mode 0600, the public key 0644.
 */
export const tokenIssuerFiles = {
  privateKey: "token-issuer-key.pem",
  publicKey: "token-issuer.pub.pem",
} as const;

/** Outcome of {@link importTokenIssuerKey}; `detail` says what is wrong with the text. */
export type TokenIssuerKeyResult = { readonly ok: true; readonly privateKey: CryptoKey } | { readonly ok: false; readonly detail: string };

/**
 * Imports the text of `token-issuer-key.pem` (a PKCS#8 "PRIVATE KEY" PEM block holding an ECDSA
 * P-256 key) as a non-extractable ES256 signing key. Untrusted text never throws.
 */
export async function importTokenIssuerKey(pem: string, crypto: Crypto): Promise<TokenIssuerKeyResult> {
  const der = pemToDer(pem, "PRIVATE KEY");
  if (!der.ok) return { ok: false, detail: `not a PKCS#8 PEM private key (${der.detail})` };
  try {
    const privateKey = await crypto.subtle.importKey("pkcs8", der.der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    return { ok: true, privateKey };
  } catch (error) {
    return { ok: false, detail: `not an ECDSA P-256 private key (${error instanceof Error ? error.message : String(error)})` };
  }
}
