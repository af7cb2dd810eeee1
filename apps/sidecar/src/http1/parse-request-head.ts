// The HTTP/1.1 request head, parsed once from the raw socket bytes (DESIGN.md §3.6): request line,
// header fields and the framing the proxy needs to move the body without re-encoding it. Strict
// where leniency enables request smuggling (RFC 9112 §6.3, §11.2): conflicting Content-Length,
// Transfer-Encoding together with Content-Length, obsolete line folding and whitespace before
// the colon are refused.
import { headEnd } from "./find-head-end.ts";
import { isTokenText } from "./http-token.ts";

export interface RequestHead {
  readonly method: string;
  /** Request target as received (origin-form `/a?b`, or absolute-form `http://host/a?b`). */
  readonly target: string;
  /** Path without the query; "/" for `OPTIONS *`-less absolute-form targets with an empty path. */
  readonly path: string;
  /** Query without `?`; "" when absent. */
  readonly query: string;
  /** Host header, or the authority of an absolute-form target (explicit proxying, `HTTP_PROXY`). */
  readonly authority: string;
  /** True when the target was absolute-form (the client treats us as its HTTP proxy). */
  readonly absoluteForm: boolean;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  readonly minorVersion: number;
  /** Header names, lowercase, in received order; `values[i]` belongs to `names[i]`. */
  readonly names: readonly string[];
  readonly values: readonly string[];
  /** Body length from Content-Length; -1 when there is none (then `chunked` says whether a body follows). */
  readonly contentLength: number;
  readonly chunked: boolean;
  /** Whether the client wants the connection kept after this exchange. */
  readonly keepAlive: boolean;
  /** Lowercase protocol of an `Upgrade` the client asks for with `Connection: upgrade`; undefined otherwise. */
  readonly upgrade: string | undefined;
  readonly expectContinue: boolean;
  /** Whether a header the proxy must not forward as is (Connection and the hop-by-hop headers it names, Proxy-Connection, Keep-Alive, TE) is present. */
  readonly hasHopByHop: boolean;
  /** Whether a trace-context header (traceparent, tracestate, b3, x-b3-*) is present; the proxy replaces them with its own span's. */
  readonly hasTraceHeaders: boolean;
  /** Whether a header the proxy consumes is present (`x-envoy-upstream-rq-timeout-ms` and friends); they are not forwarded. */
  readonly hasProxyControlHeaders: boolean;
  /** Byte ranges `[start0, end0, ...]` of the metadata-exchange lines (`x-envoy-peer-metadata*`), never forwarded; absent when there are none. */
  readonly peerMetadataCut?: readonly number[] | undefined;
  /** The headers as a record, built on first use by headerRecord() and kept for the rest of the request. */
  headerMap: Record<string, string> | undefined;
  /** Offset of the first header line (just after the request line's CRLF). */
  readonly headersStart: number;
  /** Bytes of the head including the blank line. */
  readonly headBytes: number;
}

/** Why a head was refused: the status to answer with and Envoy-style response code details. */
export interface HeadError {
  readonly status: 400 | 431 | 501 | 505;
  readonly details: string;
}

export interface HeadLimits {
  /** Envoy's max_request_headers_kb default: 60 KiB. */
  readonly maxHeadBytes: number;
  /** Envoy's max_headers_count default: 100. */
  readonly maxHeaders: number;
}

export const defaultHeadLimits: HeadLimits = { maxHeadBytes: 60 * 1024, maxHeaders: 100 };

/** Outcome of parsing: a head, a refusal, or `undefined` when more bytes are needed. */
export type RequestHeadResult = RequestHead | HeadError | undefined;

export function isHeadError(result: RequestHead | HeadError): result is HeadError {
  return (result as HeadError).status !== undefined;
}

