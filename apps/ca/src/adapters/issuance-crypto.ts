// The CPU-bound steps of issuance behind one interface (DESIGN.md §3.3): verifying the workload
// token's signature, parsing and verifying the CSR, and signing the leaf. `inThreadIssuanceCrypto`
// runs them on the caller's thread; `IssuancePool` (issuance-pool.ts) runs them on worker threads,
// so the CA's main thread is left with gRPC/TLS and the attestation decision.
import { issueSvid, parseCsr, type IssuedSvid, type IssueRejectReason, type Rejection, type SigningCa, type SpiffeId, type VerifiedCsr, type CsrRejectReason } from "@meshwork/pki";
import { verifyWorkloadToken, type TokenVerification } from "@meshwork/workload-identity";

/** parseCsr's outcome. */
export type CsrCheck = { readonly ok: true; readonly csr: VerifiedCsr } | Rejection<CsrRejectReason>;
/** issueSvid's outcome. */
export type SvidIssue = { readonly ok: true; readonly svid: IssuedSvid } | Rejection<IssueRejectReason>;

/** What to sign: issueSvid's options without the crypto. */
export interface SvidOrder {
  readonly csr: VerifiedCsr;
  readonly spiffeId: SpiffeId;
  readonly ttlSeconds: number;
  readonly issuer: SigningCa;
  readonly now: Date;
}

/** Token verification, CSR checks and signing for the authority. */
export interface IssuanceCrypto {
  /** The token's signature and format (claims are checked by decideIssue) and the CSR, at once. */
  check(workloadToken: string, csrPem: string): Promise<{ readonly token: TokenVerification; readonly csr: CsrCheck }>;
  /** The CSR alone (for tokens another attestor verifies). */
  checkCsr(csrPem: string): Promise<CsrCheck>;
  issue(order: SvidOrder): Promise<SvidIssue>;
  /** Ends worker threads, if any. */
  close(): Promise<void>;
}

/** The steps on the calling thread, with `crypto` (the CA's node:crypto-backed WebCrypto). */
export function inThreadIssuanceCrypto(tokenPublicKey: CryptoKey, crypto: Crypto): IssuanceCrypto {
  return {
    async check(workloadToken, csrPem) {
      const token = await verifyWorkloadToken(workloadToken, { publicKey: tokenPublicKey, crypto });
      // A bad token refuses the request before the CSR is looked at: skip its signature check.
      const csr: CsrCheck = token.ok ? await parseCsr(csrPem, { crypto }) : { ok: false, reason: "malformed", detail: "not checked: the token was refused" };
      return { token, csr };
    },
    checkCsr: (csrPem) => parseCsr(csrPem, { crypto }),
    issue: (order) => issueSvid({ ...order, crypto }),
    close: () => Promise.resolve(),
  };
}
