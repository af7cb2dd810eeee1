// One client connection to an HTTP/1.1 listener. It parses request heads off the raw socket,
// frames request bodies (Content-Length or chunked) without decoding them, runs one exchange at
// a time (pipelined requests wait in the buffer, so responses keep their order), answers
// malformed requests with 400/431/501/505 and closes, and turns into a byte tunnel after a
// 101 Switching Protocols (WebSocket). While a decision waits for an external authorizer that
// asks for the body, it reads the body ahead (readRequestBody), keeping the raw bytes to forward.
import type { Socket } from "node:net";
import { ChunkedScanner } from "../http1/chunked-scanner.ts";
import { isHeadError, parseRequestHead, type HeadLimits, type RequestHead } from "../http1/parse-request-head.ts";
import { RequestBodyCollector } from "../http1/request-body-collector.ts";
import { ReadBuffer, readAcceptedInto, smallReadBufferSize } from "../upstream/read-buffer.ts";
import type { UpstreamConnection } from "../upstream/upstream-connection.ts";
import { Exchange, type Downstream, type DownstreamExchange, type ExchangeEnvironment, type ExchangeRecord } from "./exchange.ts";
import { formatLocalReply } from "./local-reply.ts";
import type { Decision, ForwardDecision, ReplyDecision } from "./route-request.ts";
import type { ArrivalConnection, RequestBodyRead } from "./socket-address.ts";
import type { DownstreamSecurity } from "../tls/inbound-tls.ts";

/** What a connection needs from its listener. */
export interface ListenerHooks {
  readonly limits: HeadLimits;
  readonly env: ExchangeEnvironment;
  /**
   * Route decision for a parsed head (reads the listener's current snapshot). A promise when it
   * must wait (a JWKS fetch, an external authorizer): the connection reads nothing more meanwhile.
   * `connection` is the connection itself (its addresses, for an external authorizer).
   */
  decide(head: RequestHead, sourceIp: string, connection?: ArrivalConnection): Decision | Promise<Decision>;
  /** Whether the listener is draining: connections close after their current exchange. */
  readonly draining: boolean;
  /** Takes over the connection after a CONNECT head (a TCP tunnel); undefined = answer 405. */
  readonly connect?: ((socket: Socket, authority: string, leftover: Buffer | undefined) => void) | undefined;
  /** Takes over a connection that opened with the HTTP/2 preface (h2c prior knowledge); undefined = answer 505. */
  readonly http2?: ((socket: Socket, firstBytes: Buffer) => void) | undefined;
  /**
   * The exchange of a request whose cluster speaks HTTP/2 upstream (h2UpgradePolicy UPGRADE, an
   * http2/grpc port); a promise while the HTTP/2 path loads (then asked again). Undefined: such
   * requests go upstream over HTTP/1.1.
   */
  readonly upgrade?: ((head: RequestHead, headBuffer: Buffer, decision: ForwardDecision, downstream: Downstream) => DownstreamExchange | Promise<unknown>) | undefined;
  closed(connection: DownstreamConnection): void;
}

type State = "head" | "deciding" | "body" | "wait" | "tunnel" | "closed";

/** A body being read ahead for an external authorizer's check: its collector, and who waits for what it read. */
interface BodyReadAhead {
  readonly collector: RequestBodyCollector;
  readonly settle: (read: RequestBodyRead) => void;
}

/** RFC 9113 §3.4: the client connection preface of HTTP/2 with prior knowledge. */
const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

const http10Refused: ReplyDecision = { type: "reply", status: 426, flag: "", body: "", headers: [], routeName: "", details: "http1.0_not_allowed" };

/** Bytes of pipelined requests buffered while a response is in progress before reading pauses. */
const pipelineBufferLimit = 64 * 1024;

/** The interim response a client that sent `Expect: 100-continue` waits for before its body (RFC 9110 §10.1.1). */
const continueResponse = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");

