// Outlier detection as a pure state machine (Envoy outlier_detection.cc semantics with Istio's
// defaults): fed each upstream response and the time, it ejects endpoints after consecutive
// 5xx or gateway errors and returns them after baseEjectionTime × times ejected.

/** Decoded DestinationRule outlierDetection, durations in ms. */
export interface OutlierDetectionSpec {
  readonly consecutive5xxErrors?: number | undefined;
  readonly consecutiveGatewayErrors?: number | undefined;
  readonly interval?: number | undefined;
  readonly baseEjectionTime?: number | undefined;
  readonly maxEjectionPercent?: number | undefined;
}

/** The settings after Istio's defaults: 5 consecutive 5xx, gateway errors off, 10 s interval, 30 s base ejection, 10 %. */
export interface OutlierSettings {
  readonly consecutive5xx: number;
  readonly consecutiveGatewayErrors: number;
  readonly intervalMs: number;
  readonly baseEjectionMs: number;
  /** Envoy's max_ejection_time default: 300 s. */
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
}

export function outlierSettings(spec: OutlierDetectionSpec | undefined): OutlierSettings {
  return {
    consecutive5xx: spec?.consecutive5xxErrors ?? 5,
    consecutiveGatewayErrors: spec?.consecutiveGatewayErrors ?? 0,
    intervalMs: spec?.interval ?? 10_000,
    baseEjectionMs: spec?.baseEjectionTime ?? 30_000,
    maxEjectionMs: Math.max(300_000, spec?.baseEjectionTime ?? 30_000),
    maxEjectionPercent: spec?.maxEjectionPercent ?? 10,
  };
}

/** What the proxy must do after an event: endpoints to take out of, or put back into, balancing. */
export interface OutlierChanges {
  readonly ejected: readonly number[];
  readonly returned: readonly number[];
}

interface EndpointState {
  consecutive5xx: number;
  consecutiveGateway: number;
  /** Times ejected; multiplies the ejection time, decays by one per interval spent healthy (Envoy). */
  ejections: number;
  ejectedUntilMs: number | undefined;
}

/**
 * Tracks `endpointCount` endpoints (indices as in the cluster's endpoint list). The caller feeds
 * every upstream response with `recordResponse` and calls `tick(nowMs)` at least every interval;
 * both return the changes to apply. No clock is read here.
 */
export class OutlierDetector {
  readonly settings: OutlierSettings;
  private readonly states: EndpointState[];
  private lastIntervalMs: number;

  constructor(endpointCount: number, settings: OutlierSettings, nowMs: number) {
    this.settings = settings;
    this.states = Array.from({ length: endpointCount }, () => ({ consecutive5xx: 0, consecutiveGateway: 0, ejections: 0, ejectedUntilMs: undefined }));
    this.lastIntervalMs = nowMs;
  }

  /** Whether endpoint `index` is ejected now. */
  isEjected(index: number): boolean {
    return this.state(index).ejectedUntilMs !== undefined;
  }

  /** How many times endpoint `index` has been ejected (decayed). */
  ejectionCount(index: number): number {
    return this.state(index).ejections;
  }

  /**
   * One upstream outcome: an HTTP status, or `0` for a connect failure / reset (a gateway error).
   * 502, 503, 504 and 0 are gateway errors; every 5xx and 0 count toward consecutive 5xx.
   */
  recordResponse(index: number, status: number, nowMs: number): OutlierChanges {
    const s = this.state(index);
    const isGateway = status === 0 || status === 502 || status === 503 || status === 504;
    const is5xx = isGateway || (status >= 500 && status <= 599);
    s.consecutive5xx = is5xx ? s.consecutive5xx + 1 : 0;
    s.consecutiveGateway = isGateway ? s.consecutiveGateway + 1 : 0;
    if (s.ejectedUntilMs !== undefined) return { ejected: [], returned: [] };
    const { consecutive5xx, consecutiveGatewayErrors } = this.settings;
    const tripped =
      (consecutive5xx > 0 && s.consecutive5xx >= consecutive5xx) || (consecutiveGatewayErrors > 0 && s.consecutiveGateway >= consecutiveGatewayErrors);
    if (!tripped || !this.mayEject()) return { ejected: [], returned: [] };
    s.ejections += 1;
    s.ejectedUntilMs = nowMs + Math.min(this.settings.baseEjectionMs * s.ejections, this.settings.maxEjectionMs);
    s.consecutive5xx = 0;
    s.consecutiveGateway = 0;
    return { ejected: [index], returned: [] };
  }

  /**
   * Advances time: returns endpoints whose ejection ran out. On each elapsed interval, the
   * ejection count of an endpoint that is not ejected decays by one (Envoy's backoff reset).
   */
  tick(nowMs: number): OutlierChanges {
    const returned: number[] = [];
    this.states.forEach((s, i) => {
      if (s.ejectedUntilMs !== undefined && nowMs >= s.ejectedUntilMs) {
        s.ejectedUntilMs = undefined;
        returned.push(i);
      }
    });
    while (nowMs - this.lastIntervalMs >= this.settings.intervalMs) {
      this.lastIntervalMs += this.settings.intervalMs;
      for (const s of this.states) if (s.ejectedUntilMs === undefined && s.ejections > 0) s.ejections -= 1;
    }
    return { ejected: [], returned };
  }

  /** Envoy: eject only while the ejected share is below maxEjectionPercent (checked before ejecting). */
  private mayEject(): boolean {
    const ejected = this.states.filter((s) => s.ejectedUntilMs !== undefined).length;
    return (ejected * 100) / this.states.length < this.settings.maxEjectionPercent;
  }

  private state(index: number): EndpointState {
    const s = this.states[index];
    if (!s) throw new Error(`endpoint index ${index} out of range 0..${this.states.length - 1}`);
    return s;
  }
}
