// What the HTTP/1.1 Exchange (exchange.ts) and the HTTP/2 one (http2/http2-exchange.ts) share:
// the fault delay before the first try, the circuit breaker's request and retry slots, the
// per-try and route timeouts, retries with jittered exponential backoff, and the response flags.
// Each subclass owns its transport: how a try is opened and dropped, how a local reply and a
// reset reach its client.
import { grpcStatusCode } from "@meshwork/protocol/grpc-wire";
import { hasRetryOn, retriesFailure, retriesStatus, retryBackoffMs } from "@meshwork/proxy-core";
import type { UpstreamRequestParts } from "../http2/convert-headers.ts";
import type { UpstreamFailure } from "../http2/upstream-attempt.ts";
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
    upstreamLocalAddress: "",
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

  /**
   * Counts a try and picks its endpoint with the cluster's load balancer (avoiding the last try's
   * where the retry policy says so); undefined after answering 503 UH when none is healthy.
   */
  protected pickEndpoint(): ClusterRuntime["endpoints"][number] | undefined {
    const cluster = this.cluster;
    this.record.attempts += 1;
    const endpoint = cluster.pick(this.decision.hash, this.decision.retries.retryIgnorePreviousHosts ? this.previousEndpoint : -1, this.env.now());
    const runtime = cluster.endpoints[endpoint];
    if (endpoint < 0 || runtime === undefined) {
      cluster.stats.noHealthy += 1;
      this.localReply(503, "UH", localReplyBodies.UH, "no_healthy_upstream");
      return undefined;
    }
    this.endpoint = endpoint;
    this.record.endpoint = endpoint;
    this.record.upstreamHost = runtime.address;
    runtime.active += 1;
    return runtime;
  }

  /** What a try over node:http2 or node:http sends besides the client's fields (convert-headers.ts): `target` is the path and query. */
  protected upstreamRequestParts(target: string): UpstreamRequestParts {
    const d = this.decision;
    return {
      method: this.head.method,
      target,
      authority: d.authority ?? this.head.authority,
      ops: d.requestHeaders,
      extraLines: this.env.extraRequestHeaders(this.head, this.record),
      metadataLines: this.env.requestMetadataLines,
      expectedTimeoutMs: d.timeoutMs !== undefined ? (d.perTryTimeoutMs ?? d.timeoutMs) : undefined,
    };
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

  /**
   * The common start of a local reply: drops the try, notes the flag and the details. False when
   * no reply can go out: the exchange is over, or the response started (the client is reset).
   */
  protected beginLocalReply(flag: string, details: string): boolean {
    if (this.finished) return false;
    this.discardAttempt();
    if (flag !== "") this.addFlag(flag);
    this.record.details = details;
    if (this.responseStarted) {
      this.abortResponse();
      return false;
    }
    return true;
  }

  /**
   * A try over an HTTP/2 stream or a node:http request failed (upstream-attempt.ts): the client is
   * reset when the response started; otherwise outlier detection hears a 503, and the try is
   * retried when the policy says so, else answered as Envoy does (UF, UR, UC).
   */
  protected failTry(failure: UpstreamFailure): void {
    this.clearTryTimer();
    if (this.responseStarted) {
      const remote = failure === "remote-reset";
      this.addFlag(remote ? "UR" : "UC");
      this.record.details = remote ? "upstream_reset_after_response_started{remote_reset}" : "upstream_reset_after_response_started{connection_termination}";
      this.abortResponse();
      return;
    }
    this.cluster.recordOutcome(this.endpoint, 503, this.env.now());
    const r = this.decision.retries;
    let retriable: boolean;
    if (failure === "connect-failure") {
      this.cluster.stats.connectFailures += 1;
      retriable = retriesFailure(r, "connect-failure");
    } else if (failure === "refused-stream") {
      retriable = hasRetryOn(r, "refused-stream") || retriesFailure(r, "reset");
    } else {
      retriable = retriesFailure(r, "reset");
    }
    if (retriable && this.canRetry()) {
      this.scheduleRetry();
      return;
    }
    if (this.record.attempts > 1) this.addFlag("URX");
    switch (failure) {
      case "connect-failure":
        this.localReply(503, "UF", localReplyBodies.UF, "upstream_reset_before_response_started{connection_failure}");
        return;
      case "refused-stream":
        this.localReply(503, "UR", "upstream connect error or disconnect/reset before headers. reset reason: remote refused stream reset", "upstream_reset_before_response_started{remote_refused_stream_reset}");
        return;
      case "remote-reset":
        this.localReply(503, "UR", localReplyBodies.UR, "upstream_reset_before_response_started{remote_reset}");
        return;
      default:
        this.localReply(503, "UC", localReplyBodies.UC, "upstream_reset_before_response_started{connection_termination}");
    }
  }

  /**
   * A try's final response head arrived with `status`: outlier detection hears it; true when the
   * try is dropped for a retry (a status the policy retries, attempts left), else the try timer
   * stops and the status is the exchange's.
   */
  protected retriedOnStatus(status: number, now: number): boolean {
    this.cluster.recordOutcome(this.endpoint, status, now);
    if (retriesStatus(this.decision.retries, status)) {
      if (this.canRetry()) {
        this.discardAttempt();
        this.scheduleRetry();
        return true;
      }
      if (this.decision.retries.attempts > 0) this.addFlag("URX");
    }
    this.clearTryTimer();
    this.record.responseCode = status;
    return false;
  }

  /** Keeps a request-body chunk (owned, not a view) for a replay while the body stays within `retryBufferLimit`. */
  protected keepForRetry(chunk: Buffer): void {
    if (this.bodyChunks === undefined) return;
    this.bodyBuffered += chunk.length;
    if (this.bodyBuffered <= retryBufferLimit) this.bodyChunks.push(chunk);
    else this.bodyChunks = undefined;
  }

  /** Settles the exchange (see `settle`) and reports it for metrics and the access log; false if it already was. */
  protected conclude(): boolean {
    if (!this.settle()) return false;
    this.record.endMs = this.env.now();
    this.env.finished(this.head, this.record, this.decision);
    return true;
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

/** A gRPC status name (`UNAVAILABLE`) or number text → its code; UNKNOWN (2) for anything else. */
export function grpcCode(status: string): number {
  const named = (grpcStatusCode as Readonly<Record<string, number>>)[status.toUpperCase()];
  if (named !== undefined) return named;
  const n = Number(status);
  return Number.isInteger(n) && n >= 0 && n <= 16 ? n : 2;
}
