// Lifeguard's dynamic suspicion timeout (Dadgar et al. 2018, §IV-B; memberlist suspicion.go): a
// suspicion starts at `max` and shrinks logarithmically towards `min` as independent members
// confirm it, so a member many others suspect is declared dead sooner, and a lone suspicion by an
// unhealthy prober waits longer for a refutation.

/** The inputs of memberlist's remainingSuspicionTime. */
export interface SuspicionTiming {
  /** Independent confirmations received so far. */
  readonly confirmations: number;
  /** Confirmations that bring the timeout down to `minMs` (k). */
  readonly expected: number;
  readonly elapsedMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

/**
 * Time left before a suspicion fires (memberlist's remainingSuspicionTime; negative means
 * overdue): max − log(c + 1)/log(k + 1) · (max − min), never below min, minus the time elapsed.
 */
export function remainingSuspicionTime(t: SuspicionTiming): number {
  const fraction = Math.log(t.confirmations + 1) / Math.log(t.expected + 1);
  const raw = t.maxMs - fraction * (t.maxMs - t.minMs);
  const timeoutMs = Math.max(Math.floor(raw), t.minMs);
  return timeoutMs - t.elapsedMs;
}

/** The minimum suspicion timeout: suspicionMult · max(1, log10 n) · probeInterval (memberlist). */
export function suspicionTimeout(suspicionMult: number, members: number, probeIntervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, members)));
  return Math.floor(suspicionMult * nodeScale * probeIntervalMs);
}

/** One suspicion of one member, by the time it started and the distinct members confirming it. */
export class Suspicion {
  readonly #confirmers = new Set<string>();
  #deadlineMs: number;

  /**
   * `from` is the first suspecter (it does not count as a confirmation); `expected` is how many
   * independent confirmations bring the timeout down to `minMs` (0: use `minMs` at once).
   */
  readonly startedMs: number;
  readonly expected: number;
  readonly minMs: number;
  readonly maxMs: number;

  /**
   * `from` is the first suspecter (it does not count as a confirmation); `expected` is how many
   * independent confirmations bring the timeout down to `minMs` (0: use `minMs` at once).
   */
  constructor(from: string, timing: { readonly startedMs: number; readonly expected: number; readonly minMs: number; readonly maxMs: number }) {
    this.startedMs = timing.startedMs;
    this.expected = timing.expected;
    this.minMs = timing.minMs;
    this.maxMs = timing.maxMs;
    this.#confirmers.add(from);
    this.#deadlineMs = timing.startedMs + (timing.expected < 1 ? timing.minMs : timing.maxMs);
  }

  /** Direct checks of the suspect sent so far (Memberlist's verification before a lone verdict). */
  verifications = 0;

  /** When the member is to be declared dead, in the driver's milliseconds. */
  get deadlineMs(): number {
    return this.#deadlineMs;
  }

  /** Confirmations counted so far (the first suspecter excluded). */
  get confirmations(): number {
    return this.#confirmers.size - 1;
  }

  /** Counts a confirmation from `from`; returns true if it was new (and so worth re-gossiping). */
  confirm(from: string): boolean {
    if (this.expected < 1 || this.confirmations >= this.expected || this.#confirmers.has(from)) return false;
    this.#confirmers.add(from);
    this.#deadlineMs =
      this.startedMs + remainingSuspicionTime({ confirmations: this.confirmations, expected: this.expected, elapsedMs: 0, minMs: this.minMs, maxMs: this.maxMs });
    return true;
  }
}
