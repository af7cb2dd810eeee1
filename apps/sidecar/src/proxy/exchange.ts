// One proxied HTTP/1.1 request: sends the head (rewritten only where the route asks) to a pooled
// upstream connection, streams the request body with backpressure, forwards the response as it
// comes, and applies the route's resilience: fault injection, timeouts, retries with jittered
// exponential backoff, circuit breaking and outlier detection. Local replies carry Envoy's
// response flags. The head and body bytes are moved, not re-encoded (DESIGN.md §3.6).
import { retriesFailure, type HeaderOps } from "@meshwork/proxy-core";
import { ChunkedScanner } from "../http1/chunked-scanner.ts";
import type { RequestHead } from "../http1/parse-request-head.ts";
import { parseResponseHead, type ResponseHead } from "../http1/parse-response-head.ts";
import { TRACE_HEADER_NAMES } from "../telemetry/trace-context.ts";
import type { RequestTrace } from "../telemetry/tracing.ts";
import { tlsFailureDetail } from "../tls/upstream-tls.ts";
import { writeRead, type ReadBuffer } from "../upstream/read-buffer.ts";
import type { UpstreamConnection, UpstreamHandler } from "../upstream/upstream-connection.ts";
import { allocHeadBuffer } from "./alloc-head-buffer.ts";
import { newExchangeRecord, retryBufferLimit } from "./exchange-base.ts";
import { Http1ClientExchange } from "./http1-client-exchange.ts";
import { localReplyBodies } from "./local-reply.ts";
import { sendMirror } from "./send-mirror.ts";
import { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from "./peer-metadata.ts";
import type { Decision, ForwardDecision } from "./route-request.ts";

/** What an exchange needs from the downstream connection it serves. */
export interface Downstream {
  /** Writes bytes to the client; false when its buffer is full (the exchange pauses the upstream until `onDownstreamDrain`). */
  write(data: Buffer): boolean;
  /** Writes bytes `upstream` just read (a view of its read buffer, which it keeps for the write when needed); like `write` otherwise. */
  forward(data: Buffer, upstream: UpstreamConnection): boolean;
  /** The exchange is over; `close` = the client connection must close after what was written. */
  exchangeDone(exchange: DownstreamExchange, close: boolean): void;
  /** The response cannot be completed (upstream failed mid-body): reset the client connection. */
  abort(): void;
  /** Pause / resume reading the request body from the client (request-body backpressure). */
  pauseReading(): void;
  resumeReading(): void;
  /** The client and upstream sockets become one tunnel (101 Switching Protocols). */
  tunnel(upstream: UpstreamConnection, leftover: Buffer | undefined): void;
}

/**
 * What the downstream connection drives: one HTTP/1.1 request's exchange, with an HTTP/1.1
 * upstream (Exchange) or an HTTP/2 one (http2/upgraded-exchange.ts).
 */
export interface DownstreamExchange {
  /** Fault delay or abort, then the first try. */
  start(): void;
  /** The head's bytes are about to stop being valid (the read that brought them is handled). */
  keepHead(): void;
  /** Body bytes of the request, framed by the connection (chunked bytes as received); `reads`: `data` is valid during this call only. */
  onRequestBody(data: Buffer, reads?: ReadBuffer): void;
  onRequestEnd(): void;
  /** The client went away before the response was complete (flag DC). */
  onDownstreamClosed(): void;
  /** The client's socket accepts more response bytes. */
  onDownstreamDrain(): void;
}

/** Timestamps and outcome for telemetry, filled as the exchange runs. */
export interface ExchangeRecord {
  startMs: number;
  /** When the upstream's response head arrived (x-envoy-upstream-service-time). */
  upstreamHeadMs: number;
  endMs: number;
  responseCode: number;
  /** Envoy response flags, comma-separated ("" = none). */
  responseFlags: string;
  details: string;
  requestBytes: number;
  responseBytes: number;
  attempts: number;
  upstreamHost: string;
  /** `upstream_local_address` of the try that answered: filled only when the environment asks (`upstreamAddresses`), else "". */
  upstreamLocalAddress: string;
  /** Index of the endpoint that answered (or was tried last) in the cluster; -1 when none. */
  endpoint: number;
  /** Trace state of the request, set by the environment when it adds trace headers. */
  trace: RequestTrace | undefined;
  readonly protocol: "HTTP/1.0" | "HTTP/1.1" | "HTTP/2";
  /** grpc-status of a gRPC response (HTTP/2 only); undefined otherwise. */
  grpcStatus: number | undefined;
}

export interface ExchangeEnvironment {
  now(): number;
  random(): number;
  /** Request id and trace headers to add (`name: value\r\n` lines), computed once per request; may set `record.trace`. */
  extraRequestHeaders(head: RequestHead, record: ExchangeRecord): string;
  /** Called once when a request ends (forwarded or answered locally), for metrics and access logs. */
  finished(head: RequestHead, record: ExchangeRecord, decision: Decision): void;
  /** Outbound: this sidecar's metadata-exchange lines (`x-envoy-peer-metadata-id`, `x-envoy-peer-metadata`), added to every upstream request. */
  readonly requestMetadataLines?: string | undefined;
  /** Inbound: the same lines, added to the response of a request that carried the peer's (Istio answers a metadata exchange only to a peer that started one). */
  readonly responseMetadataLines?: string | undefined;
  /**
   * The environment of one client connection, when telemetry reports its addresses (access logs:
   * `downstream_remote_address`, `requested_server_name`); undefined = every connection shares this one.
   */
  readonly forConnection?: ((connection: ClientConnection) => ExchangeEnvironment) | undefined;
  /** Telemetry reports the upstream connection's local address (access logs): exchanges fill `record.upstreamLocalAddress`. */
  readonly upstreamAddresses?: boolean | undefined;
}

/** A client connection as telemetry names it. */
export interface ClientConnection {
  /** `ip:port` (`[ip]:port` for IPv6). */
  readonly remoteAddress: string;
  /** The SNI of the connection's TLS; "" for none or plain text. */
  readonly serverName: string;
}

export class Exchange extends Http1ClientExchange implements UpstreamHandler {
  /** The request head's bytes (from offset 0); a view of the client connection's read buffer until `keepHead`. */
  private headBuffer: Buffer;
  /** Whether the request carried the peer's metadata-exchange id, when read before the head's bytes were let go. */
  private peerAsked: boolean | undefined;
  private upstream: UpstreamConnection | undefined;
  /** Head bytes for the upstream, built once and replayed on retries. */
  private upstreamHead: Buffer | undefined;
  /** Body bytes received before the upstream connection was ready (`noChunks` when none). */
  private pendingBody: Buffer[] = noChunks;
  private requestSent = false;
  private response: ResponseHead | undefined;
  private responseBuffer: Buffer | undefined;
  private responseRemaining = 0;
  private chunked: ChunkedScanner | undefined;
  /** Leaves the endpoint's queue of requests waiting for a connection (set while queued). */
  private cancelWait: (() => void) | undefined;

  constructor(head: RequestHead, headBuffer: Buffer, decision: ForwardDecision, downstream: Downstream, env: ExchangeEnvironment) {
    // The request body's chunks kept for a retry are `noChunks` until the first arrives.
    super(head, decision, env, newExchangeRecord(env.now(), head, head.minorVersion === 1 ? "HTTP/1.1" : "HTTP/1.0"), noChunks, downstream);
    this.headBuffer = headBuffer;
  }

  /** Fire-and-forget copies to the mirror clusters, once the whole request is here (bodies up to the retry buffer limit). */
  protected mirror(): void {
    const mirrors = this.decision.mirrors;
    if (mirrors.length === 0 || this.bodyChunks === undefined) return;
    const target = this.decision.target ?? this.head.target;
    for (const cluster of mirrors) sendMirror(cluster, this.head, target, this.bodyChunks, this.env.now());
  }

  /**
   * The head's bytes were a view of the client connection's read buffer, valid until the read that
   * brought them is handled: copied if they are still needed after it (the upstream head not built
   * yet, or the peer's metadata exchange still to be read).
   */
  keepHead(): void {
    if (this.upstreamHead !== undefined) {
      if (this.env.responseMetadataLines === undefined) return;
      this.peerAsked = sentPeerMetadataId(this.head, this.headBuffer);
      return;
    }
    this.headBuffer = Buffer.from(this.headBuffer.subarray(0, this.head.headBytes));
  }

  // ---- request body from the client ----

  /**
   * Body bytes of this request from the client (already framed by the downstream connection).
   * `reads`: `data` is a view of that read buffer, valid during this call only.
   */
  onRequestBody(data: Buffer, reads?: ReadBuffer): void {
    if (this.finished) return;
    this.record.requestBytes += data.length;
    // `data` itself when it stays valid; a copy once something keeps it.
    let kept = reads === undefined ? data : undefined;
    if (this.bodyChunks) {
      this.bodyBuffered += data.length;
      if (this.bodyBuffered > retryBufferLimit) this.bodyChunks = undefined;
      else {
        kept ??= Buffer.from(data);
        if (this.bodyChunks === noChunks) this.bodyChunks = [kept];
        else this.bodyChunks.push(kept);
      }
    }
    const upstream = this.upstream;
    if (upstream && upstream.connected && this.upstreamHead && this.pendingBody.length === 0) {
      const accepted = kept !== undefined ? upstream.socket.write(kept) : writeRead(upstream.socket, data, reads as ReadBuffer);
      if (!accepted) this.downstream.pauseReading();
    } else {
      kept ??= Buffer.from(data);
      if (this.pendingBody === noChunks) this.pendingBody = [kept];
      else this.pendingBody.push(kept);
      if (this.pendingBody.length > 16) this.downstream.pauseReading();
    }
  }

  onRequestEnd(): void {
    this.requestComplete = true;
    this.mirror();
    if (this.upstream?.connected && this.pendingBody.length === 0) this.requestSent = true;
  }

  /** The client went away before the response was complete (Envoy flag DC). */
  onDownstreamClosed(): void {
    if (this.finished) return;
    this.addFlag("DC");
    this.record.details = "downstream_remote_disconnect";
    if (this.upstream) {
      this.upstream.handler = undefined;
      this.upstream.socket.destroy();
      this.upstream = undefined;
    }
    this.finish(false);
  }

  onDownstreamDrain(): void {
    this.upstream?.resumeReading();
  }

  // ---- upstream side ----

  protected tryUpstream(): void {
    const runtime = this.pickEndpoint();
    if (runtime === undefined) return;
    const cluster = this.cluster;
    const connection = runtime.pool.takeIdle() ?? runtime.pool.openConnection(cluster.breaker);
    if (!connection) {
      if (!cluster.breaker.tryAcquire("pending-requests").ok) {
        cluster.stats.overflows += 1;
        this.localReply(503, "UO", localReplyBodies.UO, "upstream_reset_before_response_started{overflow}", ["x-envoy-overloaded: true"]);
        return;
      }
      // Queued (http1MaxPendingRequests) until a connection frees up; the endpoint keeps counting the request as active.
      this.cancelWait = runtime.pool.waitForConnection((ready) => {
        this.cancelWait = undefined;
        cluster.breaker.release("pending-requests");
        if (!ready) {
          this.localReply(503, "UO", localReplyBodies.UO, "upstream_reset_before_response_started{overflow}", ["x-envoy-overloaded: true"]);
          return;
        }
        this.attach(ready);
      });
      return;
    }
    this.attach(connection);
  }

  private attach(connection: UpstreamConnection): void {
    this.upstream = connection;
    connection.handler = this;
    connection.served += 1;
    this.response = undefined;
    this.responseBuffer = undefined;
    this.startTryTimer();
    if (connection.connected) this.send();
    // A TLS connection is connected once its handshake is done: body bytes arriving before then wait in pendingBody, which send() flushes.
    else connection.onceConnected(() => this.upstream === connection && this.send());
  }

  private send(): void {
    const upstream = this.upstream as UpstreamConnection;
    if (this.env.upstreamAddresses === true) this.record.upstreamLocalAddress = upstream.localAddress;
    this.upstreamHead ??= this.buildUpstreamHead();
    const replay = this.record.attempts > 1 && this.bodyChunks ? this.bodyChunks : this.pendingBody;
    const parts = replay.length === 0 ? this.upstreamHead : Buffer.concat([this.upstreamHead, ...replay]);
    this.pendingBody = noChunks;
    if (upstream.socket.write(parts)) this.downstream.resumeReading();
    else this.downstream.pauseReading();
    if (this.requestComplete) this.requestSent = true;
  }

  /** Request head for the upstream: the received bytes with the request line and headers changed only as needed. */
  private buildUpstreamHead(): Buffer {
    const head = this.head;
    const d = this.decision;
    const extra = this.env.extraRequestHeaders(head, this.record);
    // The lines the proxy adds after the client's and the tracing headers: the expected timeout,
    // then this sidecar's metadata exchange and the blank line — the same bytes for every
    // request, copied from a buffer rather than joined to the per-request text.
    const lines = d.timeoutMs !== undefined ? `${extra}x-envoy-expected-rq-timeout-ms: ${d.perTryTimeoutMs ?? d.timeoutMs}\r\n` : extra;
    const metadata = this.env.requestMetadataLines;
    const replacesTrace = head.hasTraceHeaders && extra !== "";
    if (!head.hasHopByHop && !replacesTrace && !head.hasProxyControlHeaders && d.authority === undefined && d.requestHeaders.length === 0 && !head.absoluteForm) {
      // The received bytes as they are, minus a peer's metadata-exchange lines; the request line too when it is unchanged.
      const cut = head.peerMetadataCut ?? noCut;
      const end = headEnding(metadata);
      if (d.target === undefined && head.minorVersion === 1) return rawHeadWithout(this.headBuffer, 0, head.headBytes - 2, cut, "", lines, end);
      return rawHeadWithout(this.headBuffer, head.headersStart, head.headBytes - 2, cut, requestLine(head, d), lines, end);
    }
    return Buffer.from(`${requestLine(head, d)}${rebuildHeaders(head, d.authority, d.requestHeaders, replacesTrace)}${lines}${metadata ?? ""}\r\n`, "latin1");
  }

  onUpstreamData(data: Buffer): void {
    if (this.finished) return;
    if (this.responseStarted) {
      this.forwardBody(data);
      return;
    }
    // `data` is a view of the connection's read buffer, valid during this call: what waits for the next read is copied.
    let buffer = this.responseBuffer ? Buffer.concat([this.responseBuffer, data]) : data;
    for (;;) {
      const parsed = parseResponseHead(buffer, this.head.method);
      if (parsed === undefined) {
        this.responseBuffer = buffer.buffer === data.buffer ? Buffer.from(buffer) : buffer;
        return;
      }
      if (typeof parsed === "string") {
        this.failUpstream("UPE", 502, "upstream connect error or disconnect/reset before headers. reset reason: protocol error", `upstream_reset_before_response_started{protocol_error: ${parsed}}`);
        return;
      }
      if (parsed.status === 101) {
        this.startTunnel(buffer);
        return;
      }
      if (parsed.status >= 100 && parsed.status < 200) {
        // 100 Continue and other interim responses go to the client as they are.
        this.forward(buffer.subarray(0, parsed.headBytes));
        buffer = buffer.subarray(parsed.headBytes);
        if (buffer.length === 0) {
          this.responseBuffer = undefined;
          return;
        }
        continue;
      }
      this.responseBuffer = undefined;
      this.onResponseHead(parsed, buffer);
      return;
    }
  }

  private onResponseHead(response: ResponseHead, buffer: Buffer): void {
    const now = this.env.now();
    this.record.upstreamHeadMs = now;
    this.response = response;
    if (this.retriedOnStatus(response.status, now)) return;
    const serviceTime = Math.max(0, Math.round(now - this.record.startMs));
    const metadata = this.env.responseMetadataLines;
    let extra = metadata !== undefined && (this.peerAsked ?? sentPeerMetadataId(this.head, this.headBuffer)) ? `x-envoy-upstream-service-time: ${serviceTime}\r\n${metadata}` : `x-envoy-upstream-service-time: ${serviceTime}\r\n`;
    if (this.head.keepAlive && this.responseMustClose()) extra += "connection: close\r\n";
    const body = buffer.subarray(response.headBytes);
    let headBytes: Buffer;
    if (this.decision.responseHeaders.length === 0) {
      if (body.length > 0 && body.length < 16 * 1024 && response.framing === "length" && body.length === response.contentLength) {
        // The common small response arrives whole: head and body built in one buffer, sent in one write.
        this.responseStarted = true;
        const whole = rawHeadWithout(buffer, 0, response.headBytes - 2, response.hopByHop, "", `${extra}\r\n`, body);
        this.record.responseBytes += whole.length;
        this.responseRemaining = 0;
        this.downstream.write(whole);
        this.completeResponse();
        return;
      }
      headBytes = rawHeadWithout(buffer, 0, response.headBytes - 2, response.hopByHop, "", `${extra}\r\n`);
    } else {
      const statusLineEnd = buffer.indexOf("\r\n");
      const statusLine = buffer.toString("latin1", 0, statusLineEnd + 2);
      headBytes = Buffer.from(statusLine + applyHeaderOps(response.names, response.values, this.decision.responseHeaders) + extra + "\r\n", "latin1");
    }
    this.responseStarted = true;
    this.record.responseBytes += headBytes.length;
    switch (response.framing) {
      case "length":
        this.responseRemaining = response.contentLength;
        break;
      case "chunked":
        this.chunked = new ChunkedScanner();
        break;
      default:
        this.responseRemaining = 0;
    }
    if (body.length > 0 && body.length < 16 * 1024 && response.framing === "length" && body.length === response.contentLength) {
      // The common small response arrives whole: one write for head and body.
      this.responseRemaining = 0;
      this.record.responseBytes += body.length;
      this.downstream.write(Buffer.concat([headBytes, body]));
      this.completeResponse();
      return;
    }
    if (!this.downstream.write(headBytes)) this.upstream?.pauseReading();
    if (response.framing === "none" || (response.framing === "length" && response.contentLength === 0)) {
      this.completeResponse();
      return;
    }
    if (body.length > 0) this.forwardBody(body);
  }

  private forwardBody(data: Buffer): void {
    const response = this.response as ResponseHead;
    let take = data.length;
    let done = false;
    if (response.framing === "length") {
      if (take >= this.responseRemaining) {
        take = this.responseRemaining;
        done = true;
      }
      this.responseRemaining -= take;
    } else if (response.framing === "chunked") {
      const scanner = this.chunked as ChunkedScanner;
      take = scanner.scan(data);
      if (scanner.error) {
        this.addFlag("UPE");
        this.record.details = `upstream_protocol_error{${scanner.error}}`;
        this.discardAttempt();
        this.abortResponse();
        return;
      }
      done = scanner.done;
    }
    if (take > 0) {
      this.record.responseBytes += take;
      const slice = take === data.length ? data : data.subarray(0, take);
      if (!this.forward(slice)) this.upstream?.pauseReading();
    }
    if (done) {
      if (take < data.length) {
        // Bytes after the response on an HTTP/1.1 connection we never pipeline on: protocol error; do not reuse.
        this.discardAttempt();
      }
      this.completeResponse();
    }
  }

  private completeResponse(): void {
    const response = this.response as ResponseHead;
    const upstream = this.upstream;
    const runtime = this.cluster.endpoints[this.endpoint];
    if (upstream && runtime) {
      this.upstream = undefined;
      const spent = this.cluster.breaker.isConnectionSpent(upstream.served);
      if (response.reusable && this.requestSent && !spent) {
        upstream.resumeReading(); // it may have been paused for a slow client
        runtime.pool.release(upstream);
      }
      else {
        upstream.handler = undefined;
        upstream.socket.destroy();
      }
    }
    this.finish(!this.head.keepAlive || (response.framing === "close"));
  }

  onUpstreamClose(error: Error | undefined): void {
    if (this.finished) return;
    const closed = this.upstream;
    this.upstream = undefined;
    this.clearTryTimer();
    if (this.responseStarted) {
      if (this.response?.framing === "close") {
        this.finish(true);
        return;
      }
      this.addFlag("UC");
      this.record.details = "upstream_reset_after_response_started{connection_termination}";
      this.abortResponse();
      return;
    }
    const connectFailure = error !== undefined && isConnectError(error);
    this.cluster.recordOutcome(this.endpoint, 503, this.env.now());
    if (connectFailure) this.cluster.stats.connectFailures += 1;
    const r = this.decision.retries;
    const retriable = connectFailure
      ? retriesFailure(r, "connect-failure")
      : retriesFailure(r, "reset");
    const stale = !connectFailure && this.staleReuse(closed);
    if ((retriable || stale) && this.canRetry(stale ? 1 : 0)) {
      this.scheduleRetry();
      return;
    }
    if (connectFailure) this.failUpstream("UF", 503, localReplyBodies.UF, `upstream_reset_before_response_started{connection_failure${tlsFailureDetail(error)}}`, retriable);
    else this.failUpstream("UC", 503, localReplyBodies.UC, "upstream_reset_before_response_started{connection_termination}", retriable);
  }

  /**
   * A kept-alive connection the upstream closed just as we reused it (no response byte came back):
   * an idempotent request is safe to send again on a fresh connection, whatever the retry policy.
   */
  private staleReuse(closed: UpstreamConnection | undefined): boolean {
    return closed !== undefined && closed.served > 1 && this.responseBuffer === undefined && idempotent.has(this.head.method);
  }

  onUpstreamDrain(): void {
    if (this.pendingBody.length === 0) this.downstream.resumeReading();
  }

  private startTunnel(buffer: Buffer): void {
    const upstream = this.upstream as UpstreamConnection;
    this.clearTryTimer();
    this.record.responseCode = 101;
    this.record.upstreamHeadMs = this.env.now();
    this.upstream = undefined;
    upstream.handler = undefined;
    this.settle();
    this.record.endMs = this.env.now();
    this.env.finished(this.head, this.record, this.decision);
    this.downstream.tunnel(upstream, Buffer.from(buffer));
  }

  /** Writes bytes of the current upstream read to the client. */
  private forward(data: Buffer): boolean {
    const upstream = this.upstream;
    return upstream ? this.downstream.forward(data, upstream) : this.downstream.write(data);
  }

  // ---- endings ----

  private failUpstream(flag: string, status: number, body: string, details: string, retriable = false): void {
    this.discardAttempt();
    if (retriable && this.decision.retries.attempts > 0) this.addFlag("URX");
    this.localReply(status, flag, body, details);
  }

  protected discardAttempt(): void {
    this.clearTryTimer();
    const upstream = this.upstream;
    if (upstream) {
      this.upstream = undefined;
      upstream.handler = undefined;
      upstream.socket.destroy();
    }
  }

  /** Over: also leaves the endpoint's queue of requests waiting for a connection, if still in it. */
  protected override settle(): boolean {
    if (!super.settle()) return false;
    if (this.cancelWait) {
      this.cancelWait();
      this.cancelWait = undefined;
      this.cluster.breaker.release("pending-requests");
    }
    return true;
  }
}

/**
 * `prefix`, then the raw head bytes `[start, end)` without the byte ranges in `cut` (header lines
 * not to forward: hop-by-hop, metadata exchange; ranges before `start` are ignored), then `tail`
 * and `body` (a response's body, or the fixed end of a request head): one buffer, one copy per
 * kept segment. `prefix` and `tail` are latin1 text.
 */
export function rawHeadWithout(buffer: Buffer, start: number, end: number, cut: readonly number[], prefix: string, tail: string, body?: Buffer): Buffer {
  let removed = 0;
  for (let i = 0; i < cut.length; i += 2) if ((cut[i] as number) >= start) removed += (cut[i + 1] as number) - (cut[i] as number);
  const out = allocHeadBuffer(prefix.length + end - start - removed + tail.length + (body === undefined ? 0 : body.length));
  let at = prefix.length === 0 ? 0 : out.write(prefix, 0, "latin1");
  let from = start;
  for (let i = 0; i < cut.length; i += 2) {
    if ((cut[i] as number) < start) continue;
    at += buffer.copy(out, at, from, cut[i] as number);
    from = cut[i + 1] as number;
  }
  at += buffer.copy(out, at, from, end);
  at += out.write(tail, at, "latin1");
  if (body !== undefined) body.copy(out, at);
  return out;
}

/**
 * Header lines (`name: value\r\n`) without hop-by-hop headers, with `authority` replacing Host and
 * `ops` applied; without the incoming trace headers when the proxy adds its own (`replaceTrace`).
 */
export function rebuildHeaders(head: RequestHead, authority: string | undefined, ops: readonly HeaderOps[], replaceTrace = false): string {
  const names = head.names;
  const values = head.values;
  const connectionNamed = new Set<string>();
  for (let i = 0; i < names.length; i++) {
    if (names[i] === "connection") for (const token of (values[i] as string).toLowerCase().split(",")) connectionNamed.add(token.trim());
  }
  const keptNames: string[] = [];
  const keptValues: string[] = [];
  let sawHost = false;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (hopByHop.has(name) || (connectionNamed.has(name) && name !== "upgrade")) continue;
    if (replaceTrace && traceHeaders.has(name)) continue;
    if (proxyControlHeaders.has(name)) continue;
    if (name === "upgrade" && head.upgrade === undefined) continue;
    if (name === "host") {
      if (sawHost) continue;
      sawHost = true;
      keptNames.push("host");
      keptValues.push(authority ?? head.authority);
      continue;
    }
    keptNames.push(name);
    keptValues.push(values[i] as string);
  }
  if (!sawHost) {
    keptNames.unshift("host");
    keptValues.unshift(authority ?? head.authority);
  }
  let out = applyHeaderOps(keptNames, keptValues, ops);
  if (head.upgrade !== undefined) out += "connection: upgrade\r\n";
  return out;
}

