// Polls until a condition holds, for tests of real processes and sockets: the timeout is a bound on
// waiting after which the test fails with what it waited for, never a timing assertion.

export interface EventuallyOptions {
  /** How long to keep trying (default 30 s: generous, the machine may be loaded). */
  readonly timeoutMs?: number;
  /** The pause between attempts (default 100 ms). */
  readonly intervalMs?: number;
  /** Appended to the timeout error, e.g. the last log lines of the processes under test. */
  readonly context?: () => string;
}

/**
 * Calls `attempt` until it returns a value other than `undefined` or `false`, and resolves with
 * it. An attempt that throws counts as "not yet"; the last error is named when time runs out.
 * `options` may be a number: the timeout in ms.
 */
export async function eventually<T>(what: string, attempt: () => T | undefined | false | Promise<T | undefined | false>, options: EventuallyOptions | number = {}): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 100, context } = typeof options === "number" ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let failed = false;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
      failed = true;
    }
    if (Date.now() > deadline) {
      const cause = failed ? `: ${last instanceof Error ? last.message : String(last)}` : "";
      const extra = context === undefined ? "" : `\n${context()}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}${extra}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
