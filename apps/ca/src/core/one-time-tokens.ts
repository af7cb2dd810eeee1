// Remembers one-time bootstrap tokens (`jti`) that were spent, until they expire: after that the
// token is refused as expired anyway, so the entry can go. Time is an input.

/** Spent token ids with their expiry. */
export class OneTimeTokens {
  readonly #spent = new Map<string, number>();

  /** True when `jti` was spent and has not expired by `nowMs`. */
  isSpent(jti: string, nowMs: number): boolean {
    const expMs = this.#spent.get(jti);
    return expMs !== undefined && expMs > nowMs;
  }

  /** Records `jti` as spent until `expMs` (plus any skew leeway the caller adds); prunes expired entries. */
  spend(jti: string, expMs: number, nowMs: number): void {
    this.#spent.set(jti, expMs);
    if (this.#spent.size % 1024 === 0) for (const [key, exp] of this.#spent) if (exp <= nowMs) this.#spent.delete(key);
  }

  get size(): number {
    return this.#spent.size;
  }
}