const noCut: readonly number[] = [];

const blankLine = Buffer.from("\r\n", "latin1");
/** The end of an upstream request head per metadata-exchange text: its lines and the blank line, encoded once. */
const headEndings = new Map<string, Buffer>();

function headEnding(metadata: string | undefined): Buffer {
  if (metadata === undefined) return blankLine;
  let ending = headEndings.get(metadata);
  if (ending === undefined) {
    ending = Buffer.from(`${metadata}\r\n`, "latin1");
    // One text per sidecar (its own metadata); a bound in case something ever makes more.
    if (headEndings.size < 16) headEndings.set(metadata, ending);
  }
  return ending;
}

/** The shared "no chunks yet" array of an exchange: replaced, never pushed to. */
const noChunks: Buffer[] = [];

/** `METHOD target HTTP/1.1` and CRLF, with the decision's target when it changes it. */
function requestLine(head: RequestHead, d: ForwardDecision): string {
  return `${head.method} ${d.target ?? head.target} HTTP/1.1\r\n`;
}

/**
 * Whether the request carried the peer's `x-envoy-peer-metadata-id` (a metadata exchange the
 * inbound side answers): read off the metadata lines the parser found (`peerMetadataCut`), whose
 * names are `x-envoy-peer-metadata` followed by `:` or by `-id`.
 */
