// The gRPC-over-HTTP/2 wire format (grpc/grpc doc/PROTOCOL-HTTP2.md) shared by GrpcHttp2Server,
// GrpcHttp2Client and the sidecar's gRPC handling (`@meshwork/protocol/grpc-wire`, which loads none
// of the generated code): status codes, length-prefixed messages, status trailers, grpc-message
// escaping, grpc-timeout.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";

/** gRPC status codes (grpc/grpc doc/statuscodes.md). */
export const grpcStatusCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/**
 * The gRPC status for an HTTP status that came without one (grpc/doc/http-grpc-status-mapping.md;
 * Envoy's Grpc::Utility::httpToGrpcStatus, which the sidecar's local replies follow).
 */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return grpcStatusCode.INTERNAL;
    case 401:
      return grpcStatusCode.UNAUTHENTICATED;
    case 403:
      return grpcStatusCode.PERMISSION_DENIED;
    case 404:
      return grpcStatusCode.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return grpcStatusCode.UNAVAILABLE;
    default:
      return grpcStatusCode.UNKNOWN;
  }
}

/** An error status, plus metadata sent in the trailers. */
export interface GrpcFailure {
  readonly code: number;
  readonly details: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The part of a ts-proto grpc-js method definition the server and client use. */
export interface MethodDefinition<Request, Response> {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestSerialize: (value: Request) => Buffer;
  readonly requestDeserialize: (bytes: Buffer) => Request;
  readonly responseSerialize: (value: Response) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => Response;
}

/**
 * HTTP/2 flow control and memory for both ends: a 1 MiB window per stream and 16 MiB per
 * connection (Node's defaults, 64 KiB, cost a WINDOW_UPDATE round trip per 64 KiB of a bulk
 * transfer such as a snapshot), and 64 MB of buffered frames per session before Node refuses new
 * streams (its default, 10 MB, is less than one large snapshot in flight).
 */
export const http2Tuning = { streamWindowBytes: 1 << 20, connectionWindowBytes: 16 << 20, maxSessionMemoryMb: 64 } as const;

/** The content type of every request and response. */
export const grpcContentType = "application/grpc+proto";

/** One length-prefixed message ("Length-Prefixed-Message"), uncompressed. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/**
 * Cuts a stream of DATA chunks into messages as they complete, copying a message's chunks together
 * once, when the last arrives. `push` returns a failure, after which the reader takes nothing more,
 * for a compressed or oversized message.
 */
export class MessageReader {
  readonly #maxMessageBytes: number;
  readonly #encoding: string | undefined;
  #chunks: Buffer[] = [];
  #size = 0;
  #failed = false;

  constructor(maxMessageBytes: number, encoding: string | string[] | undefined) {
    this.#maxMessageBytes = maxMessageBytes;
    this.#encoding = typeof encoding === "string" ? encoding : undefined;
  }

  /** Bytes of a message not complete yet. */
  get pendingBytes(): number {
    return this.#size;
  }

  push(chunk: Buffer, onMessage: (bytes: Buffer) => void): GrpcFailure | undefined {
    if (this.#failed) return undefined;
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
    }
    while (this.#size >= 5) {
      if ((this.#chunks[0] as Buffer).length < 5) this.#joinHead();
      const head = this.#chunks[0] as Buffer;
      const length = head.readUInt32BE(1);
      const failure = this.#check(head[0] as number, length);
      if (failure !== undefined) {
        this.#failed = true;
        this.#chunks = [];
        this.#size = 0;
        return failure;
      }
      if (this.#size < 5 + length) break;
      onMessage(this.#take(5 + length).subarray(5));
    }
    return undefined;
  }

  /** Makes the first chunk the 5-byte prefix, copied out of the chunks it is split over (the rest of them stays where it is). */
  #joinHead(): void {
    const parts: Buffer[] = [];
    for (let needed = 5; needed > 0; ) {
      const next = this.#chunks[0] as Buffer;
      const n = Math.min(needed, next.length);
      parts.push(next.subarray(0, n));
      if (n === next.length) this.#chunks.shift();
      else this.#chunks[0] = next.subarray(n);
      needed -= n;
    }
    this.#chunks.unshift(Buffer.concat(parts, 5));
  }

  /** The first `count` buffered bytes (`count` ≤ what is buffered). */
  #take(count: number): Buffer {
    this.#size -= count;
    const first = this.#chunks[0] as Buffer;
    if (first.length >= count) {
      if (first.length === count) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(count);
      return first.subarray(0, count);
    }
    const parts: Buffer[] = [];
    let needed = count;
    while (needed > 0) {
      const next = this.#chunks[0] as Buffer;
      if (next.length <= needed) {
        parts.push(next);
        this.#chunks.shift();
        needed -= next.length;
      } else {
        parts.push(next.subarray(0, needed));
        this.#chunks[0] = next.subarray(needed);
        needed = 0;
      }
    }
    return Buffer.concat(parts, count);
  }

  #check(flag: number, length: number): GrpcFailure | undefined {
    if (flag !== 0) {
      return this.#encoding === undefined || this.#encoding === "identity"
        ? { code: grpcStatusCode.INTERNAL, details: "compressed message without grpc-encoding" }
        : { code: grpcStatusCode.UNIMPLEMENTED, details: `grpc-encoding "${this.#encoding}" is not supported; send uncompressed messages`, metadata: { "grpc-accept-encoding": "identity" } };
    }
    if (length > this.#maxMessageBytes) return { code: grpcStatusCode.RESOURCE_EXHAUSTED, details: `message of ${length} bytes is larger than the limit of ${this.#maxMessageBytes}` };
    return undefined;
  }
}

/** `grpc-timeout` (up to 8 digits and a unit H M S m u n) in ms, or undefined. */
export function parseTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const perUnitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
  return Math.max(1, Math.ceil(amount * (perUnitMs[match[2] as string] as number)));
}

/** A deadline as `grpc-timeout`: milliseconds while they fit in 8 digits, then seconds. */
export function formatTimeout(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  return whole < 100_000_000 ? `${whole}m` : `${Math.min(99_999_999, Math.ceil(whole / 1000))}S`;
}

/** Percent-encodes a grpc-message value ("Status-Message": UTF-8 bytes outside 0x20–0x7E, and `%`, are escaped). */
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

function decodeStatusMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The trailers (or trailers-only headers) that carry a status. */
export function statusHeaders(failure: GrpcFailure): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { "grpc-status": String(failure.code) };
  if (failure.details !== "") headers["grpc-message"] = encodeGrpcMessage(failure.details);
  for (const [key, value] of Object.entries(failure.metadata ?? {})) headers[key] = value;
  return headers;
}

/** The status in trailers (or trailers-only headers); undefined when they carry none. */
export function readStatus(headers: IncomingHttpHeaders): { readonly code: number; readonly details: string } | undefined {
  const code = headers["grpc-status"];
  if (typeof code !== "string" || !/^\d+$/.test(code)) return undefined;
  const message = headers["grpc-message"];
  return { code: Number(code), details: typeof message === "string" ? decodeStatusMessage(message) : "" };
}
