// What the HTTP/1.1 Exchange (exchange.ts) and the HTTP/2 one (http2/http2-exchange.ts) share:
// the fault delay before the first try, the circuit breaker's request and retry slots, the
// per-try and route timeouts, retries with jittered exponential backoff, and the response flags.
// Each subclass owns its transport: how a try is opened and dropped, how a local reply and a
// reset reach its client.
import { retriesFailure, retryBackoffMs } from "@meshwork/proxy-core";
import type { RequestHead } from "../http1/parse-request-head.ts";
import type { ClusterRuntime } from "./cluster-runtime.ts";
import type { ExchangeEnvironment, ExchangeRecord } from "./exchange.ts";
import { localReplyBodies } from "./local-reply.ts";
import type { ForwardDecision } from "./route-request.ts";

/** Request bodies up to this size are kept so a failed try can be replayed (Envoy's per-request buffer limit). */
export const retryBufferLimit = 64 * 1024;

/** A new exchange's record: nothing sent or received yet but the request head. */
export function newExchangeRecord<P extends ExchangeRecord["protocol"]>(startMs: number, head: RequestHead, protocol: P): ExchangeRecord & { readonly protocol: P } {
  return {
    startMs,
    upstreamHeadMs: 0,
    endMs: 0,
    responseCode: 0,
    responseFlags: "",
    details: "",
    requestBytes: head.headBytes,
    responseBytes: 0,
    attempts: 0,
    upstreamHost: "",
    endpoint: -1,
    trace: undefined,
    protocol,
    grpcStatus: undefined,
  };
}

export abstract class ExchangeBase<R extends ExchangeRecord = ExchangeRecord> {
  readonly head: RequestHead;
  readonly decision: ForwardDecision;
  readonly record: R;
  protected readonly env: ExchangeEnvironment;
  protected readonly cluster: ClusterRuntime;
  /** Index of the endpoint of the current try in the cluster; -1 between tries. */
  protected endpoint = -1;
  /** The endpoint of the failed try before a retry (retryIgnorePreviousHosts). */
  protected previousEndpoint = -1;
  /** Request body received so far while it is small enough to replay; undefined once over `retryBufferLimit`. */
  protected bodyChunks: Buffer[] | undefined;
  protected bodyBuffered = 0;
  protected requestComplete: boolean;
  /** Part of the response went to the client: no retry, and a failure resets the client instead of a local reply. */
  protected responseStarted = false;
  protected finished = false;
  protected routeTimer: NodeJS.Timeout | undefined;
  protected tryTimer: NodeJS.Timeout | undefined;
  /** The fault delay, then the backoff before each retry. */
  protected backoffTimer: NodeJS.Timeout | undefined;
  private holdsRetry = false;
  private holdsRequest = false;

  constructor(head: RequestHead, decision: ForwardDecision, env: ExchangeEnvironment, record: R, requestComplete: boolean, bodyChunks: Buffer[]) {
    this.head = head;
    this.decision = decision;
    this.env = env;
    this.cluster = decision.cluster;
    this.record = record;
    this.requestComplete = requestComplete;
    this.bodyChunks = bodyChunks;
  }

  /** Opens a try to an endpoint picked by the cluster's load balancer (`record.attempts` counts it). */
  protected abstract tryUpstream(): void;
  /** Drops the current try, if any (the per-try timer too). */
  protected abstract discardAttempt(): void;
  /** Answers the client ourselves (the subclass resets it instead when the response already started), then finishes. */
  protected abstract localReply(status: number, flag: string, body: string, details: string): void;
  /** The response already started and cannot be completed: reset the client, then finish. */
  protected abstract abortResponse(): void;
  /** Fire-and-forget copies to the mirror clusters, once the whole request is here. */
  protected abstract mirror(): void;
  /** The fault abort and the circuit breaker's request slot, then the first try. */
  protected abstract afterDelay(): void;

  /** Starts the exchange: fault delay/abort, then the first try. */
  start(): void {
    const d = this.decision;
    if (this.requestComplete) this.mirror();
    if (d.delayMs > 0) {
      this.addFlag("DI");
      this.backoffTimer = setTimeout(() => {
        this.backoffTimer = undefined;
        this.afterDelay();
      }, d.delayMs);
      return;
    }
    this.afterDelay();
  }