export class DownstreamConnection implements Downstream, ArrivalConnection {
  readonly socket: Socket;
  private readonly hooks: ListenerHooks;
  private state: State = "head";
  private buffer: Buffer | undefined;
  private exchange: DownstreamExchange | undefined;
  private bodyRemaining = 0;
  private bodyScanner: ChunkedScanner | undefined;
  private processing = false;
  private paused = false;
  /** True until the first request head is parsed: only then may the HTTP/2 preface appear. */
  private first = true;
  /** When the bytes of an incomplete head started to arrive (slowloris check); 0 when none is pending. */
  headStartedMs = 0;
  /** Counts reads and finished responses: the listener's sweeper sees traffic as a change (no clock read per read). */
  private activity = 0;
  private activitySeen = 0;
  /** When the sweeper last saw `activity` change (the connection's clock, ms). */
  private quietSinceMs: number;
  readonly sourceIp: string;
  /** The verified mutual-TLS peer of the connection; undefined for plain text. */
  readonly security: DownstreamSecurity | undefined;
  /** Istio's `source.principal` of the peer (`cluster.local/ns/x/sa/y`); undefined for plain text. */
  readonly peerPrincipal: string | undefined;
  /** The peer's SPIFFE ID (`spiffe://cluster.local/ns/x/sa/y`); undefined for plain text. */
  readonly peerSpiffeId: string | undefined;
  /** `TLSv1.3` / `TLSv1.2`; undefined for plain text. */
  readonly tlsVersion: string | undefined;
  /** The socket's own read buffer, reused from read to read; undefined where the runtime lacks what that needs (`readAcceptedInto`): `data` events. */
  private readonly reads: ReadBuffer | undefined;
  /**
   * True while a read of `reads` is handled: its bytes are valid only until then, so whatever keeps
   * them (an incomplete head, a pipelined request, body bytes for a retry or behind a queued
   * upstream write, an exchange's head before it is sent) copies them first.
   */
  private volatile = false;
  /** The body of the request being decided, read ahead for an external authorizer's check; undefined when none is being read. */
  private bodyRead: BodyReadAhead | undefined;

  constructor(socket: Socket, hooks: ListenerHooks, security?: DownstreamSecurity) {
    this.socket = socket;
    this.hooks = hooks;
    this.sourceIp = socket.remoteAddress ?? "";
    this.security = security;
    this.peerPrincipal = security?.peerPrincipal;
    this.peerSpiffeId = security?.peerSpiffeId;
    this.tlsVersion = security?.tlsVersion;
    this.quietSinceMs = hooks.env.now();
    socket.setNoDelay(true);
    const reads = new ReadBuffer(smallReadBufferSize);
    this.reads = readAcceptedInto(socket, reads) ? reads : undefined;
    // Bytes the socket's stream already holds (PERMISSIVE's first bytes, what a TLS socket decrypted
    // before it was handed over) come before any read into the buffer: taken out now (before the
    // `data` listener, or `read` would emit them to it too) and handled below.
    let held: Buffer[] | undefined;
    if (this.reads) {
      reads.sink = (data) => this.onRead(data);
      for (let chunk = socket.readableLength > 0 ? (socket.read() as Buffer | null) : null; chunk !== null; chunk = socket.read() as Buffer | null) (held ??= []).push(chunk);
    }
    socket.on("data", (data: Buffer) => this.onData(data));
    socket.on("drain", () => this.exchange?.onDownstreamDrain());
    socket.on("error", () => undefined);
    socket.on("end", () => this.onEnd());
    socket.on("close", () => this.onClose());
    if (held !== undefined) for (const chunk of held) this.onData(chunk);
  }

  /** ArrivalConnection: what the connection speaks (HTTP/1.0 requests are refused before any decision). */
  get protocol(): "HTTP/1.1" {
    return "HTTP/1.1";
  }

  /** Whether no request is in progress (drain closes such connections at once). */
  get idle(): boolean {
    return this.state === "head" && this.buffer === undefined;
  }

  /** A read into the connection's buffer: what stays referred to after it is copied. */
  private onRead(data: Buffer): void {
    this.volatile = true;
    try {
      this.onData(data);
    } finally {
      this.volatile = false;
    }
    const buffer = this.buffer;
    if (buffer !== undefined && buffer.buffer === data.buffer) this.buffer = Buffer.from(buffer);
  }

  private onData(data: Buffer): void {
    this.activity++;
    if (this.state === "closed") return;
    if (this.state === "body") {
      const used = this.feedBody(data, 0);
      if (used < data.length) this.append(data.subarray(used));
      return;
    }
    this.append(data);
    if (this.state === "head") this.processBuffer();
    else if (this.bodyRead !== undefined) this.continueBodyRead(this.bodyRead, data);
  }

  private append(data: Buffer): void {
    this.buffer = this.buffer === undefined ? data : Buffer.concat([this.buffer, data]);
    // While the body is read ahead for a check, its collector bounds what is held.
    if (this.state !== "head" && this.buffer.length > pipelineBufferLimit && this.bodyRead === undefined) this.pauseReading();
  }

