// How late the event loop runs timers: the overload signal of OverloadMonitor (admission-control.ts).
// A timer every `intervalMs` notes how much later than due it fired; the worst since the last read
// is the figure. Replaces node:perf_hooks' monitorEventLoopDelay (a libuv timer every 10 ms, 100
// wake-ups a second at idle, and an HDR histogram: ~0.5 MB of resident memory) — the shedding
// thresholds (1,000 ms to shed, 250 ms to recover) do not need percentiles of 10 ms samples: any
// block longer than the interval shows in full.
export class EventLoopLag {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private due = 0;
  private worst = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(intervalMs = 100, now: () => number = Date.now) {
    this.intervalMs = intervalMs;
    this.now = now;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.due = this.now() + this.intervalMs;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The worst lateness in ms since the last call (0 when every tick came on time), and starts a new window. */
  takeWorstMs(): number {
    const worst = this.worst;
    this.worst = 0;
    return worst;
  }

  /** One timer tick (called by the interval; a test may call it with a fake clock). */
  tick(): void {
    const now = this.now();
    const late = now - this.due;
    if (late > this.worst) this.worst = late;
    this.due = now + this.intervalMs;
  }
}
