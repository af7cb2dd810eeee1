// Replies the proxy makes itself on an HTTP/2 stream (Envoy's local replies). For a gRPC request
// an error reply is a trailers-only response, as Envoy sends it: `:status 200`, content-type
// application/grpc, grpc-status mapped from the HTTP status (or given), grpc-message = the body.
import type { OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { encodeGrpcMessage, httpToGrpcStatus } from "@meshwork/protocol/grpc-wire";

export interface LocalReply {
  readonly status: number;
  readonly body: string | Buffer;
  /** Extra response headers (location, x-envoy-overloaded). */
  readonly headers: OutgoingHttpHeaders;
  /** Answer as gRPC (trailers-only). */
  readonly grpc: boolean;
  /** grpc-status to send instead of the one mapped from `status` (fault abort grpcStatus). */
  readonly grpcStatus?: number | undefined;
  /** HEAD request: headers only. */
  readonly headOnly: boolean;
}

export interface LocalReplySent {
  /** The :status sent (200 for a gRPC reply). */
  readonly responseCode: number;
  readonly grpcStatus: number | undefined;
  readonly responseBytes: number;
}

/** Sends `reply` and ends the stream; nothing is sent when the stream is already gone. */
export function sendLocalReply(stream: ServerHttp2Stream, reply: LocalReply): LocalReplySent {
  if (reply.grpc) {
    const grpcStatus = reply.grpcStatus ?? httpToGrpcStatus(reply.status);
    const message = encodeGrpcMessage(typeof reply.body === "string" ? reply.body : reply.body.toString("utf8"));
    const headers: OutgoingHttpHeaders = { ":status": 200, "content-type": "application/grpc", "grpc-status": String(grpcStatus), "grpc-message": message, server: "envoy", ...reply.headers };
    if (stream.destroyed || stream.headersSent) return { responseCode: 200, grpcStatus, responseBytes: 0 };
    stream.respond(headers, { endStream: true });
    return { responseCode: 200, grpcStatus, responseBytes: message.length + 64 };
  }
  const bytes = typeof reply.body === "string" ? Buffer.from(reply.body, "utf8") : reply.body;
  const headers: OutgoingHttpHeaders = { ":status": reply.status, "content-length": bytes.length, server: "envoy", ...reply.headers };
  if (bytes.length > 0 && headers["content-type"] === undefined) headers["content-type"] = "text/plain";
  if (stream.destroyed || stream.headersSent) return { responseCode: reply.status, grpcStatus: undefined, responseBytes: 0 };
  const headOnly = reply.headOnly || bytes.length === 0;
  stream.respond(headers, { endStream: headOnly });
  if (!headOnly) stream.end(bytes);
  return { responseCode: reply.status, grpcStatus: undefined, responseBytes: headOnly ? 0 : bytes.length };
}

/** `name: value` lines (ReplyDecision.headers) as a header object. */
export function headerLinesToObject(lines: readonly string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return out;
}
