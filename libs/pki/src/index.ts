// @meshwork/pki: SPIFFE workload identity without I/O (DESIGN.md §3.3). SPIFFE IDs, keys and
// CSRs, CA certificates and X.509-SVIDs, trust bundles, the verification a peer applies, and the
// node:tls / grpc-js hooks. Crypto is WebCrypto (passed in or globalThis.crypto); time is an input.
// @peculiar/x509 needs reflect-metadata loaded before it: keep this import first.
import "reflect-metadata";

export type { SvidAccepted, SvidVerification } from "./check-svid-leaf.ts";
export { checkSvidLeaf } from "./check-svid-leaf.ts";
export type { CaOptions } from "./create-ca.ts";
export { createIntermediateCa, createRootCa, defaultRootPathLength } from "./create-ca.ts";
export type { Csr } from "./create-csr.ts";
export { createCsr } from "./create-csr.ts";
export type { PublicKeyDescription } from "./describe-public-key.ts";
export { describePublicKey } from "./describe-public-key.ts";
export type { IssuedSvid, SvidSubjectKey } from "./issue-svid.ts";
export { defaultBackdateSeconds, issueSvid } from "./issue-svid.ts";
export type { KeyAlgorithmName } from "./key-pair.ts";
export { exportPrivateKeyDer, exportPrivateKeyPem, exportPublicKeyDer, generateKeyPair, importPrivateKey } from "./key-pair.ts";
export type { CsrKeyPolicy, VerifiedCsr } from "./parse-csr.ts";
export { defaultCsrKeyPolicy, parseCsr } from "./parse-csr.ts";
export type { AllowedIds, PeerCertificateLike } from "./peer-certificate.ts";
export { checkPeerCertificate, peerCertificateChain } from "./peer-certificate.ts";
export type { PemBlock } from "./pem.ts";
export { certificatesToPem, decodeBase64, derToPem, encodeBase64, pemToDer, splitPem } from "./pem.ts";
export type { CertificateFacts, KeyUsageName } from "./read-certificate.ts";
export { ekuOids, readCertificate } from "./read-certificate.ts";
export type { CsrRejectReason, IssueRejectReason, Rejection, SpiffeIdErrorReason, SvidRejectReason } from "./reasons.ts";
export type { SigningCa } from "./signing-ca.ts";
export { loadSigningCa } from "./signing-ca.ts";
export type { ParsedSpiffeId, ParsedWorkloadId, SpiffeId, SpiffeIdResult, TrustDomain } from "./spiffe-id.ts";
export {
  formatSpiffeId,
  isSpiffeId,
  parseSpiffeId,
  parseTrustDomain,
  parseWorkloadId,
  trustDomainId,
  trustDomainOf,
  workloadId,
} from "./spiffe-id.ts";
export { spiffeServerIdentityCheck, SvidRejectedError } from "./spiffe-server-identity-check.ts";
export type { SvidTbsFields } from "./svid-tbs.ts";
export { svidTbs, SvidTemplate } from "./svid-tbs.ts";
export type { SvidTlsMaterial } from "./svid-tls-material.ts";
export { svidTlsMaterial } from "./svid-tls-material.ts";
export type { TrustBundles } from "./trust-bundles.ts";
export { addRoot, allRoots, bundlesToCaPem, removeRoot, rootsOf, trustBundles } from "./trust-bundles.ts";
export { verifyClientChain } from "./verify-client-chain.ts";
export { defaultMaxChainLength, verifySvid } from "./verify-svid.ts";