  /** Starts the route timeout (Envoy's router starts it when the request reaches it, after the fault filter's delay). */
  protected startRouteTimer(): void {
    const timeoutMs = this.decision.timeoutMs;
    if (timeoutMs !== undefined) this.routeTimer = setTimeout(() => this.onRouteTimeout(), timeoutMs);
  }

  /** Takes one of the cluster's request slots (circuit breaker); false: overflow, answered with 503 UO. */
  protected acquireRequest(): boolean {
    if (!this.cluster.breaker.tryAcquire("requests").ok) {
      this.cluster.stats.overflows += 1;
      return false;
    }
    this.holdsRequest = true;
    this.cluster.stats.requests += 1;
    return true;
  }

  /** Starts the per-try timeout of the try just opened. */
  protected startTryTimer(): void {
    const perTry = this.decision.perTryTimeoutMs;
    if (perTry !== undefined) this.tryTimer = setTimeout(() => this.onTryTimeout(), perTry);
  }

  /** Attempts left (`extraAttempts` more for a stale kept-alive connection), body replayable and complete, response not started, and the cluster's retry budget allows it. */
  protected canRetry(extraAttempts = 0): boolean {
    if (this.record.attempts > this.decision.retries.attempts + extraAttempts) return false;
    if (this.responseStarted || !this.requestComplete || this.bodyChunks === undefined) return false;
    if (!this.holdsRetry) this.holdsRetry = this.cluster.acquireRetry();
    return this.holdsRetry;
  }

  /** The next try after the retry policy's backoff, avoiding this try's endpoint where the policy says so. */
  protected scheduleRetry(): void {
    this.previousEndpoint = this.endpoint;
    this.releaseEndpoint();
    this.cluster.stats.retries += 1;
    const delay = retryBackoffMs(this.decision.retries, this.record.attempts, this.env.random());
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      if (!this.finished) this.tryUpstream();
    }, delay);
  }

  private onTryTimeout(): void {
    this.tryTimer = undefined;
    if (this.finished || this.responseStarted) return;
    this.cluster.stats.timeouts += 1;
    this.cluster.recordOutcome(this.endpoint, 504, this.env.now());
    this.discardAttempt();
    if (retriesFailure(this.decision.retries, "timeout") && this.canRetry()) {
      this.scheduleRetry();
      return;
    }
    this.localReply(504, "UT", localReplyBodies.UT, "upstream_per_try_timeout");
  }

  private onRouteTimeout(): void {
    this.routeTimer = undefined;
    if (this.finished) return;
    this.cluster.stats.timeouts += 1;
    this.discardAttempt();
    if (this.responseStarted) {
      this.addFlag("UT");
      this.record.details = "upstream_response_timeout";
      this.abortResponse();
      return;
    }
    this.localReply(504, "UT", localReplyBodies.UT, "upstream_response_timeout");
  }

  /** The exchange is over: timers stopped, the endpoint's active count and the breaker's slots given back. False if it already was. */
  protected settle(): boolean {
    if (this.finished) return false;
    this.finished = true;
    this.clearRouteTimer();
    this.clearTryTimer();
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.releaseEndpoint();
    this.releaseSlots();
    return true;
  }

  protected releaseEndpoint(): void {
    if (this.endpoint < 0) return;
    const runtime = this.cluster.endpoints[this.endpoint];
    if (runtime) runtime.active -= 1;
    this.endpoint = -1;
  }

  /** Gives back the breaker's request and retry slots this exchange holds. */
  protected releaseSlots(): void {
    if (this.holdsRequest) {
      this.holdsRequest = false;
      this.cluster.breaker.release("requests");
    }
    if (this.holdsRetry) {
      this.holdsRetry = false;
      this.cluster.breaker.release("retries");
    }
  }

  /** Adds an Envoy response flag to the record (once). */
  protected addFlag(flag: string): void {
    const flags = this.record.responseFlags;
    if (flags === "") this.record.responseFlags = flag;
    else if (!flags.split(",").includes(flag)) this.record.responseFlags = `${flags},${flag}`;
  }

  protected clearTryTimer(): void {
    if (this.tryTimer) {
      clearTimeout(this.tryTimer);
      this.tryTimer = undefined;
    }
  }

  protected clearRouteTimer(): void {
    if (this.routeTimer) {
      clearTimeout(this.routeTimer);
      this.routeTimer = undefined;
    }
  }
}
