// A gRPC client on node:http2 for unary and client-streaming calls to one server (grpc/grpc
// PROTOCOL-HTTP2.md), the counterpart of GrpcHttp2Server and interoperable with grpc-js servers.
// One HTTP/2 connection carries every call; it is opened on the first call and again on the first
// call after it closed. Reconnect policy (backoff) belongs to the caller.
import { connect, constants as http2Constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import type { ConnectionOptions } from "node:tls";
import { formatTimeout, frame, grpcContentType, grpcStatusCode, http2Tuning, httpToGrpcStatus, MessageReader, readStatus, type MethodDefinition } from "./grpc-wire.ts";

/** A call ended with a status other than OK. */
export class GrpcCallError extends Error {
  readonly code: number;
  readonly details: string;
  /** The trailers (or trailers-only headers) the status came in; empty when it was made locally. */
  readonly metadata: IncomingHttpHeaders;
  /** The request never reached the server (no connection, or the stream was refused): safe to send again. */
  readonly notSent: boolean;
  constructor(code: number, details: string, metadata: IncomingHttpHeaders = {}, notSent = false) {
    super(`gRPC status ${code}: ${details}`);
    this.name = "GrpcCallError";
    this.code = code;
    this.details = details;
    this.metadata = metadata;
    this.notSent = notSent;
  }
}

export interface GrpcHttp2ClientOptions {
  /** `host:port` of the server. */
  readonly address: string;
  /** TLS to the server (`ca`, and `cert` / `key` for mutual TLS); absent: cleartext HTTP/2 (h2c). */
  readonly tls?: Pick<ConnectionOptions, "ca" | "cert" | "key" | "servername" | "checkServerIdentity" | "minVersion"> | undefined;
  /** Largest response message accepted; default 4 MiB. */
  readonly maxMessageBytes?: number;
}

export interface CallOptions {
  /** The call fails with DEADLINE_EXCEEDED after this long; sent as grpc-timeout. */
  readonly deadlineMs?: number;
  /** Request metadata (lower-case ASCII keys). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** An open client-streaming call. */
export interface ClientStreamCall<Request, Response> {
  /**
   * Sends a message; false when the stream's buffer is full (wait for `onDrain`, or keep buffering)
   * or the call is over (nothing is sent; `result` settles with why).
   */
  write(request: Request): boolean;
  /** Runs once when a full buffer has room again. */
  onDrain(callback: () => void): void;
  /** Half-closes: the server answers. */
  end(): void;
  /** Cuts the call; `result` rejects with CANCELLED. */
  cancel(): void;
  /** The server's answer; rejects with GrpcCallError. */
  readonly result: Promise<Response>;
}

interface Connection {
  readonly session: ClientHttp2Session;
  connected: boolean;
}

/** Calls one server's methods over one HTTP/2 connection. */
export class GrpcHttp2Client {
  readonly #options: GrpcHttp2ClientOptions;
  readonly #authority: string;
  #connection: Connection | null = null;
  #closed = false;

  constructor(options: GrpcHttp2ClientOptions) {
    this.#options = options;
    this.#authority = `${options.tls === undefined ? "http" : "https"}://${options.address}`;
  }

  /** One request, one response. */
  unary<Request, Response>(method: MethodDefinition<Request, Response>, request: Request, options: CallOptions = {}): Promise<Response> {
    const call = this.#open(method, options);
    if (call.stream !== null) call.stream.end(frame(method.requestSerialize(request)));
    return call.result;
  }

  /** Opens a client-streaming call. */
  clientStream<Request, Response>(method: MethodDefinition<Request, Response>, options: CallOptions = {}): ClientStreamCall<Request, Response> {
    const { stream, result, cut } = this.#open(method, options);
    return {
      write: (request) => stream !== null && !stream.destroyed && !stream.writableEnded && stream.write(frame(method.requestSerialize(request))),
      onDrain: (callback) => stream?.once("drain", callback),
      end: () => {
        if (stream !== null && !stream.destroyed && !stream.writableEnded) stream.end();
      },
      cancel: () => cut(new GrpcCallError(grpcStatusCode.CANCELLED, "cancelled by the caller")),
      result,
    };
  }

  /** Closes the connection; open calls are cut and later calls fail. */
  close(): void {
    this.#closed = true;
    this.#connection?.session.destroy();
    this.#connection = null;
  }

  #connect(): Connection {
    const current = this.#connection;
    if (current !== null && !current.session.closed && !current.session.destroyed) return current;
    const session = connect(this.#authority, { ...this.#options.tls, settings: { initialWindowSize: http2Tuning.streamWindowBytes }, maxSessionMemory: http2Tuning.maxSessionMemoryMb });
    const connection: Connection = { session, connected: false };
    session.once("connect", () => {
      connection.connected = true;
      session.setLocalWindowSize(http2Tuning.connectionWindowBytes);
    });
    // Calls on the connection see its failure as their own.
    session.on("error", () => undefined);
    session.once("close", () => {
      if (this.#connection === connection) this.#connection = null;
    });
    this.#connection = connection;
    return connection;
  }

  #open<Request, Response>(method: MethodDefinition<Request, Response>, options: CallOptions): { readonly stream: ClientHttp2Stream | null; readonly result: Promise<Response>; readonly cut: (failure: GrpcCallError) => void } {
    const unsent = (details: string): { stream: null; result: Promise<Response>; cut: () => void } => ({ stream: null, result: Promise.reject(new GrpcCallError(grpcStatusCode.UNAVAILABLE, details, {}, true)), cut: () => undefined });
    if (this.#closed) return unsent("the client is closed");
    const headers: OutgoingHttpHeaders = { ":method": "POST", ":path": method.path, "content-type": grpcContentType, te: "trailers", ...options.metadata };
    if (options.deadlineMs !== undefined) headers["grpc-timeout"] = formatTimeout(options.deadlineMs);
    const connection = this.#connect();
    let stream: ClientHttp2Stream;
    try {
      stream = connection.session.request(headers);
    } catch (error) {
      return unsent(`cannot start the call: ${(error as Error).message}`);
    }
    let local: GrpcCallError | undefined;
    // destroy, not close(CANCEL): close half-closes first, which a server cannot tell from the end of the call.
    const cut = (failure: GrpcCallError): void => {
      local ??= failure;
      stream.destroy();
    };
    const result = new Promise<Response>((resolve, reject) => {
      const reader = new MessageReader(this.#options.maxMessageBytes ?? 4 * 1024 * 1024, undefined);
      const messages: Buffer[] = [];
      let response: IncomingHttpHeaders | undefined;
      let trailers: IncomingHttpHeaders | undefined;
      let error: Error | undefined;
      const timer = options.deadlineMs === undefined ? undefined : setTimeout(() => cut(new GrpcCallError(grpcStatusCode.DEADLINE_EXCEEDED, `no answer within ${options.deadlineMs} ms`)), options.deadlineMs);
      stream.on("response", (headers) => {
        response = headers;
      });
      stream.on("trailers", (headers) => {
        trailers = headers;
      });
      stream.on("data", (chunk: Buffer) => {
        const failure = reader.push(chunk, (bytes) => messages.push(bytes));
        if (failure !== undefined) cut(new GrpcCallError(failure.code, `response: ${failure.details}`));
      });
      stream.on("error", (cause: Error) => {
        error = cause;
      });
      stream.once("close", () => {
        clearTimeout(timer);
        const outcome = local ?? settle(response, trailers, stream.rstCode, error, connection.connected);
        if (outcome instanceof GrpcCallError) {
          reject(outcome);
          return;
        }
        if (messages.length !== 1 || reader.pendingBytes > 0) {
          reject(new GrpcCallError(grpcStatusCode.INTERNAL, `expected one response message, got ${messages.length}${reader.pendingBytes > 0 ? " and a partial one" : ""}`, outcome));
          return;
        }
        try {
          resolve(method.responseDeserialize(messages[0] as Buffer));
        } catch (cause) {
          reject(new GrpcCallError(grpcStatusCode.INTERNAL, `response message does not decode: ${(cause as Error).message}`, outcome));
        }
      });
    });
    return { stream, result, cut };
  }
}

/** The call's status from what arrived: the trailers (OK), or why it failed. */
function settle(response: IncomingHttpHeaders | undefined, trailers: IncomingHttpHeaders | undefined, rstCode: number | undefined, error: Error | undefined, connected: boolean): IncomingHttpHeaders | GrpcCallError {
  const statusFrom = trailers ?? response;
  const status = statusFrom === undefined ? undefined : readStatus(statusFrom);
  if (status !== undefined && statusFrom !== undefined) return status.code === grpcStatusCode.OK ? statusFrom : new GrpcCallError(status.code, status.details, statusFrom);
  if (response !== undefined && Number(response[":status"]) !== 200) {
    const httpStatus = Number(response[":status"]);
    return new GrpcCallError(httpToGrpcStatus(httpStatus), `HTTP status ${httpStatus} without a gRPC status`, response);
  }
  if (rstCode === http2Constants.NGHTTP2_REFUSED_STREAM) return new GrpcCallError(grpcStatusCode.UNAVAILABLE, "the server refused the stream", {}, true);
  if (rstCode === http2Constants.NGHTTP2_CANCEL && error === undefined) return new GrpcCallError(grpcStatusCode.CANCELLED, "cancelled");
  const reason = error?.message ?? (rstCode !== undefined && rstCode !== http2Constants.NGHTTP2_NO_ERROR ? `stream reset with HTTP/2 code ${rstCode}` : "the stream ended without a status");
  return connected ? new GrpcCallError(grpcStatusCode.UNAVAILABLE, reason) : new GrpcCallError(grpcStatusCode.UNAVAILABLE, `no connection: ${reason}`, {}, true);
}
