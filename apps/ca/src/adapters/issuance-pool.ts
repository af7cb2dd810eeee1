// IssuanceCrypto on worker threads (bench/ca: the CA's main thread, which also runs gRPC/TLS, is
// its bottleneck): token + CSR checks and signing run on `size` workers, least-loaded first. The
// main thread keeps every decision and all state (one-time tokens, rate limits, rotation).
import { Worker } from "node:worker_threads";
import type { SigningCa } from "@meshwork/pki";
import type { TokenVerification } from "@meshwork/workload-identity";
import type { CsrCheck, IssuanceCrypto, SvidIssue, SvidOrder } from "./issuance-crypto.ts";
import type { PoolOperation, PoolResponse, PoolWorkerData } from "./issuance-worker.ts";

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface PoolWorker {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  /** The signer this worker holds (by id). */
  signerId: number | undefined;
}

/**
 * How to start a worker: the compiled `issuance-worker.js` beside this file, or, when running from
 * TypeScript sources (dev, tests, bench), a bootstrap that registers tsx's loader in the worker
 * first (loader flags of the main thread do not reach worker threads).
 */
function workerEntry(): { readonly script: URL | string; readonly eval: boolean; readonly execArgv: string[] } {
  if (!import.meta.url.endsWith(".ts")) return { script: new URL("./issuance-worker.js", import.meta.url), eval: false, execArgv: process.execArgv };
  // Deno runs the TypeScript worker itself, with the main thread's --conditions; tsx's loader
  // does not load there (its eval bootstrap fails on grpc-js's require of package.json).
  if ("Deno" in globalThis) return { script: new URL("./issuance-worker.ts", import.meta.url), eval: false, execArgv: [] };
  const source = new URL("./issuance-worker.ts", import.meta.url).href;
  const execArgv = process.execArgv.some((a) => a.includes("@meshwork/source")) ? process.execArgv : [...process.execArgv, "--conditions=@meshwork/source"];
  const script = `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(source)}); });`;
  return { script, eval: true, execArgv };
}

/** Worker threads doing the CPU-bound steps of issuance. Start with {@link IssuancePool.start}. */
export class IssuancePool implements IssuanceCrypto {
  readonly #workers: PoolWorker[];
  readonly #signerIds = new WeakMap<SigningCa, number>();
  #nextSignerId = 1;
  #nextId = 1;
  #closed = false;

  private constructor(workers: PoolWorker[]) {
    this.#workers = workers;
  }

  /** How many worker threads the pool runs. */
  get size(): number {
    return this.#workers.length;
  }

  /** Starts `size` (≥ 1) workers that verify tokens against the ES256 key `tokenPublicKeyPem` (a PUBLIC KEY PEM). */
  static async start(options: { readonly size: number; readonly tokenPublicKeyPem: string }): Promise<IssuancePool> {
    if (!Number.isSafeInteger(options.size) || options.size < 1) throw new RangeError(`IssuancePool size must be a positive integer, got ${options.size}`);
    const entry = workerEntry();
    const workers = Array.from({ length: options.size }, () => {
      const worker = new Worker(entry.script, { eval: entry.eval, execArgv: entry.execArgv, workerData: { tokenPublicKeyPem: options.tokenPublicKeyPem } satisfies PoolWorkerData });
      const state: PoolWorker = { worker, pending: new Map(), signerId: undefined };
      worker.on("message", (response: PoolResponse) => {
        const pending = state.pending.get(response.id);
        if (!pending) return;
        state.pending.delete(response.id);
        if ("error" in response) pending.reject(new Error(`issuance worker: ${response.error}`));
        else pending.resolve(response.result);
      });
      const fail = (error: Error): void => {
        for (const p of state.pending.values()) p.reject(error);
        state.pending.clear();
      };
      worker.on("error", fail);
      worker.on("exit", (code) => fail(new Error(`issuance worker exited with code ${code}`)));
      return state;
    });
    // Wait until each worker has loaded its code and answers (a failing import surfaces here).
    const pool = new IssuancePool(workers);
    await Promise.all(workers.map((w) => pool.#send(w, { op: "check", workloadToken: "", csrPem: "" })));
    return pool;
  }

  /** The least-loaded worker. */
  #pick(): PoolWorker {
    let best = this.#workers[0] as PoolWorker;
    for (const w of this.#workers) if (w.pending.size < best.pending.size) best = w;
    return best;
  }

  #send(worker: PoolWorker, request: PoolOperation): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error("the issuance pool is closed"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      worker.pending.set(id, { resolve, reject });
      worker.worker.postMessage({ ...request, id });
    });
  }

  async check(workloadToken: string, csrPem: string): Promise<{ readonly token: TokenVerification; readonly csr: CsrCheck }> {
    return (await this.#send(this.#pick(), { op: "check", workloadToken, csrPem })) as { token: TokenVerification; csr: CsrCheck };
  }

  async checkCsr(csrPem: string): Promise<CsrCheck> {
    return (await this.#send(this.#pick(), { op: "csr", csrPem })) as CsrCheck;
  }

  async issue(order: SvidOrder): Promise<SvidIssue> {
    const { issuer, ...rest } = order;
    let signerId = this.#signerIds.get(issuer);
    if (signerId === undefined) this.#signerIds.set(issuer, (signerId = this.#nextSignerId++));
    const worker = this.#pick();
    const fresh = worker.signerId !== signerId;
    worker.signerId = signerId;
    const request: PoolOperation = fresh ? { op: "issue", signerId, signer: issuer, order: rest } : { op: "issue", signerId, order: rest };
    const issued = (await this.#send(worker, request)) as SvidIssue;
    return issued.ok ? { ok: true, svid: { ...issued.svid, chain: [issued.svid.certificate, ...issuer.chain] } } : issued;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }
}
