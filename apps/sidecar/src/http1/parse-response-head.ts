// The HTTP/1.1 response head from an upstream: status and the framing of the body that follows
// (RFC 9112 §6.3), so the proxy can forward the bytes as they are and know where the response
// ends on a kept-alive connection.
import { headEnd } from "./find-head-end.ts";
import { hasToken, lowerAscii, parseContentLength } from "./parse-request-head.ts";

export interface ResponseHead {
  readonly status: number;
  readonly minorVersion: number;
  /** Lowercase header names and their values, in received order. */
  readonly names: readonly string[];
  readonly values: readonly string[];
  /**
   * How the body ends: `none` (1xx, 204, 304, responses to HEAD), `length` (`contentLength`
   * bytes), `chunked`, or `close` (read until the upstream closes; the connection is not reused).
   */
  readonly framing: "none" | "length" | "chunked" | "close";
  readonly contentLength: number;
  /** Whether the upstream connection may carry another request after this response. */
  readonly reusable: boolean;
  readonly headBytes: number;
}

/** Parses a response head at the start of `data`; undefined while incomplete; a string describes a malformed head. */
export function parseResponseHead(data: Buffer, requestMethod: string, maxBytes = 60 * 1024): ResponseHead | string | undefined {
  const end = headEnd(data, maxBytes);
  if (end === -1) return data.length > maxBytes ? "response headers too large" : undefined;
  if (end === -2) return "bare CR or LF in response head";
  const text = data.toString("latin1", 0, end - 4);
  const lineEnd = text.indexOf("\r\n");
  const statusLine = lineEnd < 0 ? text : text.slice(0, lineEnd);
  if (!statusLine.startsWith("HTTP/1.") || statusLine.charCodeAt(8) !== 32) return "malformed status line";
  const minorVersion = statusLine.charCodeAt(7) - 48;
  const status = Number(statusLine.slice(9, 12));
  if (!(minorVersion === 0 || minorVersion === 1) || !Number.isInteger(status) || status < 100 || status > 999) return "malformed status line";

  const names: string[] = [];
  const values: string[] = [];
  let contentLength = -1;
  let chunked = false;
  let connection = "";
  let pos = lineEnd < 0 ? text.length : lineEnd + 2;
  while (pos < text.length) {
    let next = text.indexOf("\r\n", pos);
    if (next < 0) next = text.length;
    const colon = text.indexOf(":", pos);
    if (colon <= pos || colon >= next) return "malformed header line";
    const name = lowerAscii(text.slice(pos, colon));
    let vs = colon + 1;
    let ve = next;
    while (vs < ve && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
    while (ve > vs && (text.charCodeAt(ve - 1) === 32 || text.charCodeAt(ve - 1) === 9)) ve--;
    const value = text.slice(vs, ve);
    names.push(name);
    values.push(value);
    if (name === "content-length") {
      const length = parseContentLength(value);
      if (length < 0 || (contentLength >= 0 && length !== contentLength)) return "invalid Content-Length";
      contentLength = length;
    } else if (name === "transfer-encoding") {
      chunked = hasToken(value.toLowerCase(), "chunked");
    } else if (name === "connection") {
      connection = connection === "" ? value.toLowerCase() : `${connection},${value.toLowerCase()}`;
    }
    pos = next + 2;
  }
  const keepAlive = minorVersion === 1 ? !hasToken(connection, "close") : hasToken(connection, "keep-alive");
  let framing: ResponseHead["framing"];
  if (status < 200 || status === 204 || status === 304 || requestMethod === "HEAD") framing = "none";
  else if (chunked) framing = "chunked";
  else if (contentLength >= 0) framing = "length";
  else framing = "close";
  return {
    status,
    minorVersion,
    names,
    values,
    framing,
    contentLength: framing === "length" ? contentLength : -1,
    reusable: keepAlive && framing !== "close",
    headBytes: end,
  };
}
