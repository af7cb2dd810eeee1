// One HTTP/1.1 request sent upstream over HTTP/2: the cluster's port speaks http2/grpc, or its
// DestinationRule sets h2UpgradePolicy UPGRADE (Envoy's http2_protocol_options on the cluster).
// Between sidecars that is one multiplexed connection (ALPN h2 under mutual TLS) instead of a
// pool of HTTP/1.1 ones. The request head becomes an HTTP/2 header block, a chunked request body
// is decoded, the response goes back to the client as HTTP/1.1 (chunked when the upstream gave
// no content-length; trailers dropped, as Envoy's HTTP/1.1 codec does by default), and the route's
// resilience applies as in the HTTP/1.1 Exchange. Upgrade requests (WebSocket) are not sent here.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import { ChunkedScanner } from "../http1/chunked-scanner.ts";
import type { RequestHead } from "../http1/parse-request-head.ts";
import { sentPeerMetadataId, type Downstream, type ExchangeEnvironment } from "../proxy/exchange.ts";
import { newExchangeRecord } from "../proxy/exchange-base.ts";
import { Http1ClientExchange } from "../proxy/http1-client-exchange.ts";
import { localReplyBodies } from "../proxy/local-reply.ts";
import type { ForwardDecision } from "../proxy/route-request.ts";
import { sendMirror } from "../proxy/send-mirror.ts";
import type { ReadBuffer } from "../upstream/read-buffer.ts";
import { upstreamRequestHeaders } from "./convert-headers.ts";
import { encodeChunk, http1RequestFields, http1ResponseHead, lastChunk } from "./http1-over-http2.ts";
import { openHttp2SessionPool } from "./http2-session-pool.ts";
import { openHttp2Attempt, type AttemptHandler, type UpstreamAttempt, type UpstreamFailure } from "./upstream-attempt.ts";
import type { UpstreamSessions } from "./upstream-sessions.ts";

const continueBytes = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");

export class UpgradedExchange extends Http1ClientExchange implements AttemptHandler {
  private readonly upstreams: UpstreamSessions;
  /** Whether the request carried the peer's metadata-exchange id (read while the head's bytes are valid). */
  private readonly peerAsked: boolean;
  /** Decodes a chunked request body; undefined for a Content-Length one. */
  private readonly requestChunks: ChunkedScanner | undefined;
  private attempt: UpstreamAttempt | undefined;
  private upstreamHeaders: OutgoingHttpHeaders | undefined;
  /** Request body (decoded) received while no try is open: the fault delay, the backoff, or before the first try. */
  private pendingBody: Buffer[] = [];
  /** The response body goes to the client chunked (the upstream gave no content-length). */
  private chunkedResponse = false;
  private bodyless = false;
  private responsePaused = false;

  constructor(head: RequestHead, headBuffer: Buffer, decision: ForwardDecision, downstream: Downstream, env: ExchangeEnvironment, upstreams: UpstreamSessions) {
    super(head, decision, env, newExchangeRecord(env.now(), head, "HTTP/1.1"), [], downstream);
    this.upstreams = upstreams;
    this.peerAsked = env.responseMetadataLines !== undefined && sentPeerMetadataId(head, headBuffer);
    this.requestChunks = head.chunked ? new ChunkedScanner() : undefined;
    // Envoy answers Expect: 100-continue itself; the upstream never sees the expectation.
    if (head.expectContinue && !this.requestComplete) downstream.write(continueBytes);
  }

  /** Nothing to copy: the head was read into strings and `peerAsked` at construction. */
  keepHead(): void {
    return;
  }

  /** Fire-and-forget copies to the mirror clusters over HTTP/1.1, once the whole request is here (bodies up to the retry buffer limit). */
  protected mirror(): void {
    const mirrors = this.decision.mirrors;
    if (mirrors.length === 0 || this.bodyChunks === undefined) return;
    const target = this.decision.target ?? this.head.target;
    // sendMirror frames the body by the head: a chunked one gets its payload re-encoded as one chunk.
    const body = this.head.chunked && this.bodyChunks.length > 0 ? [encodeChunk(Buffer.concat(this.bodyChunks)), lastChunk] : this.head.chunked ? [lastChunk] : this.bodyChunks;
    for (const cluster of mirrors) sendMirror(cluster, this.head, target, body, this.env.now());
  }

  // ---- request from the client ----

  onRequestBody(data: Buffer, reads?: ReadBuffer): void {
    if (this.finished) return;
    this.record.requestBytes += data.length;
    const scanner = this.requestChunks;
    if (scanner === undefined) this.takeBody(reads === undefined ? data : Buffer.from(data));
    else scanner.scan(data, 0, (from, to) => this.takeBody(Buffer.from(data.subarray(from, to))));
  }

  /** Payload bytes of the request body (owned: not a view of a read buffer). */
  private takeBody(chunk: Buffer): void {
    this.keepForRetry(chunk);
    if (this.attempt) {
      if (!this.attempt.write(chunk)) this.downstream.pauseReading();
    } else {
      this.pendingBody.push(chunk);
      if (this.pendingBody.length > 16) this.downstream.pauseReading();
    }
  }

