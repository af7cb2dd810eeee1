// What a provider's includeRequestBodyInCheck (Envoy's with_request_body BufferSettings) means for
// one request, as Envoy's ext_authz filter reads it (decodeHeaders / decodeData / isBufferFull, and
// check_request_utils.cc setHttpRequest): how much of the body the data path reads before the
// check, when the request is refused with 413 instead, and which bytes the check carries. Pure.
import type { ExtAuthzRequestBody } from "./mesh-authz-config.ts";

/** Envoy sets this header on the check when it sends a body: "true" when the body was cut at maxRequestBytes. */
export const partialBodyHeader = "x-envoy-auth-partial-body";

/** The body read for a check: the payload bytes read (framing removed) and whether that is all of it. */
export interface ReadBody {
  readonly body: Buffer;
  readonly complete: boolean;
}

/**
 * How many payload bytes the data path reads before the check (it stops earlier at the body's
 * end). With allowPartialMessage Envoy checks once maxRequestBytes are held; without it one byte
 * more is enough to know the body is too large.
 */
export function bodyReadLimit(settings: ExtAuthzRequestBody): number {
  return settings.allowPartialMessage ? settings.maxRequestBytes : settings.maxRequestBytes + 1;
}

/**
 * Whether the request is answered 413 without asking the provider: without allowPartialMessage,
 * a body over maxRequestBytes (Envoy's decoder buffer limit), or one the data path could not read
 * whole within its limits.
 */
export function isBodyTooLarge(settings: ExtAuthzRequestBody, read: ReadBody): boolean {
  return !settings.allowPartialMessage && (!read.complete || read.body.length > settings.maxRequestBytes);
}

/**
 * The body bytes the check carries — at most the first maxRequestBytes — and Envoy's
 * `x-envoy-auth-partial-body` value: "true" when they are not the whole body.
 */
export function bodyInCheck(settings: ExtAuthzRequestBody, read: ReadBody): { readonly bytes: Buffer; readonly partial: boolean } {
  const bytes = read.body.length > settings.maxRequestBytes ? read.body.subarray(0, settings.maxRequestBytes) : read.body;
  return { bytes, partial: bytes.length < read.body.length || !read.complete };
}
