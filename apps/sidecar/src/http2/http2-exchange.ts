// One proxied HTTP/2 stream (HTTP/2 or gRPC client): fault injection, the circuit breaker, load
// balancer pick, tries upstream over HTTP/2 or HTTP/1.1 with per-try and route timeouts, retries
// with jittered exponential backoff (HTTP status, gRPC status of trailers-only responses,
// connect failure, refused stream, reset), outlier detection fed with the HTTP status or the
// gRPC status mapped to HTTP (as Envoy's router does), and bodies and trailers streamed both
// ways with backpressure. The same semantics as the HTTP/1.1 Exchange (src/proxy/exchange.ts).
import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { retriesStatus } from "@meshwork/proxy-core";
import type { RequestHead } from "../http1/parse-request-head.ts";
import type { ExchangeEnvironment, ExchangeRecord } from "../proxy/exchange.ts";
import { ExchangeBase, grpcCode, newExchangeRecord } from "../proxy/exchange-base.ts";
import { localReplyBodies } from "../proxy/local-reply.ts";
import type { ForwardDecision } from "../proxy/route-request.ts";
import { downstreamResponseHeaders, forwardedTrailers, upstreamRequestHeaders } from "./convert-headers.ts";
import { grpcToHttpStatus, isGrpcContentType, isRetriableGrpcStatus, parseGrpcStatus } from "./grpc-status.ts";
import { sendHttp2Mirror } from "./send-http2-mirror.ts";
import { sendLocalReply } from "./send-local-reply.ts";
import { openHttp1Attempt, openHttp2Attempt, type AttemptHandler, type UpstreamAttempt, type UpstreamFailure } from "./upstream-attempt.ts";
import { openHttp2SessionPool } from "./http2-session-pool.ts";
import type { UpstreamSessions } from "./upstream-sessions.ts";

/** ExchangeRecord plus what an HTTP/2 stream adds; passed to ExchangeEnvironment.finished. */
export interface Http2ExchangeRecord extends ExchangeRecord {
  readonly protocol: "HTTP/2";
  /** grpc-status of the response (trailers, trailers-only head, or local reply); undefined for non-gRPC requests or when none came. */
  grpcStatus: number | undefined;
}

export interface Http2ExchangeOptions {
  readonly env: ExchangeEnvironment;
  readonly upstreams: UpstreamSessions;
  /** The request's HEADERS frame carried END_STREAM (no body), or its whole body is in `readAhead`. */
  readonly requestComplete: boolean;
  /** Body chunks the decision read off the stream (an external authorizer's check): sent upstream first, unchanged. */
  readonly readAhead?: readonly Buffer[] | undefined;
}

export class Http2Exchange extends ExchangeBase<Http2ExchangeRecord> implements AttemptHandler {
  private readonly stream: ServerHttp2Stream;
  private readonly received: IncomingHttpHeaders;
  private readonly upstreams: UpstreamSessions;
  private readonly isGrpc: boolean;
  private attempt: UpstreamAttempt | undefined;
  private upstreamHeaders: OutgoingHttpHeaders | undefined;
  /** Body received while no try is open (fault delay, backoff). */
  private pendingBody: Buffer[] = [];
  private responsePaused = false;
  /** The gRPC outcome for outlier detection waits for the trailers. */
  private outcomePending = false;
  private trailers: OutgoingHttpHeaders | undefined;
  private mirrored = false;

  constructor(stream: ServerHttp2Stream, received: IncomingHttpHeaders, head: RequestHead, decision: ForwardDecision, options: Http2ExchangeOptions) {
    super(head, decision, options.env, newExchangeRecord(options.env.now(), head, "HTTP/2"), options.requestComplete, []);
    this.stream = stream;
    this.received = received;
    this.upstreams = options.upstreams;
    this.isGrpc = isGrpcContentType(received["content-type"]);
    stream.on("data", (chunk: Buffer) => this.onRequestBody(chunk));
    stream.on("end", () => this.onRequestEnd());
    stream.on("close", () => this.onDownstreamClosed());
    stream.on("drain", () => {
      if (this.responsePaused) {
        this.responsePaused = false;
        this.attempt?.resume();
      }
    });
    stream.on("wantTrailers", () => stream.sendTrailers(this.trailers ?? {}));
    if (options.readAhead !== undefined) for (const chunk of options.readAhead) this.onRequestBody(chunk);
  }

