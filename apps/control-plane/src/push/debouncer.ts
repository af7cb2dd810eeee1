// Coalesces bursts of config changes into one push (DESIGN.md §3.2): fire once the changes have
// been quiet for `quietMs`, or `maxMs` after the first change of the burst at the latest, so a
// steady trickle of changes cannot hold pushes back forever (Istio: PILOT_DEBOUNCE_AFTER/MAX).

/** The clock and timers the debouncer runs on (injected: a fake clock in tests). */
export interface DebounceTimers {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface DebounceOptions {
  /** Fire after this long without a new trigger (100 ms). */
  readonly quietMs: number;
  /** Fire at the latest this long after the first trigger of a burst (10 s). */
  readonly maxMs: number;
}

export const defaultDebounce: DebounceOptions = { quietMs: 100, maxMs: 10_000 };

/** Calls `fire` once per burst of `trigger()` calls. */
export class Debouncer {
  readonly #fire: () => void;
  readonly #options: DebounceOptions;
  readonly #timers: DebounceTimers;
  #burstStartMs: number | undefined;
  #timer: unknown;
  #triggers = 0;

  constructor(fire: () => void, options: DebounceOptions, timers: DebounceTimers) {
    this.#fire = fire;
    this.#options = options;
    this.#timers = timers;
  }

  /** Triggers since the last fire (a burst's size, for metrics). */
  get pending(): number {
    return this.#triggers;
  }

  /** A change happened: (re)arm the timer. */
  trigger(): void {
    const now = this.#timers.now();
    this.#burstStartMs ??= now;
    this.#triggers += 1;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    const untilMax = this.#burstStartMs + this.#options.maxMs - now;
    this.#timer = this.#timers.setTimeout(() => this.#run(), Math.max(0, Math.min(this.#options.quietMs, untilMax)));
  }

  /** Drops a pending fire (on stop). */
  cancel(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#burstStartMs = undefined;
    this.#triggers = 0;
  }

  #run(): void {
    this.#timer = undefined;
    this.#burstStartMs = undefined;
    this.#triggers = 0;
    this.#fire();
  }
}
