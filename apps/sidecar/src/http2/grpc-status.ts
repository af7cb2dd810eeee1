// gRPC status handling for the HTTP/2 data path: which requests are gRPC, the gRPC → HTTP status
// mapping Envoy uses for outlier detection, and the retryOn tokens that read a trailers-only
// response's grpc-status. The HTTP → gRPC mapping of local replies and the grpc-message encoding
// are the wire format's (`@meshwork/protocol/grpc-wire`).
import { hasRetryOn, type RetryPolicy } from "@meshwork/proxy-core";

/** Whether a request's content-type makes it gRPC (`application/grpc`, `application/grpc+proto`, ...). */
export function isGrpcContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.startsWith("application/grpc") && (contentType.length === 16 || contentType[16] === "+" || contentType[16] === ";");
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
