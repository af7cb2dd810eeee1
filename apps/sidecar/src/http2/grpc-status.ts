// gRPC status handling for the HTTP/2 data path: which requests are gRPC, the HTTP ↔ gRPC status
// mappings Envoy uses (local replies and outlier detection), the retryOn tokens that read a
// trailers-only response's grpc-status, and the grpc-message encoding.
import { hasRetryOn, type RetryPolicy } from "@meshwork/proxy-core";

/** Whether a request's content-type makes it gRPC (`application/grpc`, `application/grpc+proto`, ...). */
export function isGrpcContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.startsWith("application/grpc") && (contentType.length === 16 || contentType[16] === "+" || contentType[16] === ";");
}

/**
 * The grpc-status of a local reply to a gRPC request made with HTTP status `status` (Envoy's
 * Grpc::Utility::httpToGrpcStatus, after grpc/doc/http-grpc-status-mapping.md).
 */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

const grpcToHttp = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

/** The HTTP status Envoy feeds outlier detection for a gRPC status (Grpc::Utility::grpcToHttpStatus); 500 for unknown codes. */
export function grpcToHttpStatus(grpcStatus: number): number {
  return grpcToHttp[grpcStatus] ?? 500;
}

/** A grpc-status header value as a number; undefined when absent or not a non-negative integer. */
export function parseGrpcStatus(value: string | string[] | undefined): number | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** Whether `policy` retries a response whose (trailers-only) grpc-status is `grpcStatus` (Envoy's gRPC retryOn tokens). */
export function isRetriableGrpcStatus(policy: RetryPolicy, grpcStatus: number): boolean {
  switch (grpcStatus) {
    case 1:
      return hasRetryOn(policy, "cancelled");
    case 4:
      return hasRetryOn(policy, "deadline-exceeded");
    case 8:
      return hasRetryOn(policy, "resource-exhausted");
    case 13:
      return hasRetryOn(policy, "internal");
    case 14:
      return hasRetryOn(policy, "unavailable");
    default:
      return false;
  }
}

/** Percent-encodes a grpc-message value (gRPC over HTTP/2: bytes outside 0x20–0x7E and `%` are escaped). */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte < 0x20 || byte > 0x7e || byte === 0x25 ? `%${byte.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(byte);
  }
  return out;
}
