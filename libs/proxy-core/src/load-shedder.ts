// Load shedding when the proxy itself is overloaded, after Envoy's overload manager: resource
// monitors feed measurements, a threshold trigger fires the `stop_accepting_requests` action and
// the proxy answers new requests 503 with flag OM until pressure falls. Unlike Envoy's threshold
// trigger this one has hysteresis (enter at `shedAt`, leave below `recoverBelow`), so a signal
// hovering at the line does not flap. Pure: the caller measures and passes the numbers in.

/** What the proxy measured, sampled by the caller (typically every 100 ms–1 s). */
export interface LoadMeasurements {
  /**
   * Event-loop delay, ms: how late timers and I/O callbacks run — in Node the direct measure of
   * the latency the proxy adds under CPU saturation (e.g. the worst lateness of a periodic timer
   * over the last sample window, as the sidecar's EventLoopLag measures it).
   */
  readonly eventLoopDelayMs: number;
  /** Requests accepted and not yet finished. */
  readonly inFlightRequests: number;
  /** `process.memoryUsage().heapUsed`, bytes. */
  readonly heapUsedBytes: number;
  /** The V8 heap limit, bytes (`v8.getHeapStatistics().heap_size_limit`); heap is not checked when 0. */
  readonly heapLimitBytes: number;
}

/**
 * Enter shedding at `shedAt` or above — in `sustainedFor` consecutive measurements (default 1) —
 * and leave once below `recoverBelow` (≤ shedAt).
 */
export interface ShedThreshold {
  readonly shedAt: number;
  readonly recoverBelow: number;
  readonly sustainedFor?: number;
}

export interface LoadShedderSettings {
  /** Event-loop delay, ms. Default: shed at 250, recover below 100. */
  readonly eventLoopDelayMs: ShedThreshold | undefined;
  /** Requests in flight. Default: off (no limit, like Envoy without a downstream limit). */
  readonly inFlightRequests: ShedThreshold | undefined;
  /** heapUsed / heapLimit. Default: shed at 0.95, recover below 0.90 (Envoy's documented example). */
  readonly heapRatio: ShedThreshold | undefined;
}

/**
 * Event-loop delay: a p99 of a second means the proxy adds a second to requests it accepts. Lower
 * lines (250 ms was the first) fire on a busy shared host — CPU steal and co-tenants delay the
 * loop without the proxy being the bottleneck — and turn a slow mesh into a failing one. It must
 * hold for two measurements in a row: one long pause (start-up's compile of a large config on a
 * crowded host, a major GC) is not overload, and shedding after it failed requests an idle proxy
 * could serve (an e2e gateway answered its first pages 503 on a host running four test suites).
 */
export const defaultLoadShedderSettings: LoadShedderSettings = Object.freeze({
  eventLoopDelayMs: Object.freeze({ shedAt: 1000, recoverBelow: 250, sustainedFor: 2 }),
  inFlightRequests: undefined,
  heapRatio: Object.freeze({ shedAt: 0.95, recoverBelow: 0.9 }),
});

/** The signal that is over its line. */
export type OverloadSignal = "event-loop-delay" | "in-flight-requests" | "heap";

/** The local reply for a shed request (Envoy overload manager: 503, flag OM). */
export const overloadedReply = Object.freeze({
  status: 503,
  flag: "OM" as const,
  headers: Object.freeze([] as const),
  body: "envoy overloaded",
});

/**
 * Decides, for each measurement, whether new requests are shed. Shedding starts when any enabled
 * signal reaches its `shedAt` and stops once every signal that was over has dropped below its
 * `recoverBelow`. One instance per proxy process (or worker).
 */
export class LoadShedder {
  readonly settings: LoadShedderSettings;
  private over = new Set<OverloadSignal>();
  /** Consecutive measurements at or above `shedAt`, per signal not yet shedding. */
  private readonly streak = new Map<OverloadSignal, number>();

  constructor(settings: Partial<LoadShedderSettings> = {}) {
    this.settings = { ...defaultLoadShedderSettings, ...settings };
    for (const [name, threshold] of Object.entries(this.settings) as [string, ShedThreshold | undefined][]) {
      if (threshold !== undefined && !(threshold.recoverBelow <= threshold.shedAt)) {
        throw new RangeError(`LoadShedder: ${name}.recoverBelow (${threshold.recoverBelow}) must not exceed shedAt (${threshold.shedAt})`);
      }
    }
  }

  /** Whether to shed a new request given `state`; updates the hysteresis. */
  shouldShed(state: LoadMeasurements): boolean {
    this.update("event-loop-delay", state.eventLoopDelayMs, this.settings.eventLoopDelayMs);
    this.update("in-flight-requests", state.inFlightRequests, this.settings.inFlightRequests);
    this.update("heap", state.heapLimitBytes > 0 ? state.heapUsedBytes / state.heapLimitBytes : 0, this.settings.heapRatio);
    return this.over.size > 0;
  }

  /** Whether the last decision was to shed. */
  get isShedding(): boolean {
    return this.over.size > 0;
  }

  /** The signals over their line at the last decision, in a fixed order (for logs and /stats). */
  get signals(): readonly OverloadSignal[] {
    return (["event-loop-delay", "in-flight-requests", "heap"] as const).filter((s) => this.over.has(s));
  }

  private update(signal: OverloadSignal, value: number, threshold: ShedThreshold | undefined): void {
    if (threshold === undefined) {
      this.over.delete(signal);
    } else if (value >= threshold.shedAt) {
      const streak = (this.streak.get(signal) ?? 0) + 1;
      this.streak.set(signal, streak);
      if (streak >= (threshold.sustainedFor ?? 1)) this.over.add(signal);
    } else {
      this.streak.delete(signal);
      if (value < threshold.recoverBelow) this.over.delete(signal);
    }
  }
}