  onRequestEnd(): void {
    this.requestComplete = true;
    this.mirror();
    if (!this.finished) this.attempt?.end();
  }

  onDownstreamClosed(): void {
    if (this.finished) return;
    this.addFlag("DC");
    this.record.details = "downstream_remote_disconnect";
    this.discardAttempt();
    this.finish(false);
  }

  onDownstreamDrain(): void {
    if (this.responsePaused) {
      this.responsePaused = false;
      this.attempt?.resume();
    }
  }

  onUpstreamDrain(): void {
    this.downstream.resumeReading();
  }

  // ---- upstream ----

  protected tryUpstream(): void {
    const runtime = this.pickEndpoint();
    if (runtime === undefined) return;
    const cluster = this.cluster;
    const pool = this.upstreams.http2Pool(runtime.pool, openHttp2SessionPool);
    const entry = pool.acquire(cluster.breaker);
    if (!entry) {
      cluster.stats.overflows += 1;
      this.localReply(503, "UO", localReplyBodies.UO, "upstream_reset_before_response_started{overflow}", ["x-envoy-overloaded: true"]);
      return;
    }
    const replay = this.record.attempts > 1 && this.bodyChunks ? this.bodyChunks : this.pendingBody;
    this.pendingBody = [];
    const endStream = this.requestComplete && replay.length === 0;
    const attempt = openHttp2Attempt(pool, entry, { ...(this.upstreamHeaders ??= this.buildUpstreamHeaders()) }, endStream, this);
    this.attempt = attempt;
    this.startTryTimer();
    if (endStream) return;
    let writable = true;
    for (const chunk of replay) writable = attempt.write(chunk) && writable;
    if (writable) this.downstream.resumeReading();
    else this.downstream.pauseReading();
    if (this.requestComplete) attempt.end();
  }

  private buildUpstreamHeaders(): OutgoingHttpHeaders {
    const head = this.head;
    // HTTP/2 carries the path and query as :path; an absolute-form target's authority went to :authority.
    const target = this.decision.target ?? (head.absoluteForm ? (head.query === "" ? head.path : `${head.path}?${head.query}`) : head.target);
    return upstreamRequestHeaders(http1RequestFields(head), this.upstreamRequestParts(target), true);
  }

  onUpstreamHead(status: number, headers: IncomingHttpHeaders, endStream: boolean): void {
    if (this.finished) return;
    const now = this.env.now();
    this.record.upstreamHeadMs = now;
    if (this.env.upstreamAddresses === true && this.attempt) this.record.upstreamLocalAddress = this.attempt.localAddress();
    if (this.retriedOnStatus(status, now)) return;
    const serviceTime = Math.max(0, Math.round(now - this.record.startMs));
    const metadata = this.env.responseMetadataLines;
    const extraLines = metadata !== undefined && this.peerAsked ? `x-envoy-upstream-service-time: ${serviceTime}\r\n${metadata}` : `x-envoy-upstream-service-time: ${serviceTime}\r\n`;
    const close = !this.head.keepAlive || this.responseMustClose();
    const built = http1ResponseHead(status, headers, { ops: this.decision.responseHeaders, extraLines, headRequest: this.head.method === "HEAD", close });
    this.chunkedResponse = built.chunked;
    this.bodyless = this.head.method === "HEAD" || status === 204 || status === 304;
    this.responseStarted = true;
    const bytes = Buffer.from(built.head, "latin1");
    this.record.responseBytes += bytes.length;
    if (endStream) {
      this.attempt = undefined;
      this.downstream.write(this.chunkedResponse ? Buffer.concat([bytes, lastChunk]) : bytes);
      this.finish(close);
      return;
    }
    if (!this.downstream.write(bytes)) this.pauseResponse();
  }

  onUpstreamData(chunk: Buffer): void {
    if (this.finished || this.bodyless || chunk.length === 0) return;
    this.record.responseBytes += chunk.length;
    if (!this.downstream.write(this.chunkedResponse ? encodeChunk(chunk) : chunk)) this.pauseResponse();
  }

  /** HTTP/1.1 clients get no trailers (Envoy's codec drops them unless enable_trailers). */
  onUpstreamTrailers(): void {
    return;
  }

  onUpstreamEnd(): void {
    if (this.finished) return;
    this.attempt = undefined;
    if (this.chunkedResponse) this.downstream.write(lastChunk);
    this.finish(!this.head.keepAlive);
  }

  onUpstreamFailure(failure: UpstreamFailure): void {
    if (this.finished) return;
    this.attempt = undefined;
    this.failTry(failure);
  }

  private pauseResponse(): void {
    if (this.responsePaused) return;
    this.responsePaused = true;
    this.attempt?.pause();
  }

  protected discardAttempt(): void {
    this.clearTryTimer();
    const attempt = this.attempt;
    if (attempt) {
      this.attempt = undefined;
      attempt.cancel();
    }
  }
}