  /**
   * ArrivalConnection: reads the body of the request being decided for an external authorizer.
   * The raw bytes stay in the buffer (the exchange forwards them unchanged once the request is
   * decided); the collector decodes the payload up to `stopAtBytes`, and at most twice that plus
   * 64 KiB of raw bytes (chunk framing) are held. Reading pauses again once it is done.
   */
  readRequestBody(head: RequestHead, stopAtBytes: number): Promise<RequestBodyRead> | undefined {
    if (head.contentLength <= 0 && !head.chunked) return undefined;
    if (this.state === "closed") return Promise.resolve(clientGone);
    const collector = new RequestBodyCollector(head, stopAtBytes, 2 * stopAtBytes + pipelineBufferLimit);
    if (this.buffer !== undefined) collector.feed(this.buffer);
    if (collector.done) return Promise.resolve(bodyReadOf(collector));
    // Envoy answers 100-continue itself; a client waiting for it would not send the body the check needs.
    if (head.expectContinue) this.socket.write(continueResponse);
    return new Promise((settle) => {
      this.bodyRead = { collector, settle };
      this.resumeReading();
    });
  }

  /** More bytes of the body being read ahead: settles the read once the collector is done, and stops reading. */
  private continueBodyRead(read: BodyReadAhead, data: Buffer): void {
    read.collector.feed(data);
    if (!read.collector.done) return;
    this.bodyRead = undefined;
    this.pauseReading();
    read.settle(bodyReadOf(read.collector));
  }

