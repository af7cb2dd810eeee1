// A manual clock with setTimeout/setInterval semantics for unit tests of code that takes its time
// and timers as inputs: time moves only when the test advances it, and due timers run in order.

/** A timer handle; only meaningful to the clock that created it. */
export type FakeTimerHandle = number;

interface Timer {
  readonly handle: FakeTimerHandle;
  readonly callback: () => void;
  dueMs: number;
  /** Set for intervals: the period in ms. */
  readonly periodMs: number | undefined;
}

/**
 * A fake clock. `now()` starts at `startMs` and changes only through `advance`/`runNext`/`runAll`.
 * Timers run in order of due time, ties in order of creation; while a timer runs, `now()` is its due
 * time. Methods are bound, so `{ setTimeout, clearTimeout }` can be passed on alone (it satisfies
 * `@meshwork/runtime`'s `Timers`).
 */
export class FakeClock {
  #nowMs: number;
  #nextHandle = 1;
  /** Pending timers sorted by (dueMs, handle). */
  #timers: Timer[] = [];

  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }

  /** The current fake time in ms. */
  readonly now = (): number => this.#nowMs;

  /** Schedules `callback(...args)` `delayMs` from now (negative or NaN delays count as 0). */
  readonly setTimeout = <A extends unknown[]>(callback: (...args: A) => void, delayMs = 0, ...args: A): FakeTimerHandle =>
    this.#schedule(() => callback(...args), delayMs, undefined);

  /** Cancels a timeout or interval; unknown or already-run handles are ignored, as in Node. */
  readonly clearTimeout = (handle: unknown): void => {
    const index = this.#timers.findIndex((timer) => timer.handle === handle);
    if (index >= 0) this.#timers.splice(index, 1);
  };

  /** Schedules `callback(...args)` every `periodMs` (at least 1) from now until cleared. */
  readonly setInterval = <A extends unknown[]>(callback: (...args: A) => void, periodMs = 0, ...args: A): FakeTimerHandle => {
    const period = Math.max(1, toDelay(periodMs));
    return this.#schedule(() => callback(...args), period, period);
  };

  /** Same as `clearTimeout`. */
  readonly clearInterval = (handle: unknown): void => this.clearTimeout(handle);

  /** The number of scheduled timers. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** When the next timer is due, if any. */
  nextTimerAt(): number | undefined {
    return this.#timers[0]?.dueMs;
  }

  /**
   * Moves time forward by `ms`, running every timer due up to the new time in order, including
   * timers that running timers schedule within the window. Returns how many timers ran.
   */
  advance(ms: number): number {
    if (!(ms >= 0)) throw new Error(`advance() needs a non-negative duration, got ${ms}`);
    const targetMs = this.#nowMs + ms;
    let ran = 0;
    for (let timer = this.#timers[0]; timer !== undefined && timer.dueMs <= targetMs; timer = this.#timers[0]) {
      this.#fire(timer);
      ran += 1;
    }
    this.#nowMs = targetMs;
    return ran;
  }

  /** Moves time to `timeMs` (not before now) as `advance` does. */
  advanceTo(timeMs: number): number {
    return this.advance(timeMs - this.#nowMs);
  }

  /** Jumps to the next timer and runs it; false when none is scheduled. */
  runNext(): boolean {
    const timer = this.#timers[0];
    if (timer === undefined) return false;
    this.#fire(timer);
    return true;
  }

  /** Runs timers until none is left; throws after `limit` (default 10,000), e.g. with an interval running. */
  runAll(limit = 10_000): number {
    let ran = 0;
    while (this.runNext()) {
      ran += 1;
      if (ran >= limit && this.#timers.length > 0) throw new Error(`runAll() ran ${ran} timers and more remain (an interval?)`);
    }
    return ran;
  }

  /**
   * As `advance`, for async code: before each timer and at the end it lets pending promise callbacks
   * and I/O callbacks run (one real `setImmediate` turn), so work a timer triggers settles.
   */
  async advanceAsync(ms: number): Promise<number> {
    if (!(ms >= 0)) throw new Error(`advanceAsync() needs a non-negative duration, got ${ms}`);
    const targetMs = this.#nowMs + ms;
    let ran = 0;
    await settle();
    for (let timer = this.#timers[0]; timer !== undefined && timer.dueMs <= targetMs; timer = this.#timers[0]) {
      this.#fire(timer);
      ran += 1;
      await settle();
    }
    this.#nowMs = targetMs;
    await settle();
    return ran;
  }

  #schedule(callback: () => void, delayMs: number, periodMs: number | undefined): FakeTimerHandle {
    const handle = this.#nextHandle++;
    this.#insert({ handle, callback, dueMs: this.#nowMs + toDelay(delayMs), periodMs });
    return handle;
  }

  #insert(timer: Timer): void {
    // Binary search for the first timer ordered after this one: (dueMs, handle) ascending.
    let lo = 0;
    let hi = this.#timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = this.#timers[mid] as Timer;
      if (other.dueMs < timer.dueMs || (other.dueMs === timer.dueMs && other.handle < timer.handle)) lo = mid + 1;
      else hi = mid;
    }
    this.#timers.splice(lo, 0, timer);
  }

  #fire(timer: Timer): void {
    this.#timers.shift();
    this.#nowMs = Math.max(this.#nowMs, timer.dueMs);
    if (timer.periodMs !== undefined) {
      // Rescheduled before the callback runs so that the callback can clear its own interval.
      timer.dueMs += timer.periodMs;
      this.#insert(timer);
    }
    timer.callback();
  }
}

function toDelay(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