/** Parses the request head at the start of `data`; `undefined` when it is not complete yet. */
export function parseRequestHead(data: Buffer, limits: HeadLimits = defaultHeadLimits): RequestHeadResult {
  const end = headEnd(data, limits.maxHeadBytes);
  if (end === -1) return data.length > limits.maxHeadBytes ? { status: 431, details: "header_overflow" } : undefined;
  if (end === -2) return { status: 400, details: "http1.codec_error: bare LF" };
  const text = data.toString("latin1", 0, end - 4);
  // Control characters other than HTAB (and the CRLF line ends) are invalid anywhere in a head (RFC 9110 §5.5).
  if (controlCharacter.test(text)) return { status: 400, details: "http1.codec_error: control character in head" };
  const lineEnd = text.indexOf("\r\n");
  const requestLine = lineEnd < 0 ? text : text.slice(0, lineEnd);
  const sp1 = requestLine.indexOf(" ");
  const sp2 = requestLine.lastIndexOf(" ");
  if (sp1 <= 0 || sp2 === sp1) return { status: 400, details: "http1.codec_error: malformed request line" };
  const method = requestLine.slice(0, sp1);
  const target = requestLine.slice(sp1 + 1, sp2);
  if (!isTokenText(method)) return { status: 400, details: "http1.codec_error: invalid method" };
  if (target === "" || target.includes(" ")) return { status: 400, details: "http1.codec_error: invalid request target" };
  let minorVersion: number;
  // The version is compared in place (no slice) in the usual cases.
  const versionIs1x = requestLine.length === sp2 + 9 && requestLine.startsWith("HTTP/1.", sp2 + 1);
  const minor = requestLine.charCodeAt(sp2 + 8);
  if (versionIs1x && minor === 49 /* 1 */) minorVersion = 1;
  else if (versionIs1x && minor === 48 /* 0 */) minorVersion = 0;
  else if (/^HTTP\/\d\.\d$/.test(requestLine.slice(sp2 + 1))) return { status: 505, details: "http1.codec_error: unsupported HTTP version" };
  else return { status: 400, details: "http1.codec_error: malformed request line" };

  const names: string[] = [];
  const values: string[] = [];
  let host: string | undefined;
  let contentLength = -1;
  let transferEncoding: string | undefined;
  let connection: string | undefined;
  let upgrade: string | undefined;
  let expectContinue = false;
  let hasHopByHop = false;
  let hasTraceHeaders = false;
  let hasProxyControlHeaders = false;
  let peerMetadataCut: number[] | undefined;
  let pos = lineEnd < 0 ? text.length : lineEnd + 2;
  while (pos < text.length) {
    let next = text.indexOf("\r\n", pos);
    if (next < 0) next = text.length;
    const colon = text.indexOf(":", pos);
    if (colon < 0 || colon >= next) {
      const first = text.charCodeAt(pos);
      return first === 32 || first === 9
        ? { status: 400, details: "http1.codec_error: obsolete line folding" }
        : { status: 400, details: "http1.codec_error: header line without colon" };
    }
    const rawName = text.slice(pos, colon);
    if (!isTokenText(rawName)) return { status: 400, details: "http1.codec_error: invalid header name" };
    const name = lowerAscii(rawName);
    const value = trimOws(text, colon + 1, next);
    if (names.length >= limits.maxHeaders) return { status: 431, details: "http1.too_many_headers" };
    names.push(name);
    values.push(value);
    switch (name) {
      case "host":
        if (host !== undefined && host !== value) return { status: 400, details: "http1.codec_error: multiple Host headers" };
        host = value;
        break;
      case "content-length": {
        const length = parseContentLength(value);
        if (length < 0 || (contentLength >= 0 && contentLength !== length)) return { status: 400, details: "http1.content_length_not_allowed" };
        contentLength = length;
        break;
      }
      case "transfer-encoding":
        transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
        hasHopByHop = true;
        break;
      case "connection":
        connection = connection === undefined ? value : `${connection}, ${value}`;
        hasHopByHop = true;
        break;
      case "upgrade":
        upgrade = value;
        break;
      case "expect":
        if (value.toLowerCase() === "100-continue") expectContinue = true;
        break;
      case "keep-alive":
      case "proxy-connection":
      case "te":
        hasHopByHop = true;
        break;
      case "traceparent":
      case "tracestate":
      case "b3":
      case "x-b3-traceid":
      case "x-b3-spanid":
      case "x-b3-parentspanid":
      case "x-b3-sampled":
      case "x-b3-flags":
        hasTraceHeaders = true;
        break;
      case "x-envoy-upstream-rq-timeout-ms":
      case "x-envoy-upstream-rq-per-try-timeout-ms":
      case "x-envoy-expected-rq-timeout-ms":
      case "x-envoy-retry-on":
      case "x-envoy-max-retries":
        hasProxyControlHeaders = true;
        break;
      case "x-envoy-peer-metadata":
      case "x-envoy-peer-metadata-id":
        // Cut out of the raw head when it is forwarded (the common case between sidecars, so no full rebuild).
        (peerMetadataCut ??= []).push(pos, next + 2);
        break;
    }
    pos = next + 2;
  }

  let chunked = false;
  if (transferEncoding !== undefined) {
    if (contentLength >= 0) return { status: 400, details: "http1.codec_error: both Transfer-Encoding and Content-Length" };
    const codings = transferEncoding.toLowerCase().split(",").map((c) => c.trim()).filter((c) => c !== "");
    if (codings[codings.length - 1] !== "chunked" || codings.indexOf("chunked") !== codings.length - 1) {
      return { status: 501, details: "http1.invalid_transfer_encoding" };
    }
    chunked = true;
  }

  const connectionTokens = connection === undefined ? "" : connection.toLowerCase();
  const keepAlive = minorVersion === 1 ? !hasToken(connectionTokens, "close") : hasToken(connectionTokens, "keep-alive");
  const wantsUpgrade = upgrade !== undefined && hasToken(connectionTokens, "upgrade") ? upgrade.toLowerCase() : undefined;

  let path: string;
  let query: string;
  let authority: string;
  let absoluteForm = false;
  if (target.charCodeAt(0) === 47 /* / */) {
    const q = target.indexOf("?");
    path = q < 0 ? target : target.slice(0, q);
    query = q < 0 ? "" : target.slice(q + 1);
    if (host === undefined) {
      if (minorVersion === 1) return { status: 400, details: "http1.codec_error: missing Host header" };
      authority = "";
    } else {
      authority = host;
    }
  } else {
    const absolute = splitAbsoluteTarget(target);
    if (absolute === undefined) {
      if (method === "OPTIONS" && target === "*") {
        path = "*";
        query = "";
        authority = host ?? "";
      } else if (method === "CONNECT") {
        path = "";
        query = "";
        authority = target;
      } else {
        return { status: 400, details: "http1.codec_error: invalid request target" };
      }
    } else {
      ({ path, query, authority } = absolute);
      absoluteForm = true;
    }
  }
  return {
    method,
    target,
    path,
    query,
    authority,
    absoluteForm,
    minorVersion,
    names,
    values,
    contentLength,
    chunked,
    keepAlive,
    upgrade: wantsUpgrade,
    expectContinue,
    hasHopByHop,
    hasTraceHeaders,
    hasProxyControlHeaders,
    peerMetadataCut, // always present (undefined when none): one object shape for every head
    headerMap: undefined,
    headersStart: lineEnd < 0 ? end - 2 : lineEnd + 2,
    headBytes: end,
  };
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlCharacter = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

/** `http://host:port/p?q` → parts; undefined when not an http(s) absolute URI. */
function splitAbsoluteTarget(target: string): { path: string; query: string; authority: string } | undefined {
  const schemeEnd = target.indexOf("://");
  if (schemeEnd < 0) return undefined;
  const scheme = target.slice(0, schemeEnd).toLowerCase();
  if (scheme !== "http" && scheme !== "https") return undefined;
  const rest = schemeEnd + 3;
  let slash = target.indexOf("/", rest);
  const q = target.indexOf("?", rest);
  if (slash < 0 || (q >= 0 && q < slash)) slash = q < 0 ? target.length : q;
  const authority = target.slice(rest, slash);
  if (authority === "" || authority.includes("@")) return undefined;
  const pathAndQuery = target.slice(slash);
  const qq = pathAndQuery.indexOf("?");
  const path = qq < 0 ? pathAndQuery : pathAndQuery.slice(0, qq);
  return { path: path === "" ? "/" : path, query: qq < 0 ? "" : pathAndQuery.slice(qq + 1), authority };
}

/** Content-Length value (digits only, a repeated identical list is allowed) → length, or -1 when invalid. */
export function parseContentLength(value: string): number {
  if (value.includes(",")) {
    const parts = value.split(",").map((p) => p.trim());
    return parts.every((p) => p === parts[0]) ? parseContentLength(parts[0] as string) : -1;
  }
  if (value.length === 0 || value.length > 15) return -1;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return Number(value);
}

/** Whether comma-separated lowercase `list` contains `token`. */
export function hasToken(list: string, token: string): boolean {
  if (list === "") return false;
  if (list === token) return true;
  if (!list.includes(",")) return list.trim() === token;
  for (const part of list.split(",")) if (part.trim() === token) return true;
  return false;
}

/** text[start, end) without leading and trailing spaces and tabs (optional whitespace around a field value). */
export function trimOws(text: string, start: number, end: number): string {
  while (start < end && (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 9)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  return text.slice(start, end);
}

/** Lowercases ASCII without copying names that are lowercase already (the usual case). */
export function lowerAscii(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) return text.toLowerCase();
  }
  return text;
}