  /** Parses and starts as many requests as the buffer holds, one at a time. */
  private processBuffer(): void {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.state === "head" && this.buffer !== undefined) {
        let buffer = this.buffer;
        // RFC 9112 §2.2: ignore empty lines before a request line.
        let skip = 0;
        while (skip + 1 < buffer.length && buffer[skip] === 13 && buffer[skip + 1] === 10) skip += 2;
        if (skip > 0) buffer = buffer.subarray(skip);
        if (buffer.length === 0) {
          this.buffer = undefined;
          break;
        }
        if (this.first && this.hooks.http2 && buffer[0] === 0x50 /* P */) {
          const prefix = Math.min(buffer.length, http2Preface.length);
          if (buffer.subarray(0, prefix).equals(http2Preface.subarray(0, prefix))) {
            if (prefix < http2Preface.length) {
              this.buffer = buffer;
              break;
            }
            this.handOverToHttp2(buffer);
            break;
          }
        }
        const parsed = parseRequestHead(buffer, this.hooks.limits);
        if (parsed === undefined) {
          this.buffer = buffer;
          if (this.headStartedMs === 0) this.headStartedMs = this.hooks.env.now();
          break;
        }
        this.headStartedMs = 0;
        this.first = false;
        if (isHeadError(parsed)) {
          this.rejectHead(parsed.status);
          break;
        }
        // Usually the head is all there is: no view made for an empty rest.
        this.buffer = parsed.headBytes < buffer.length ? buffer.subarray(parsed.headBytes) : undefined;
        this.startRequest(parsed, buffer);
      }
    } finally {
      this.processing = false;
    }
  }

  /** The connection is a TCP tunnel from here on (CONNECT): the TCP proxy takes the socket and any bytes after the head. */
  private handOverToTunnel(authority: string): void {
    this.state = "tunnel";
    const leftover = this.buffer !== undefined ? this.stable(this.buffer) : undefined;
    this.buffer = undefined;
    const socket = this.socket;
    this.reads?.pushTo(socket);
    socket.removeAllListeners("data");
    socket.removeAllListeners("drain");
    socket.removeAllListeners("end");
    socket.setTimeout(0);
    this.hooks.closed(this);
    this.hooks.connect?.(socket, authority, leftover);
  }

  /** The connection speaks HTTP/2 from here on: the HTTP/2 server takes the socket and the bytes read so far. */
  private handOverToHttp2(buffer: Buffer): void {
    this.state = "tunnel";
    this.buffer = undefined;
    const socket = this.socket;
    // node:http2 reads the socket's handle itself (or its `data` when it cannot).
    this.reads?.pushTo(socket);
    buffer = this.stable(buffer);
    socket.removeAllListeners("data");
    socket.removeAllListeners("drain");
    // Paused, or bytes arriving before node:http2 takes the socket (and the preface put back) are lost.
    socket.pause();
    this.hooks.closed(this);
    this.hooks.http2?.(socket, buffer);
  }

  private startRequest(head: RequestHead, headBuffer: Buffer): void {
    if (head.method === "CONNECT" && this.hooks.connect) {
      this.handOverToTunnel(head.authority);
      return;
    }
    // Istio's default (PILOT_HTTP10 off): HTTP/1.0 is refused with 426, as Envoy does without accept_http_10.
    const decision = head.minorVersion === 0 ? http10Refused : this.hooks.decide(head, this.sourceIp, this);
    if (decision instanceof Promise) {
      this.proceedLater(decision, head, headBuffer);
      return;
    }
    this.proceed(head, headBuffer, decision);
  }

  /** Reads nothing more until `pending` settles, then proceeds with its decision (a rejection closes the connection). */
  private proceedLater(pending: Promise<Decision>, head: RequestHead, headBuffer: Buffer): void {
    // Bytes that arrive meanwhile (the body, pipelined requests) wait in the buffer.
    const kept = this.volatile ? Buffer.from(headBuffer.subarray(0, head.headBytes)) : headBuffer;
    this.state = "deciding";
    // Unless the decision is reading the body ahead (readRequestBody), which pauses when done.
    if (this.bodyRead === undefined) this.pauseReading();
    pending.then(
      (settled) => {
        if (this.state !== "deciding") return;
        this.state = "head";
        this.resumeReading();
        this.proceed(head, kept, settled);
        if (this.state === "head" && this.buffer !== undefined) this.processBuffer();
      },
      () => this.abort(),
    );
  }

  /** Answers locally or starts the exchange, once the decision is known. */
  private proceed(head: RequestHead, headBuffer: Buffer, decision: Decision): void {
    const hasBody = head.contentLength > 0 || head.chunked;
    if (decision.type === "reply") {
      this.reply(head, decision, hasBody);
      return;
    }
    const upgrade = this.hooks.upgrade;
    let exchange: DownstreamExchange;
    if (upgrade !== undefined && decision.cluster.spec.upstreamHttp2 && head.upgrade === undefined) {
      const made = upgrade(head, headBuffer, decision, this);
      if (made instanceof Promise) {
        this.proceedLater(made.then(() => decision), head, headBuffer);
        return;
      }
      exchange = made;
    } else {
      exchange = new Exchange(head, headBuffer, decision, this, this.hooks.env);
    }
    this.exchange = exchange;
    if (hasBody) {
      this.state = "body";
      this.bodyRemaining = head.chunked ? 0 : head.contentLength;
      this.bodyScanner = head.chunked ? new ChunkedScanner() : undefined;
    } else {
      this.state = "wait";
    }
    exchange.start();
    if (this.state === "body" && this.buffer !== undefined) {
      const pending = this.buffer;
      this.buffer = undefined;
      const used = this.feedBody(pending, 0);
      if (used < pending.length) this.append(pending.subarray(used));
    }
    if (this.volatile) exchange.keepHead();
  }

  /** `data` itself, or a copy when it is a view of the read being handled. */
  private stable(data: Buffer): Buffer {
    return this.volatile ? Buffer.from(data) : data;
  }

  /** Passes request-body bytes to the exchange; returns how many belonged to the body. */
  private feedBody(data: Buffer, start: number): number {
    const exchange = this.exchange;
    let take: number;
    let done: boolean;
    if (this.bodyScanner) {
      take = this.bodyScanner.scan(data, start);
      if (this.bodyScanner.error) {
        this.socket.destroy();
        return data.length;
      }
      done = this.bodyScanner.done;
    } else {
      take = Math.min(this.bodyRemaining, data.length - start);
      this.bodyRemaining -= take;
      done = this.bodyRemaining === 0;
    }
    if (take > 0 && exchange) exchange.onRequestBody(start === 0 && take === data.length ? data : data.subarray(start, start + take), this.volatile ? this.reads : undefined);
    if (done) {
      this.bodyScanner = undefined;
      if (this.state === "body") this.state = this.exchange ? "wait" : "head";
      exchange?.onRequestEnd();
    }
    return start + take;
  }

  private reply(head: RequestHead, decision: ReplyDecision, hasBody: boolean): void {
    const now = this.hooks.env.now();
    // A body we did not read cannot be skipped reliably when chunked: close after the reply.
    const close = !head.keepAlive || hasBody || this.hooks.draining;
    const bytes = formatLocalReply(decision.status, decision.body, decision.headers, close, head.method === "HEAD");
    const record: ExchangeRecord = {
      startMs: now,
      upstreamHeadMs: 0,
      endMs: now,
      responseCode: decision.status,
      responseFlags: decision.flag,
      details: decision.details,
      requestBytes: head.headBytes,
      responseBytes: bytes.length,
      attempts: 0,
      upstreamHost: "",
      upstreamLocalAddress: "",
      endpoint: -1,
      trace: undefined,
      protocol: head.minorVersion === 1 ? "HTTP/1.1" : "HTTP/1.0",
      grpcStatus: undefined,
    };
    this.socket.write(bytes);
    this.activity++;
    this.hooks.env.finished(head, record, decision);
    if (close) this.closeAfterWrites();
  }

  private rejectHead(status: number): void {
    this.socket.write(formatLocalReply(status, "", [], true));
    this.closeAfterWrites();
  }

  private closeAfterWrites(): void {
    this.state = "closed";
    this.buffer = undefined;
    this.socket.end();
  }

  // ---- Downstream, called by the exchange ----

  write(data: Buffer): boolean {
    return this.socket.write(data);
  }

  forward(data: Buffer, upstream: UpstreamConnection): boolean {
    return upstream.forwardTo(this.socket, data);
  }

  exchangeDone(exchange: DownstreamExchange, close: boolean): void {
    if (exchange !== this.exchange) return;
    this.exchange = undefined;
    this.activity++;
    if (this.state === "closed" || this.state === "tunnel") return;
    if (close || this.hooks.draining || this.state === "body") {
      this.closeAfterWrites();
      return;
    }
    this.state = "head";
    this.resumeReading();
    if (this.buffer !== undefined) this.processBuffer();
  }

  abort(): void {
    this.state = "closed";
    this.socket.destroy();
  }

  pauseReading(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  resumeReading(): void {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  tunnel(upstream: UpstreamConnection, leftover: Buffer | undefined): void {
    this.state = "tunnel";
    this.exchange = undefined;
    const client = this.socket;
    const server = upstream.socket;
    this.reads?.pushTo(client);
    client.removeAllListeners("data");
    if (leftover && leftover.length > 0) client.write(leftover);
    if (this.buffer) server.write(this.buffer);
    this.buffer = undefined;
    this.resumeReading();
    client.pipe(server);
    upstream.pipeTo(client);
    server.on("close", () => client.destroy());
    client.on("close", () => server.destroy());
  }

  /** Closes an idle connection now, or after the current exchange (drain). */
  closeWhenIdle(): void {
    if (this.idle) this.closeAfterWrites();
  }

  /**
   * The idle timeout (Envoy's idle_timeout), called by the listener's sweeper: a connection with no
   * request in progress and no traffic since the sweeper saw its last for `idleTimeoutMs` closes.
   */
  expireIdle(now: number, idleTimeoutMs: number): void {
    if (this.activity !== this.activitySeen) {
      this.activitySeen = this.activity;
      this.quietSinceMs = now;
    } else if (this.idle && now - this.quietSinceMs >= idleTimeoutMs) this.socket.destroy();
  }

  /** Slowloris defence: a head that is still incomplete after the listener's header timeout gets 408. */
  expireHead(): void {
    if (this.state !== "head" || this.headStartedMs === 0) return;
    this.headStartedMs = 0;
    this.socket.write(formatLocalReply(408, "", [], true));
    this.closeAfterWrites();
  }

  /**
   * The client sent FIN. The listener allows half-open sockets so CONNECT tunnels can pass a FIN
   * through; an HTTP connection closes as Envoy's does (and as Node would without allowHalfOpen):
   * a request in progress ends with flag DC when the socket closes.
   */
  private onEnd(): void {
    this.socket.end();
  }

  private onClose(): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    this.state = "closed";
    const read = this.bodyRead;
    this.bodyRead = undefined;
    read?.settle(clientGone);
    exchange?.onDownstreamClosed();
    this.hooks.closed(this);
  }
}

const clientGone: RequestBodyRead = Object.freeze({ type: "failed", details: "downstream_remote_disconnect" });

/** The collector's outcome as readRequestBody reports it. */
function bodyReadOf(collector: RequestBodyCollector): RequestBodyRead {
  if (collector.error !== undefined) return { type: "failed", details: `http1.codec_error: ${collector.error}` };
  return { type: "body", body: collector.body, complete: collector.complete };
}
