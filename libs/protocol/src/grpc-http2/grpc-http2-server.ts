// A gRPC server on node:http2 for unary, server-streaming and client-streaming methods, speaking the
// gRPC-over-HTTP/2 wire protocol (grpc/grpc PROTOCOL-HTTP2.md) that grpc-js and every other gRPC
// client speak. bench/ca measured grpc-js's Server at ~0.38 ms of CPU per unary call over TLS
// against ~0.22 ms for a bare node:http2 handler, and bench/registry ~0.25 ms per replicated put
// for grpc-js on the Raft path; the CA's issuance and the registry's peer transport are hot paths,
// so they serve their few methods here. Method descriptors are ts-proto's grpc-js definitions.
import {
  constants as http2Constants,
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import type { SecureContextOptions, TlsOptions } from "node:tls";
import { frame, grpcContentType, grpcStatusCode, http2Tuning, MessageReader, parseTimeout, statusHeaders, type GrpcFailure, type MethodDefinition } from "./grpc-wire.ts";

/** What a handler knows about its call. */
export interface CallInfo {
  /** `address:port` of the client, as grpc-js's `getPeer()` gives it. */
  readonly peer: string;
  readonly metadata: IncomingHttpHeaders;
}

/** A handler's answer: the response, or a failure status. */
export type CallOutcome<Response> = { readonly ok: true; readonly response: Response } | { readonly ok: false; readonly failure: GrpcFailure };

/** Resolves with the response or with a failure; a rejection becomes INTERNAL. */
export type UnaryHandler<Request, Response> = (request: Request, call: CallInfo) => Promise<CallOutcome<Response>>;

/** A server stream's writer. `onClose` runs once, when the client cancels or the stream ends. */
export interface ServerStream<Response> {
  write(response: Response): void;
  end(): void;
  onClose(callback: () => void): void;
}
export type ServerStreamHandler<Request, Response> = (request: Request, stream: ServerStream<Response>, call: CallInfo) => void;

/** Where a client-streaming call's messages go, made by the handler when the call opens. */
export interface ClientStreamSink<Request, Response> {
  /** One request message, in the order sent, as soon as it arrives. */
  message(request: Request): void;
  /** The client half-closed: the answer (a rejection becomes INTERNAL). */
  end(): Promise<CallOutcome<Response>>;
  /** The call was cut before the client half-closed: reset, lost connection, bad message, server closing. */
  abort(): void;
}
export type ClientStreamHandler<Request, Response> = (call: CallInfo) => ClientStreamSink<Request, Response>;

export interface GrpcHttp2ServerOptions {
  /** Serving certificate and key, plus `ca` / `requestCert` for mutual TLS; absent: cleartext HTTP/2 (h2c). */
  readonly tls?: TlsOptions | undefined;
  /** Largest request message accepted; default 4 MiB (grpc-js's default receive limit). */
  readonly maxMessageBytes?: number;
  /** A handler failed (its caller got INTERNAL). */
  readonly onError: (error: unknown, path: string) => void;
}

/** The messages of one call, as its DATA arrives. */
interface CallSink {
  /** A failure ends the call with that status. */
  message(bytes: Buffer): GrpcFailure | undefined;
  end(): void;
  abort(): void;
}

type Route = (stream: ServerHttp2Stream, call: CallInfo) => CallSink;

/** Serves added methods over TLS or h2c; add methods, then `listen`. */
export class GrpcHttp2Server {
  readonly #server: Http2SecureServer | Http2Server;
  readonly #routes = new Map<string, Route>();
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #streams = new Set<() => void>();
  readonly #onError: (error: unknown, path: string) => void;
  readonly #maxMessageBytes: number;

  constructor(options: GrpcHttp2ServerOptions) {
    this.#onError = options.onError;
    this.#maxMessageBytes = options.maxMessageBytes ?? 4 * 1024 * 1024;
    const http2Options = { settings: { initialWindowSize: http2Tuning.streamWindowBytes }, maxSessionMemory: http2Tuning.maxSessionMemoryMb };
    this.#server = options.tls === undefined ? createServer(http2Options) : createSecureServer({ ...options.tls, ...http2Options, ALPNProtocols: ["h2"], minVersion: options.tls.minVersion ?? "TLSv1.2" });
    this.#server.on("session", (session: ServerHttp2Session) => {
      session.setLocalWindowSize(http2Tuning.connectionWindowBytes);
      this.#sessions.add(session);
      session.once("close", () => this.#sessions.delete(session));
      session.on("error", () => session.destroy());
    });
    this.#server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.#dispatch(stream, headers));
  }

  /** Replaces the serving certificate: later handshakes use it, open connections keep theirs. */
  setSecureContext(tls: SecureContextOptions): void {
    if (!("setSecureContext" in this.#server)) throw new Error("setSecureContext: this server speaks cleartext HTTP/2; give it `tls` to serve certificates");
    this.#server.setSecureContext(tls);
  }

  addUnary<Request, Response>(method: MethodDefinition<Request, Response>, handler: UnaryHandler<Request, Response>): void {
    this.#routes.set(
      method.path,
      singleRequest(method.requestDeserialize, (stream, request, call) => {
        handler(request, call).then(
          (outcome) => this.#answer(stream, method.responseSerialize, outcome),
          (error: unknown) => this.#fail(stream, method.path, error),
        );
      }),
    );
  }

  addServerStream<Request, Response>(method: MethodDefinition<Request, Response>, handler: ServerStreamHandler<Request, Response>): void {
    this.#routes.set(
      method.path,
      singleRequest(method.requestDeserialize, (stream, request, call) => {
        const closers: (() => void)[] = [];
        let closed = false;
        const close = (): void => {
          if (closed) return;
          closed = true;
          this.#streams.delete(end);
          for (const callback of closers) callback();
        };
        const end = (): void => {
          if (!stream.destroyed && !stream.closed) sendTrailers(stream, { code: grpcStatusCode.OK, details: "" });
          close();
        };
        this.#streams.add(end);
        stream.once("close", close);
        stream.respond({ ":status": 200, "content-type": grpcContentType }, { waitForTrailers: true });
        handler(
          request,
          {
            write: (response) => {
              if (!closed && !stream.destroyed) stream.write(frame(method.responseSerialize(response)));
            },
            end,
            onClose: (callback) => (closed ? callback() : closers.push(callback)),
          },
          call,
        );
      }),
    );
  }

  addClientStream<Request, Response>(method: MethodDefinition<Request, Response>, handler: ClientStreamHandler<Request, Response>): void {
    this.#routes.set(method.path, (stream, call) => {
      const sink = handler(call);
      return {
        message: (bytes) => {
          let request: Request;
          try {
            request = method.requestDeserialize(bytes);
          } catch (error) {
            return { code: grpcStatusCode.INTERNAL, details: `request message does not decode: ${(error as Error).message}` };
          }
          sink.message(request);
          return undefined;
        },
        end: () => {
          sink.end().then(
            (outcome) => this.#answer(stream, method.responseSerialize, outcome),
            (error: unknown) => this.#fail(stream, method.path, error),
          );
        },
        abort: () => sink.abort(),
      };
    });
  }

  #answer<Response>(stream: ServerHttp2Stream, serialize: (response: Response) => Buffer, outcome: CallOutcome<Response>): void {
    if (outcome.ok) sendResponse(stream, frame(serialize(outcome.response)));
    else sendStatus(stream, outcome.failure);
  }

  #fail(stream: ServerHttp2Stream, path: string, error: unknown): void {
    this.#onError(error, path);
    sendStatus(stream, { code: grpcStatusCode.INTERNAL, details: "internal error; see the server's log" });
  }

  /** Listens on `host:port` (0 picks a port); resolves with the bound port. */
  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    const address = this.#server.address();
    return typeof address === "object" && address !== null ? address.port : port;
  }

  /**
   * Stops accepting, ends open server streams with OK, sends GOAWAY so clients finish their
   * calls and go elsewhere, and destroys what is still open after `graceMs`.
   */
  async close(graceMs: number): Promise<void> {
    for (const end of [...this.#streams]) end();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const session of this.#sessions) session.close();
    const force = setTimeout(() => this.destroy(), graceMs);
    await closed;
    clearTimeout(force);
  }

  /** Stops accepting and cuts every connection and call at once. */
  destroy(): void {
    this.#server.close();
    for (const session of this.#sessions) session.destroy();
  }

  #dispatch(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on("error", () => stream.destroy());
    const contentType = headers["content-type"];
    if (typeof contentType !== "string" || !contentType.startsWith("application/grpc")) {
      // PROTOCOL-HTTP2.md: a non-gRPC content type gets HTTP 415.
      stream.respond({ ":status": 415, "content-type": "text/plain" });
      stream.end(`content-type "${String(contentType)}" is not application/grpc`);
      return;
    }
    const path = String(headers[":path"]);
    const route = headers[":method"] === "POST" ? this.#routes.get(path) : undefined;
    if (!route) {
      stream.resume();
      sendStatus(stream, { code: grpcStatusCode.UNIMPLEMENTED, details: `method ${path} is not served here` });
      return;
    }
    const deadlineMs = parseTimeout(headers["grpc-timeout"]);
    if (deadlineMs !== undefined) {
      const timer = setTimeout(() => sendStatus(stream, { code: grpcStatusCode.DEADLINE_EXCEEDED, details: "deadline exceeded" }), deadlineMs);
      stream.once("close", () => clearTimeout(timer));
    }
    const socket = stream.session?.socket;
    const sink = route(stream, { peer: `${socket?.remoteAddress ?? "unknown"}:${socket?.remotePort ?? 0}`, metadata: headers });
    const reader = new MessageReader(this.#maxMessageBytes, headers["grpc-encoding"]);
    let open = true;
    const stop = (failure: GrpcFailure): void => {
      open = false;
      sink.abort();
      stream.resume();
      sendStatus(stream, failure);
    };
    stream.on("data", (chunk: Buffer) => {
      if (!open) return;
      const failure = reader.push(chunk, (bytes) => {
        if (!open) return;
        const refused = sink.message(bytes);
        if (refused !== undefined) stop(refused);
      });
      if (failure !== undefined && open) stop(failure);
    });
    stream.once("end", () => {
      if (!open) return;
      open = false;
      // A client that reset the stream (grpc-js cancels so) sends no more, but did not finish.
      if (stream.aborted) {
        sink.abort();
        return;
      }
      if (reader.pendingBytes > 0) {
        sink.abort();
        sendStatus(stream, { code: grpcStatusCode.INTERNAL, details: `the request ends inside a message (${reader.pendingBytes} bytes of it arrived)` });
        return;
      }
      sink.end();
    });
    stream.once("close", () => {
      if (!open) return;
      open = false;
      sink.abort();
    });
  }
}

/** A route for methods that take exactly one request message (unary and server-streaming). */
function singleRequest<Request>(deserialize: (bytes: Buffer) => Request, handle: (stream: ServerHttp2Stream, request: Request, call: CallInfo) => void): Route {
  return (stream, call) => {
    let request: { readonly value: Request } | null = null;
    return {
      message: (bytes) => {
        if (request !== null) return { code: grpcStatusCode.INTERNAL, details: "expected exactly one request message, got more" };
        try {
          request = { value: deserialize(bytes) };
        } catch (error) {
          return { code: grpcStatusCode.INTERNAL, details: `request message does not decode: ${(error as Error).message}` };
        }
        return undefined;
      },
      end: () => {
        if (request === null) sendStatus(stream, { code: grpcStatusCode.INTERNAL, details: "the request has no complete message" });
        else handle(stream, request.value, call);
      },
      abort: () => undefined,
    };
  };
}

function sendResponse(stream: ServerHttp2Stream, message: Buffer): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  stream.respond({ ":status": 200, "content-type": grpcContentType }, { waitForTrailers: true });
  stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(message);
}

function sendTrailers(stream: ServerHttp2Stream, status: GrpcFailure): void {
  stream.once("wantTrailers", () => stream.sendTrailers(statusHeaders(status)));
  if (!stream.writableEnded) stream.end();
}

/** A status with no message: trailers-only when nothing was sent yet, else as trailers. */
function sendStatus(stream: ServerHttp2Stream, failure: GrpcFailure): void {
  if (stream.destroyed || stream.closed) return;
  if (!stream.headersSent) {
    stream.respond({ ":status": 200, "content-type": grpcContentType, ...statusHeaders(failure) }, { endStream: true });
    return;
  }
  // Headers already out (a server stream, or a late deadline): end with the status; a response
  // already being sent cannot be taken back, so the stream is reset.
  if (stream.writableEnded) stream.close(http2Constants.NGHTTP2_CANCEL);
  else sendTrailers(stream, failure);
}
