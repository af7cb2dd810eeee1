// Concurrent KV clients for fault tests: several async workers issue GET ?consistent, PUT and
// read-then-PUT ?cas on a few keys through the HTTP API of any node, and record every operation
// with its invoke and complete times (one monotonic clock) for the linearizability checker.
// A request that was refused before it reached a server (ECONNREFUSED) is left out; any other
// failure (timeout, reset, 5xx, redirect) is recorded as pending: it may or may not have
// happened. The worker then moves to another node.
import type { KvInput, KvOperation, KvOutput, SeededRandom } from "@meshwork/testing";

export interface KvWorkloadOptions {
  /** Node id → base URL (`http://host:port`); asked at every operation, so it may change. */
  readonly endpoints: () => ReadonlyMap<string, string>;
  readonly keys: readonly string[];
  readonly workers: number;
  readonly random: SeededRandom;
  /** Per-request timeout (default 2000 ms). */
  readonly requestTimeoutMs?: number;
  /** Key prefix in the KV (default "fault/"). */
  readonly prefix?: string;
}

/** One recorded operation plus where it was sent. */
export interface RecordedOperation extends KvOperation {
  readonly node: string;
  /** HTTP status, or the network error code; "" while running. */
  readonly outcome: string;
}

export interface WorkloadStats {
  acknowledgedWrites: number;
  refusedCas: number;
  reads: number;
  pending: number;
  refusedConnections: number;
}

type Attempt = { readonly kind: "done"; readonly status: number; readonly body: string } | { readonly kind: "refused"; readonly code: string } | { readonly kind: "unknown"; readonly code: string };

const now = () => performance.now();

/** Sends one request; never throws. */
export async function attempt(url: string, init: { method: string; body?: string }, timeoutMs: number): Promise<Attempt> {
  try {
    const response = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    return { kind: "done", status: response.status, body: await response.text() };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    const code = cause?.code ?? (error instanceof Error ? error.name : String(error));
    return code === "ECONNREFUSED" ? { kind: "refused", code } : { kind: "unknown", code };
  }
}

export class KvWorkload {
  readonly history: RecordedOperation[] = [];
  readonly stats: WorkloadStats = { acknowledgedWrites: 0, refusedCas: 0, reads: 0, pending: 0, refusedConnections: 0 };
  private readonly options: KvWorkloadOptions;
  private running = false;
  private loops: Promise<void>[] = [];
  private sequence = 0;

  constructor(options: KvWorkloadOptions) {
    this.options = options;
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.options.workers }, (_, w) => this.worker(`c${w}`, this.options.random.fork()));
  }

  /** Stops the workers after their current operation and returns the history. */
  async stop(): Promise<RecordedOperation[]> {
    this.running = false;
    await Promise.all(this.loops);
    return this.history;
  }

  /** Acknowledged writes completed in [from, to) (times from performance.now()). */
  acknowledgedBetween(from: number, to: number): number {
    return this.history.filter((op) => op.input.op !== "get" && op.return !== undefined && op.return >= from && op.return < to && (op.input.op === "put" || op.output?.ok === true)).length;
  }

  private fullKey(key: string): string {
    return `${this.options.prefix ?? "fault/"}${key}`;
  }

  /** A consistent read of `key` through `node`; records it. Returns the value and ModifyIndex when it completed. */
  async read(clientId: string, node: string, key: string): Promise<{ value: string | null; modifyIndex: number } | undefined> {
    const base = this.options.endpoints().get(node);
    if (base === undefined) return undefined;
    const call = now();
    const answer = await attempt(`${base}/v1/kv/${this.fullKey(key)}?consistent`, { method: "GET" }, this.options.requestTimeoutMs ?? 2000);
    const input: KvInput = { op: "get", key };
    if (answer.kind === "done" && (answer.status === 200 || answer.status === 404)) {
      const entries = answer.status === 200 ? (JSON.parse(answer.body) as { Value: string | null; ModifyIndex: number }[]) : [];
      const entry = entries[0];
      const value = entry === undefined ? null : Buffer.from(entry.Value ?? "", "base64").toString("utf8");
      this.record({ clientId, node, input, call, return: now(), output: { value }, outcome: String(answer.status) });
      this.stats.reads++;
      return { value, modifyIndex: entry?.ModifyIndex ?? 0 };
    }
    if (answer.kind === "refused") this.stats.refusedConnections++;
    // A failed read changes nothing: the checker drops pending reads.
    else this.record({ clientId, node, input, call, return: undefined, outcome: answer.kind === "done" ? String(answer.status) : answer.code });
    return undefined;
  }

  /** A PUT of `value` (with `?cas=` when `cas` is given, expecting `expected`) through `node`; records it. True when acknowledged. */
  async write(clientId: string, node: string, key: string, value: string, cas?: { readonly modifyIndex: number; readonly expected: string | null }): Promise<"ok" | "refused" | "unknown"> {
    const base = this.options.endpoints().get(node);
    if (base === undefined) return "refused";
    const input: KvInput = cas === undefined ? { op: "put", key, value } : { op: "cas", key, expected: cas.expected, value };
    const query = cas === undefined ? "" : `?cas=${cas.modifyIndex}`;
    const call = now();
    const answer = await attempt(`${base}/v1/kv/${this.fullKey(key)}${query}`, { method: "PUT", body: value }, this.options.requestTimeoutMs ?? 2000);
    if (answer.kind === "refused") {
      this.stats.refusedConnections++;
      return "refused";
    }
    if (answer.kind === "done" && answer.status === 200 && (answer.body.trim() === "true" || answer.body.trim() === "false")) {
      const ok = answer.body.trim() === "true";
      const output: KvOutput = cas === undefined ? {} : { ok };
      this.record({ clientId, node, input, call, return: now(), output, outcome: "200" });
      if (ok) this.stats.acknowledgedWrites++;
      else this.stats.refusedCas++;
      return ok ? "ok" : "refused";
    }
    this.record({ clientId, node, input, call, return: undefined, outcome: answer.kind === "done" ? `${answer.status} ${answer.body.slice(0, 80)}` : answer.code });
    this.stats.pending++;
    return "unknown";
  }

  private record(operation: RecordedOperation): void {
    this.history.push(operation);
  }

  private async worker(clientId: string, random: SeededRandom): Promise<void> {
    let node = random.pick([...this.options.endpoints().keys()]);
    while (this.running) {
      const key = random.pick(this.options.keys);
      const value = `${clientId}-${++this.sequence}`;
      const roll = random.next();
      let failed = false;
      if (roll < 0.35) {
        failed = (await this.read(clientId, node, key)) === undefined;
      } else if (roll < 0.55) {
        failed = (await this.write(clientId, node, key, value)) === "unknown";
      } else {
        const current = await this.read(clientId, node, key);
        if (current === undefined) failed = true;
        else failed = (await this.write(clientId, node, key, value, { modifyIndex: current.modifyIndex, expected: current.value })) === "unknown";
      }
      if (failed) {
        // Retry elsewhere: another node, after a pause so a down cluster does not pile up pending writes.
        const others = [...this.options.endpoints().keys()].filter((id) => id !== node);
        if (others.length > 0) node = random.pick(others);
        await new Promise((resolve) => setTimeout(resolve, 100 + random.int(0, 100)));
      } else if (random.next() < 0.1) {
        node = random.pick([...this.options.endpoints().keys()]);
      }
    }
  }
}
