// An HTTP/2 client connection handed over by a listener: h2c with prior knowledge (the HTTP/1.1
// connection saw the `PRI * HTTP/2.0` preface in its first bytes) or TLS negotiated with ALPN
// `h2`. node:http2 runs the session; each stream is routed by the same decision as an HTTP/1.1
// request (routeOutbound over a RequestHead) and proxied by an Http2Exchange. A decision may read
// the body ahead (an external authorizer's includeRequestBodyInCheck, Http2StreamArrival); the
// exchange then sends what was read first.
import type { Socket } from "node:net";
import { constants, performServerHandshake, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import type { TLSSocket } from "node:tls";
import type { RequestHead } from "../http1/parse-request-head.ts";
import type { ExchangeEnvironment } from "../proxy/exchange.ts";
import type { Decision, ReplyDecision } from "../proxy/route-request.ts";
import type { ArrivalConnection } from "../proxy/socket-address.ts";
import { isGrpcContentType } from "./grpc-status.ts";
import { Http2Exchange, type Http2ExchangeRecord } from "./http2-exchange.ts";
import { Http2StreamArrival, type ReadAhead } from "./http2-stream-arrival.ts";
import { requestHeadFromHttp2 } from "./request-head-from-http2.ts";
import { headerLinesToObject, sendLocalReply } from "./send-local-reply.ts";
import type { UpstreamSessions } from "./upstream-sessions.ts";
import type { DownstreamSecurity } from "../tls/inbound-tls.ts";

/** What an HTTP/2 connection needs from its listener (a subset of the HTTP/1.1 ListenerHooks plus the upstream sessions). */
export interface Http2ConnectionHooks {
  readonly env: ExchangeEnvironment;
  /**
   * Route decision for a request (reads the listener's current snapshot); `security` is the
   * connection's mutual-TLS peer, `serverName` always undefined here (the listener binds its own),
   * `connection` the session's addresses and the stream's body reader. A promise when the decision
   * must wait (JWKS fetch, external authorizer); the stream's data waits unread unless the
   * decision reads it ahead.
   */
  decide(head: RequestHead, sourceIp: string, security?: DownstreamSecurity, serverName?: string, connection?: ArrivalConnection): Decision | Promise<Decision>;
  /** The verified mutual-TLS peer of the connection (ALPN h2 over TLS); undefined for h2c. */
  readonly security?: DownstreamSecurity | undefined;
  readonly upstreams: UpstreamSessions;
  /** Close the connection (GOAWAY) after this long without any frame; undefined = never. */
  readonly idleTimeoutMs?: number | undefined;
  /** The session ended (for the listener's connection set and drain). */
  closed?(session: ServerHttp2Session): void;
}

/**
 * Serves an HTTP/2 connection on `socket`. `firstBytes` are bytes the caller already read (the
 * connection preface and whatever followed); they are put back before the session starts. The
 * caller must have removed its own `data` listeners. Returns the session: `session.close()`
 * sends GOAWAY and lets open streams finish (drain).
 */
export function handleHttp2Connection(socket: Socket | TLSSocket, firstBytes: Buffer | undefined, hooks: Http2ConnectionHooks): ServerHttp2Session {
  if (firstBytes !== undefined && firstBytes.length > 0) socket.unshift(firstBytes);
  const session = performServerHandshake(socket, { settings: { enablePush: false } });
  const sourceIp = socket.remoteAddress ?? "";
  session.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => serveStream(stream, headers, flags, sourceIp, socket, hooks));
  session.on("error", () => undefined);
  if (hooks.idleTimeoutMs !== undefined) session.setTimeout(hooks.idleTimeoutMs, () => session.close());
  socket.on("error", () => undefined);
  session.once("close", () => hooks.closed?.(session));
  return session;
}

function serveStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, sourceIp: string, socket: ArrivalConnection["socket"], hooks: Http2ConnectionHooks): void {
  stream.on("error", () => undefined);
  const head = requestHeadFromHttp2(headers);
  const endedWithHeaders = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
  const arrival = new Http2StreamArrival(socket, stream, endedWithHeaders);
  const decided = hooks.decide(head, sourceIp, hooks.security, undefined, arrival);
  if (decided instanceof Promise) {
    decided.then(
      (decision) => !stream.destroyed && proceed(stream, headers, head, decision, endedWithHeaders, arrival.readAhead, hooks),
      () => stream.destroy(),
    );
    return;
  }
  proceed(stream, headers, head, decided, endedWithHeaders, undefined, hooks);
}

/** Answers or starts the exchange; `readAhead` is the body the decision read (it goes upstream first). */
function proceed(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, head: RequestHead, decision: Decision, endedWithHeaders: boolean, readAhead: ReadAhead | undefined, hooks: Http2ConnectionHooks): void {
  const requestComplete = endedWithHeaders || readAhead?.complete === true;
  if (decision.type === "reply") {
    reply(stream, head, decision, isGrpcContentType(headers["content-type"]), hooks.env);
    if (!requestComplete) stream.resume();
    return;
  }
  new Http2Exchange(stream, headers, head, decision, { env: hooks.env, upstreams: hooks.upstreams, requestComplete, readAhead: readAhead?.chunks }).start();
}

/** A route-level local reply (404 NR, 503 NC, redirect, direct response); gRPC requests get error replies as gRPC status. */
function reply(stream: ServerHttp2Stream, head: RequestHead, decision: ReplyDecision, grpc: boolean, env: ExchangeEnvironment): void {
  const now = env.now();
  const sent = sendLocalReply(stream, { status: decision.status, body: decision.body, headers: headerLinesToObject(decision.headers), grpc: grpc && decision.status >= 400, headOnly: head.method === "HEAD" });
  const record: Http2ExchangeRecord = {
    startMs: now,
    upstreamHeadMs: 0,
    endMs: now,
    responseCode: sent.responseCode,
    responseFlags: decision.flag,
    details: decision.details,
    requestBytes: head.headBytes,
    responseBytes: sent.responseBytes,
    attempts: 0,
    upstreamHost: "",
    upstreamLocalAddress: "",
    endpoint: -1,
    trace: undefined,
    protocol: "HTTP/2",
    grpcStatus: sent.grpcStatus,
  };
  env.finished(head, record, decision);
}
