// Builds the PKCS#10 certificate signing request a workload agent sends to the CA: its public key
// and exactly one URI SAN, the SPIFFE ID it expects (the CA takes the ID from the token anyway).
import { signingAlgorithmFor } from "./key-pair.ts";
import { derToPem } from "./pem.ts";
import { resolveCrypto } from "./resolve-crypto.ts";
import type { SpiffeId } from "./spiffe-id.ts";
import { Pkcs10CertificateRequestGenerator, SubjectAlternativeNameExtension } from "./x509.ts";

/** A CSR in both encodings. */
export interface Csr {
  readonly der: Uint8Array<ArrayBuffer>;
  /** `CERTIFICATE REQUEST` PEM, what `CreateCertificate(csr_pem, ...)` carries (DESIGN.md §3.3). */
  readonly pem: string;
}

/**
 * Signs a CSR with `keys` asking for `spiffeId` as its only URI SAN. The subject is empty, so
 * the SAN extension is critical (RFC 5280 §4.2.1.6, X509-SVID §3.1).
 */
export async function createCsr(options: { readonly keys: CryptoKeyPair; readonly spiffeId: SpiffeId; readonly crypto?: Crypto }): Promise<Csr> {
  const crypto = resolveCrypto(options.crypto);
  const csr = await Pkcs10CertificateRequestGenerator.create(
    {
      keys: options.keys,
      signingAlgorithm: signingAlgorithmFor(options.keys.privateKey),
      extensions: [new SubjectAlternativeNameExtension([{ type: "url", value: options.spiffeId }], true)],
    },
    crypto,
  );
  const der = new Uint8Array(csr.rawData);
  return { der, pem: derToPem(der, "CERTIFICATE REQUEST") };
}