  protected afterDelay(): void {
    const d = this.decision;
    this.startRouteTimer();
    if (d.abortStatus > 0) {
      if (d.abortGrpcStatus !== undefined) this.localReply(d.abortStatus, "FI", "fault filter abort", "fault_filter_abort", noHeaders, grpcCode(d.abortGrpcStatus));
      else this.localReply(d.abortStatus, "FI", localReplyBodies.FI, "fault_filter_abort");
      return;
    }
    if (!this.acquireRequest()) {
      this.localReply(503, "UO", localReplyBodies.UO, "upstream_reset_before_response_started{overflow}", { "x-envoy-overloaded": "true" });
      return;
    }
    this.tryUpstream();
  }

  /**
   * Fire-and-forget copies to the mirror clusters once the whole request is here (as the HTTP/1.1
   * Exchange: bodies up to the retry buffer limit; a larger body is not mirrored).
   */
  protected mirror(): void {
    const mirrors = this.decision.mirrors;
    if (this.mirrored || mirrors.length === 0 || this.bodyChunks === undefined) return;
    this.mirrored = true;
    const d = this.decision;
    const request = { received: this.received, method: this.head.method, target: d.target ?? this.head.target, authority: d.authority ?? this.head.authority, ops: d.requestHeaders, body: this.bodyChunks.slice() };
    for (const cluster of mirrors) sendHttp2Mirror(cluster, request, this.upstreams, this.env.now());
  }

  // ---- request from the client ----

  private onRequestBody(chunk: Buffer): void {
    if (this.finished) return;
    this.record.requestBytes += chunk.length;
    this.keepForRetry(chunk);
    if (this.attempt) {
      if (!this.attempt.write(chunk)) this.stream.pause();
    } else {
      this.pendingBody.push(chunk);
      if (this.pendingBody.length > 16) this.stream.pause();
    }
  }

  private onRequestEnd(): void {
    this.requestComplete = true;
    this.mirror();
    if (!this.finished) this.attempt?.end();
  }

  private onDownstreamClosed(): void {
    if (this.finished) return;
    this.addFlag("DC");
    this.record.details = "downstream_remote_disconnect";
    this.discardAttempt();
    this.finish();
  }

  onUpstreamDrain(): void {
    this.stream.resume();
  }

  // ---- upstream ----

  protected tryUpstream(): void {
    const runtime = this.pickEndpoint();
    if (runtime === undefined) return;
    const cluster = this.cluster;
    const replay = this.record.attempts > 1 && this.bodyChunks ? this.bodyChunks : this.pendingBody;
    this.pendingBody = [];
    const endStream = this.requestComplete && replay.length === 0;
    const http2 = cluster.spec.upstreamHttp2 || cluster.spec.useClientProtocol;
    const headers = { ...(this.upstreamHeaders ??= this.buildUpstreamHeaders(http2)) };
    if (http2) {
      const pool = this.upstreams.http2Pool(runtime.pool, openHttp2SessionPool);
      const entry = pool.acquire(cluster.breaker);
      if (!entry) {
        cluster.stats.overflows += 1;
        this.localReply(503, "UO", localReplyBodies.UO, "upstream_reset_before_response_started{overflow}", { "x-envoy-overloaded": "true" });
        return;
      }
      this.attempt = openHttp2Attempt(pool, entry, headers, endStream, this);
    } else {
      const { host, port } = runtime.pool.options;
      const target = { agent: this.upstreams.http1Agent(runtime.pool), host, port, method: this.head.method, path: this.decision.target ?? this.head.target };
      this.attempt = openHttp1Attempt(target, headers, endStream, this);
    }
    this.startTryTimer();
    if (endStream) return;
    const attempt = this.attempt;
    let writable = true;
    for (const chunk of replay) writable = attempt.write(chunk) && writable;
    // Reading may have been paused while the body waited for this try (fault delay, backoff).
    if (writable) this.stream.resume();
    else this.stream.pause();
    if (this.requestComplete) attempt.end();
  }

  private buildUpstreamHeaders(http2: boolean): OutgoingHttpHeaders {
    return upstreamRequestHeaders(this.received, this.upstreamRequestParts(this.decision.target ?? this.head.target), http2);
  }

