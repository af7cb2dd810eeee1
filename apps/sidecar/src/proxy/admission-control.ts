// What a listener refuses before routing: load shedding when the proxy itself is overloaded
// (503, flag OM, like Envoy's overload manager) and local rate limiting by
// HTTPLocalRateLimitPolicy (429, flag RL, `x-envoy-ratelimited: true`). Both are counted.
import { getHeapStatistics } from "node:v8";
import { LoadShedder, overloadedReply, rateLimitedReply, type RateLimitTable } from "@meshwork/proxy-core";
import { EventLoopLag } from "./event-loop-lag.ts";
import type { ReplyDecision } from "./route-request.ts";

export interface AdmissionCounters {
  shed: number;
  rateLimited: number;
}

const shedDecision: ReplyDecision = {
  type: "reply",
  status: overloadedReply.status,
  flag: overloadedReply.flag,
  body: overloadedReply.body,
  headers: [],
  routeName: "",
  details: "overload_manager",
};

const rateLimitedDecision: ReplyDecision = {
  type: "reply",
  status: rateLimitedReply.status,
  flag: rateLimitedReply.flag,
  body: rateLimitedReply.body,
  headers: rateLimitedReply.headers.map(([name, value]) => `${name}: ${value}`),
  routeName: "",
  details: "local_rate_limited",
};

/** Reads event-loop lag (the worst of the last second) and heap once a second and keeps the shedding decision current. */
export class OverloadMonitor {
  readonly shedder = new LoadShedder();
  private readonly lag = new EventLoopLag();
  private readonly timer: NodeJS.Timeout;

  constructor(inFlight: () => number) {
    this.lag.start();
    const heapLimit = getHeapStatistics().heap_size_limit;
    this.timer = setInterval(() => {
      this.shedder.shouldShed({
        eventLoopDelayMs: this.lag.takeWorstMs(),
        inFlightRequests: inFlight(),
        heapUsedBytes: process.memoryUsage().heapUsed,
        heapLimitBytes: heapLimit,
      });
    }, 1000);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.lag.stop();
  }
}

/**
 * The refusal for a request, or undefined to let it through. `limits` is the listener's
 * rate-limit table (undefined or empty: no limiting); `identity` the verified client SPIFFE ID.
 */
export function admit(
  shedder: LoadShedder,
  limits: RateLimitTable | undefined,
  routeName: string | undefined,
  identity: string | undefined,
  nowMs: number,
  counters: AdmissionCounters,
): ReplyDecision | undefined {
  if (shedder.isShedding) {
    counters.shed += 1;
    return shedDecision;
  }
  if (limits !== undefined && !limits.isEmpty && !limits.limiterFor(routeName, identity)(nowMs)) {
    counters.rateLimited += 1;
    return rateLimitedDecision;
  }
  return undefined;
}