export function sentPeerMetadataId(head: RequestHead, headBuffer: Buffer): boolean {
  const cut = head.peerMetadataCut;
  if (cut === undefined) return false;
  for (let i = 0; i < cut.length; i += 2) if (headBuffer[(cut[i] as number) + PEER_METADATA_HEADER.length] === 0x2d /* - */) return true;
  return false;
}

const idempotent = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

const traceHeaders = new Set(TRACE_HEADER_NAMES);

/** Headers the proxy consumes (Envoy's router removes them before forwarding). */
export const proxyControlHeaders: ReadonlySet<string> = new Set([
  "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-retry-on",
  "x-envoy-max-retries",
  // Metadata exchange: read by the server sidecar, replaced by the client sidecar's own.
  PEER_METADATA_HEADER,
  PEER_METADATA_ID_HEADER,
]);

const hopByHop = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer"]);

/** Serialises headers after Envoy's order of header operations: remove, set (replace), add (append). */
export function applyHeaderOps(names: readonly string[], values: readonly string[], ops: readonly HeaderOps[]): string {
  let out = "";
  const removed = new Set<string>();
  const set = new Map<string, string>();
  const added: string[] = [];
  for (const op of ops) {
    for (const name of op.remove) removed.add(name);
    for (const [name, value] of op.set) set.set(name, value);
    for (const [name, value] of op.add) added.push(`${name}: ${value}\r\n`);
  }
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (removed.has(name) || set.has(name)) continue;
    out += `${name}: ${values[i] as string}\r\n`;
  }
  for (const [name, value] of set) out += `${name}: ${value}\r\n`;
  for (const line of added) out += line;
  return out;
}

function isConnectError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  // A failed TLS handshake (origination: certificate, secure naming) is a connection failure, as in Envoy.
  if ((error as { tlsReason?: string }).tlsReason !== undefined) return true;
  return code === "ECONNREFUSED" || code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "ENOTFOUND" || code === "EAI_AGAIN" || error.message === "connect timeout" || error.message === "connection closed before connect";
}
