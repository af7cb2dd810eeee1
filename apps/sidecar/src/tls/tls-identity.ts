// The sidecar's own workload identity for mutual TLS: its X.509-SVID, key and the trust bundles
// peers are checked against, from a certificate directory or from the CA (workload agent). A
// source hands out the current identity and tells listeners when it changes (rotation, new
// bundle); open connections keep the identity they were made with.
import { readCertificate, svidTlsMaterial, trustBundles, type TrustBundles, type TrustDomain } from "@meshwork/pki";
import { nodeCrypto } from "../lazy-builtins.ts";

/** One identity: what node:tls needs (PEM) plus the bundles SPIFFE peer checks read. */
export interface TlsIdentity {
  /** The sidecar's SPIFFE ID (the leaf's URI SAN). */
  readonly spiffeId: string;
  /** Leaf then intermediates (PEM). */
  readonly certPem: string;
  readonly keyPem: string;
  /** Every root of every trust domain (PEM): the `ca` of a TLS context. */
  readonly caPem: string;
  readonly bundles: TrustBundles;
  readonly notAfter: Date;
  readonly serialHex: string;
}

/** Where the identity comes from: `--cert-dir` (watched) or the CA (`--ca-address`). */
export interface IdentitySource {
  /** The identity now; undefined while none could be loaded yet. */
  current(): TlsIdentity | undefined;
  /** Calls `listener` with every new identity; returns the unsubscribe function. */
  onChange(listener: (identity: TlsIdentity) => void): () => void;
  close(): Promise<void> | void;
}

/**
 * Builds a TlsIdentity from an SVID chain (DER, leaf first), its PEM key and root certificates
 * (DER) of `trustDomain`. Returns an error message naming what is wrong instead of throwing.
 */
export function tlsIdentityOf(options: {
  readonly chain: readonly Uint8Array[];
  readonly keyPem: string;
  readonly bundles: TrustBundles;
}): { readonly ok: true; readonly identity: TlsIdentity } | { readonly ok: false; readonly message: string } {
  const first = options.chain[0];
  if (first === undefined) return { ok: false, message: "the certificate chain is empty" };
  const leaf = readCertificate(first);
  if (!leaf.ok) return { ok: false, message: `the leaf certificate cannot be read: ${leaf.detail}` };
  const spiffeId = leaf.cert.uriSans.find((san) => san.startsWith("spiffe://"));
  if (spiffeId === undefined) return { ok: false, message: `the leaf certificate "${leaf.cert.subject}" has no spiffe:// URI SAN: it is not an X.509-SVID` };
  // A key that is not the leaf's (a directory caught between writing cert-chain.pem and key.pem)
  // would make node:tls refuse the whole context; refused here, the last good identity keeps serving.
  const keyMatches = leafKeyMatches(first, options.keyPem);
  if (keyMatches !== true) return { ok: false, message: keyMatches };
  const material = svidTlsMaterial({ chain: options.chain, privateKeyPem: options.keyPem, bundles: options.bundles });
  return {
    ok: true,
    identity: { spiffeId, certPem: material.cert, keyPem: material.key, caPem: material.ca, bundles: options.bundles, notAfter: leaf.cert.notAfter, serialHex: leaf.cert.serialHex },
  };
}

/** true when `keyPem` is the private key of the leaf `leafDer`, else why not. */
function leafKeyMatches(leafDer: Uint8Array, keyPem: string): true | string {
  const crypto = nodeCrypto();
  let key: ReturnType<typeof crypto.createPrivateKey>;
  try {
    key = crypto.createPrivateKey(keyPem);
  } catch (error) {
    return `the private key cannot be read: ${(error as Error).message}`;
  }
  return new crypto.X509Certificate(leafDer).checkPrivateKey(key) ? true : "the private key is not the leaf certificate's key";
}

/** Bundles holding `roots` for `trustDomain` (Istio's root-cert.pem names no trust domain: the mesh's is assumed). */
export function bundlesFor(trustDomain: string, roots: readonly Uint8Array[]): TrustBundles {
  return trustBundles([[trustDomain as TrustDomain, roots]]);
}
