// Circuit breaking as counters (Envoy cluster circuit breakers, with Istio's defaults of
// 2^32-1): the proxy asks before opening a connection, queueing, sending or retrying, and
// releases when done. An overflow is a value carrying Envoy's response flag UO, not an exception.

/** Decoded DestinationRule connectionPool (the limits only). */
export interface ConnectionPoolSpec {
  readonly tcp?: { readonly maxConnections?: number | undefined } | undefined;
  readonly http?:
    | {
        readonly http1MaxPendingRequests?: number | undefined;
        readonly http2MaxRequests?: number | undefined;
        readonly maxRetries?: number | undefined;
        readonly maxRequestsPerConnection?: number | undefined;
      }
    | undefined;
}

export type BreakerResource = "connections" | "pending-requests" | "requests" | "retries";

export type BreakerDecision = { readonly ok: true } | { readonly ok: false; readonly resource: BreakerResource; readonly flag: "UO" };

const UNLIMITED = 2 ** 32 - 1;
const allowed: BreakerDecision = Object.freeze({ ok: true });

/** Live counts against a cluster's limits. One per cluster (host, subset, port). */
export class CircuitBreaker {
  readonly limits: Readonly<Record<BreakerResource, number>>;
  /** Requests one upstream connection may carry before it is closed; 0 = unlimited. */
  readonly maxRequestsPerConnection: number;
  private readonly active: Record<BreakerResource, number> = { connections: 0, "pending-requests": 0, requests: 0, retries: 0 };
  /** Overflows per resource, for `upstream_rq_pending_overflow`-style stats. */
  readonly overflows: Record<BreakerResource, number> = { connections: 0, "pending-requests": 0, requests: 0, retries: 0 };

  constructor(spec: ConnectionPoolSpec | undefined) {
    this.limits = {
      connections: spec?.tcp?.maxConnections ?? UNLIMITED,
      "pending-requests": spec?.http?.http1MaxPendingRequests ?? UNLIMITED,
      requests: spec?.http?.http2MaxRequests ?? UNLIMITED,
      retries: spec?.http?.maxRetries ?? UNLIMITED,
    };
    this.maxRequestsPerConnection = spec?.http?.maxRequestsPerConnection ?? 0;
  }

  /** Takes one unit of `resource`, or refuses with flag UO when at the limit. */
  tryAcquire(resource: BreakerResource): BreakerDecision {
    if (this.active[resource] >= this.limits[resource]) {
      this.overflows[resource] += 1;
      return { ok: false, resource, flag: "UO" };
    }
    this.active[resource] += 1;
    return allowed;
  }

  /** Gives back one unit taken by a successful tryAcquire. */
  release(resource: BreakerResource): void {
    if (this.active[resource] === 0) throw new Error(`release(${resource}) without a matching acquire`);
    this.active[resource] -= 1;
  }

  /** In-use count of `resource`. */
  inUse(resource: BreakerResource): number {
    return this.active[resource];
  }

  /** Whether a connection that has carried `served` requests must not take another. */
  isConnectionSpent(served: number): boolean {
    return this.maxRequestsPerConnection > 0 && served >= this.maxRequestsPerConnection;
  }
}