  onUpstreamHead(status: number, headers: IncomingHttpHeaders, endStream: boolean): void {
    if (this.finished) return;
    const now = this.env.now();
    this.record.upstreamHeadMs = now;
    if (this.env.upstreamAddresses === true && this.attempt) this.record.upstreamLocalAddress = this.attempt.localAddress();
    const grpcStatus = this.isGrpc ? parseGrpcStatus(headers["grpc-status"]) : undefined;
    if (!this.isGrpc || status !== 200) this.cluster.recordOutcome(this.endpoint, status, now);
    else if (grpcStatus !== undefined) this.cluster.recordOutcome(this.endpoint, grpcToHttpStatus(grpcStatus), now);
    else this.outcomePending = true;
    const retriable = retriesStatus(this.decision.retries, status) || (grpcStatus !== undefined && isRetriableGrpcStatus(this.decision.retries, grpcStatus));
    if (retriable && this.canRetry()) {
      this.outcomePending = false;
      this.discardAttempt();
      this.scheduleRetry();
      return;
    }
    this.clearTryTimer();
    this.record.responseCode = status;
    this.record.grpcStatus = grpcStatus;
    if (this.previousEndpoint >= 0 && this.record.attempts > 1 && this.decision.retries.attempts > 0 && (status >= 500 || (grpcStatus !== undefined && grpcStatus !== 0))) this.addFlag("URX");
    const serviceTime = Math.max(0, Math.round(now - this.record.startMs));
    const out = downstreamResponseHeaders(status, headers, this.decision.responseHeaders, serviceTime);
    this.responseStarted = true;
    if (this.stream.destroyed) return;
    if (endStream) {
      this.stream.respond(out, { endStream: true });
      this.attempt = undefined;
      this.finish();
      return;
    }
    this.stream.respond(out, { waitForTrailers: true });
  }

  onUpstreamData(chunk: Buffer): void {
    if (this.finished) return;
    this.record.responseBytes += chunk.length;
    if (!this.stream.write(chunk) && !this.responsePaused) {
      this.responsePaused = true;
      this.attempt?.pause();
    }
  }

  onUpstreamTrailers(trailers: IncomingHttpHeaders): void {
    if (this.finished) return;
    this.trailers = forwardedTrailers(trailers);
    const grpcStatus = this.isGrpc ? parseGrpcStatus(trailers["grpc-status"]) : undefined;
    if (grpcStatus !== undefined) {
      this.record.grpcStatus = grpcStatus;
      if (this.outcomePending) {
        this.outcomePending = false;
        this.cluster.recordOutcome(this.endpoint, grpcToHttpStatus(grpcStatus), this.env.now());
      }
    }
  }

  onUpstreamEnd(): void {
    if (this.finished) return;
    if (this.outcomePending) {
      this.outcomePending = false;
      this.cluster.recordOutcome(this.endpoint, 200, this.env.now());
    }
    this.attempt = undefined;
    if (!this.stream.destroyed) this.stream.end();
    this.finish();
  }

  onUpstreamFailure(failure: UpstreamFailure): void {
    if (this.finished) return;
    this.attempt = undefined;
    this.failTry(failure);
  }

  // ---- endings ----

  /** Answers the client ourselves (unless the response already started: then the stream is reset). */
  protected localReply(status: number, flag: string, body: string, details: string, headers: OutgoingHttpHeaders = noHeaders, grpcStatus?: number): void {
    if (!this.beginLocalReply(flag, details)) return;
    const sent = sendLocalReply(this.stream, { status, body, headers, grpc: this.isGrpc || grpcStatus !== undefined, grpcStatus, headOnly: this.head.method === "HEAD" });
    this.record.responseCode = sent.responseCode;
    this.record.grpcStatus = sent.grpcStatus;
    this.record.responseBytes += sent.responseBytes;
    this.finish();
  }

  /** Resets the client's stream, then finishes. */
  protected abortResponse(): void {
    if (!this.stream.closed) this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    this.finish();
  }

  protected discardAttempt(): void {
    this.clearTryTimer();
    const attempt = this.attempt;
    if (attempt) {
      this.attempt = undefined;
      attempt.cancel();
    }
  }

  private finish(): void {
    if (!this.conclude()) return;
    // Keep reading (and dropping) a request body the client is still sending.
    if (!this.requestComplete) this.stream.resume();
  }
}

/** A local reply without headers of its own. */
const noHeaders: OutgoingHttpHeaders = {};
