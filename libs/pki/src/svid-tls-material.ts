// Turns an SVID, its key and the trust bundles into the PEM strings node:tls
// (`tls.createSecureContext({ cert, key, ca })`) and grpc-js (`credentials.createSsl`,
// `ServerCredentials.createSsl`, as Buffers) take.
import { equalBytes } from "./equal-bytes.ts";
import { certificatesToPem } from "./pem.ts";
import { readCertificate } from "./read-certificate.ts";
import { bundlesToCaPem, type TrustBundles } from "./trust-bundles.ts";

/** PEM inputs of a TLS context. */
export interface SvidTlsMaterial {
  /** Leaf then intermediates; the self-signed root is left out (peers have it in their `ca`). */
  readonly cert: string;
  /** PKCS#8 private key. */
  readonly key: string;
  /** Every root of every trust domain in the bundles. */
  readonly ca: string;
}

/** Builds {@link SvidTlsMaterial} from an SVID chain (leaf first, DER), its PEM key and the bundles. */
export function svidTlsMaterial(options: { readonly chain: readonly Uint8Array[]; readonly privateKeyPem: string; readonly bundles: TrustBundles }): SvidTlsMaterial {
  const chain = [...options.chain];
  const last = chain.length > 1 ? readCertificate(chain[chain.length - 1] as Uint8Array) : undefined;
  if (last?.ok && equalBytes(last.cert.subjectDer, last.cert.issuerDer)) chain.pop();
  return { cert: certificatesToPem(chain), key: options.privateKeyPem, ca: bundlesToCaPem(options.bundles) };
}
