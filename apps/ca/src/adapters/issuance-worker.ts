// A worker thread of IssuancePool (issuance-pool.ts): verifies tokens and CSRs and signs leaves
// with node:crypto, for the CA's main thread. Messages: `check` and `issue` requests by id; the
// signing CA is sent once per worker (a CryptoKey is structured-cloneable) and then named by id.
import { parentPort, workerData } from "node:worker_threads";
import { pemToDer, type SigningCa } from "@meshwork/pki";
import { inThreadIssuanceCrypto, type SvidOrder } from "./issuance-crypto.ts";
import { nodeCrypto } from "./node-crypto.ts";

/** Main thread → worker (without the request id). */
export type PoolOperation =
  | { readonly op: "check"; readonly workloadToken: string; readonly csrPem: string }
  | { readonly op: "csr"; readonly csrPem: string }
  | { readonly op: "issue"; readonly signerId: number; readonly signer?: SigningCa; readonly order: Omit<SvidOrder, "issuer"> };

/** Main thread → worker. */
export type PoolRequest = PoolOperation & { readonly id: number };

/** Worker → main thread: the result, or an error message for an exception. */
export type PoolResponse = { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: string };

/** What the worker starts with: the token issuer's public key file content, PEM (the main thread's key handle is not cloneable). */
export interface PoolWorkerData {
  readonly tokenPublicKeyPem: string;
}

const port = parentPort;
if (port) {
  const { tokenPublicKeyPem } = workerData as PoolWorkerData;
  const crypto = nodeCrypto();
  const spki = pemToDer(tokenPublicKeyPem, "PUBLIC KEY");
  if (!spki.ok) throw new Error(`the token issuer's public key: ${spki.detail}`);
  const tokenPublicKey = await crypto.subtle.importKey("spki", spki.der.slice(), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const steps = inThreadIssuanceCrypto(tokenPublicKey, crypto);
  const signers = new Map<number, SigningCa>();
  port.on("message", (request: PoolRequest) => {
    const run = async (): Promise<unknown> => {
      if (request.op === "check") return steps.check(request.workloadToken, request.csrPem);
      if (request.op === "csr") return steps.checkCsr(request.csrPem);
      if (request.signer) {
        signers.set(request.signerId, request.signer);
        // Signers only change on rotation: keep the last few, for requests still in flight.
        for (const id of signers.keys()) if (signers.size > 4) signers.delete(id);
      }
      const issuer = signers.get(request.signerId);
      if (!issuer) throw new Error(`signing CA #${request.signerId} was never sent to this worker`);
      const issued = await steps.issue({ ...request.order, issuer });
      // The issuer chain stays on the main thread (it re-adds it): send only what is new.
      return issued.ok ? { ok: true, svid: { ...issued.svid, chain: [] } } : issued;
    };
    run().then(
      (result) => port.postMessage({ id: request.id, result } satisfies PoolResponse),
      (error: unknown) => port.postMessage({ id: request.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies PoolResponse),
    );
  });
}
