// One try of a request upstream, over an HTTP/2 stream of a pooled session or an HTTP/1.1
// request on a keep-alive Agent, behind one small interface so Http2Exchange applies the same
// retry, timeout and streaming logic to both. After `cancel()` the handler hears nothing more.
import { request, type Agent } from "node:http";
import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import type { Http2SessionPool, PooledSession } from "./http2-session-pool.ts";
import { localAddressOf } from "../proxy/socket-address.ts";

/** Why a try ended without a complete response. */
export type UpstreamFailure = "connect-failure" | "refused-stream" | "remote-reset" | "connection-termination";

export interface AttemptHandler {
  /** The final response head (1xx are not reported); `endStream` = no body or trailers follow (gRPC trailers-only). */
  onUpstreamHead(status: number, headers: IncomingHttpHeaders, endStream: boolean): void;
  onUpstreamData(chunk: Buffer): void;
  onUpstreamTrailers(trailers: IncomingHttpHeaders): void;
  onUpstreamEnd(): void;
  onUpstreamFailure(failure: UpstreamFailure): void;
  /** The upstream accepts more request body (after a write returned false). */
  onUpstreamDrain(): void;
}

export interface UpstreamAttempt {
  /** Sends request body; false when the upstream's buffer is full (wait for onUpstreamDrain). */
  write(chunk: Buffer): boolean;
  end(): void;
  /** Pause / resume reading the response (response backpressure). */
  pause(): void;
  resume(): void;
  /** Abandons the try: RST_STREAM(CANCEL) or the HTTP/1.1 connection destroyed. */
  cancel(): void;
  /** `ip:port` of the local end of the connection carrying it ("" before it connected). */
  localAddress(): string;
}

/** A stream on `entry` (acquired from `pool`); `endStream` = the request has no body. */
export function openHttp2Attempt(pool: Http2SessionPool, entry: PooledSession, headers: OutgoingHttpHeaders, endStream: boolean, handler: AttemptHandler): UpstreamAttempt {
  let done = false;
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    pool.release(entry);
  };
  let stream: ReturnType<PooledSession["session"]["request"]>;
  try {
    stream = entry.session.request(headers, { endStream });
  } catch {
    // The session went away between acquire and request (GOAWAY, destroyed).
    release();
    const failure: UpstreamFailure = entry.connectFailed ? "connect-failure" : "connection-termination";
    queueMicrotask(() => !done && handler.onUpstreamFailure(failure));
    return { write: () => true, end: () => undefined, pause: () => undefined, resume: () => undefined, cancel: () => void (done = true), localAddress: () => "" };
  }
  // node:http2 emits 'response' on the next tick, but DATA frames read with the HEADERS in one
  // chunk go to a flowing stream at once: body bytes can come before the head. They wait for it.
  let headSeen = false;
  let early: Buffer[] | undefined;
  let endedEarly = false;
  stream.on("response", (responseHeaders, flags) => {
    if (done) return;
    headSeen = true;
    handler.onUpstreamHead(Number(responseHeaders[":status"]), responseHeaders, (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0);
    const waiting = early;
    early = undefined;
    if (waiting !== undefined) for (const chunk of waiting) if (!done) handler.onUpstreamData(chunk);
    if (endedEarly && !done) {
      done = true;
      handler.onUpstreamEnd();
    }
  });
  stream.on("data", (chunk: Buffer) => {
    if (done) return;
    if (headSeen) handler.onUpstreamData(chunk);
    else (early ??= []).push(chunk);
  });
  stream.on("trailers", (trailers) => {
    if (!done) handler.onUpstreamTrailers(trailers);
  });
  stream.on("end", () => {
    if (done) return;
    if (!headSeen) {
      endedEarly = true;
      return;
    }
    done = true;
    handler.onUpstreamEnd();
  });
  stream.on("drain", () => {
    if (!done) handler.onUpstreamDrain();
  });
  stream.on("error", () => undefined);
  stream.on("close", () => {
    release();
    if (done) return;
    done = true;
    let failure: UpstreamFailure;
    // A stream that closes before its session ever connected: the connection failed (refused, unreachable, connect timeout).
    if (entry.connectFailed || !entry.connected) failure = "connect-failure";
    else if (stream.rstCode === constants.NGHTTP2_REFUSED_STREAM) failure = "refused-stream";
    else if (entry.session.destroyed || entry.session.closed) failure = "connection-termination";
    else failure = "remote-reset";
    handler.onUpstreamFailure(failure);
  });
  return {
    write: (chunk) => stream.write(chunk),
    end: () => {
      if (!stream.writableEnded) stream.end();
    },
    pause: () => stream.pause(),
    resume: () => stream.resume(),
    cancel: () => {
      done = true;
      if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    },
    localAddress: () => localAddressOf(entry.session.socket),
  };
}

export interface Http1Target {
  readonly agent: Agent;
  readonly host: string;
  readonly port: number;
  readonly method: string;
  readonly path: string;
}

/** An HTTP/1.1 request on the endpoint's keep-alive Agent (the fallback for clusters that do not speak HTTP/2). */
export function openHttp1Attempt(target: Http1Target, headers: OutgoingHttpHeaders, endStream: boolean, handler: AttemptHandler): UpstreamAttempt {
  let done = false;
  let response: import("node:http").IncomingMessage | undefined;
  const req = request({ host: target.host, port: target.port, method: target.method, path: target.path, headers, agent: target.agent, setHost: false });
  req.on("response", (res) => {
    if (done) {
      res.destroy();
      return;
    }
    response = res;
    handler.onUpstreamHead(res.statusCode ?? 502, res.headers as IncomingHttpHeaders, false);
    res.on("data", (chunk: Buffer) => {
      if (!done) handler.onUpstreamData(chunk);
    });
    res.on("end", () => {
      if (done) return;
      done = true;
      if (Object.keys(res.trailers).length > 0) handler.onUpstreamTrailers(res.trailers as IncomingHttpHeaders);
      handler.onUpstreamEnd();
    });
    res.on("error", () => undefined);
    res.on("close", () => {
      if (done) return;
      done = true;
      handler.onUpstreamFailure("connection-termination");
    });
  });
  req.on("error", (error: NodeJS.ErrnoException) => {
    if (done) return;
    done = true;
    handler.onUpstreamFailure(error.code === "ECONNREFUSED" || error.code === "EHOSTUNREACH" || error.code === "ENETUNREACH" ? "connect-failure" : "connection-termination");
  });
  req.on("drain", () => {
    if (!done) handler.onUpstreamDrain();
  });
  if (endStream) req.end();
  return {
    write: (chunk) => req.write(chunk),
    end: () => {
      if (!req.writableEnded) req.end();
    },
    pause: () => response?.pause(),
    resume: () => response?.resume(),
    cancel: () => {
      done = true;
      req.destroy();
    },
    localAddress: () => localAddressOf(req.socket),
  };
}
