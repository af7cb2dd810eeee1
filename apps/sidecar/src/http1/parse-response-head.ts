// The HTTP/1.1 response head from an upstream: status and the framing of the body that follows
// (RFC 9112 §6.3), so the proxy can forward the bytes as they are and know where the response
// ends on a kept-alive connection.
import { headEnd } from "./find-head-end.ts";
import { isTokenRange } from "./http-token.ts";
import { hasToken, lowerAscii, parseContentLength, trimOws } from "./parse-request-head.ts";

export interface ResponseHead {
  readonly status: number;
  readonly minorVersion: number;
  /** Lowercase header names and their values, in received order, without the lines `hopByHop` cuts. */
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
  /**
   * Byte ranges `[start0, end0, start1, end1, ...]` of header lines not to forward: hop-by-hop
   * (Connection, Keep-Alive, Proxy-Connection), the peer's metadata exchange, and
   * x-envoy-upstream-service-time (the proxy sets its own, as Envoy's router does).
   */
  readonly hopByHop: readonly number[];
  readonly headBytes: number;
}

const statusPrefix = Buffer.from("HTTP/1.", "latin1");

/** Parses a response head at the start of `data`; undefined while incomplete; a string describes a malformed head. */
export function parseResponseHead(data: Buffer, requestMethod: string, maxBytes = 60 * 1024): ResponseHead | string | undefined {
  // Refuse a response that does not start like one at once, instead of waiting for a blank line.
  const prefix = Math.min(data.length, statusPrefix.length);
  for (let i = 0; i < prefix; i++) if (data[i] !== statusPrefix[i]) return "malformed status line";
  const end = headEnd(data, maxBytes);
  if (end === -1) return data.length > maxBytes ? "response headers too large" : undefined;
  if (end === -2) return "bare CR or LF in response head";
  const text = data.toString("latin1", 0, end - 4);
  const lineEnd = text.indexOf("\r\n");
  const statusLine = lineEnd < 0 ? text : text.slice(0, lineEnd);
  if (!statusLine.startsWith("HTTP/1.") || statusLine.charCodeAt(8) !== 32) return "malformed status line";
  const minorVersion = statusLine.charCodeAt(7) - 48;
  // Exactly three digits, then a space (reason phrase) or the end of the line.
  const d1 = statusLine.charCodeAt(9) - 48;
  const d2 = statusLine.charCodeAt(10) - 48;
  const d3 = statusLine.charCodeAt(11) - 48;
  const after = statusLine.length > 12 ? statusLine.charCodeAt(12) : 32;
  if (!(d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9 && d3 >= 0 && d3 <= 9) || after !== 32) return "malformed status line";
  const status = d1 * 100 + d2 * 10 + d3;
  if (!(minorVersion === 0 || minorVersion === 1) || status < 100) return "malformed status line";

  let contentLength = -1;
  let transferEncoding: string | undefined;
  let connection = "";
  /** [start, end) of header lines the proxy must not forward (hop-by-hop), to cut out of the raw head. */
  const hopByHop: number[] = [];
  const headersStart = lineEnd < 0 ? text.length : lineEnd + 2;
  let pos = headersStart;
  while (pos < text.length) {
    let next = text.indexOf("\r\n", pos);
    if (next < 0) next = text.length;
    const colon = text.indexOf(":", pos);
    if (colon <= pos || colon >= next) return "malformed header line";
    if (!isTokenRange(text, pos, colon)) return "invalid header name";
    // Only the names below matter for framing and forwarding; the others are not even sliced (names and values are made on demand).
    const nameLength = colon - pos;
    if (nameLength === 10 || nameLength === 14 || nameLength === 16 || nameLength === 17 || nameLength === 21 || nameLength === 24 || nameLength === 29) {
      const name = lowerAscii(text.slice(pos, colon));
      if (name === "content-length") {
        const length = parseContentLength(trimOws(text, colon + 1, next));
        if (length < 0 || (contentLength >= 0 && length !== contentLength)) return "invalid Content-Length";
        contentLength = length;
      } else if (name === "transfer-encoding") {
        const value = trimOws(text, colon + 1, next).toLowerCase();
        transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
      } else if (name === "connection" || name === "keep-alive" || name === "proxy-connection") {
        if (name === "connection") {
          const value = trimOws(text, colon + 1, next).toLowerCase();
          connection = connection === "" ? value : `${connection},${value}`;
        }
        hopByHop.push(pos, next + 2);
      } else if (name === "x-envoy-peer-metadata" || name === "x-envoy-peer-metadata-id" || name === "x-envoy-upstream-service-time") {
        // The server sidecar's metadata exchange (for this proxy's telemetry, not for the app) and
        // its service time (replaced by this proxy's).
        hopByHop.push(pos, next + 2);
      }
    }
    pos = next + 2;
  }
  if (transferEncoding !== undefined && contentLength >= 0) return "both Transfer-Encoding and Content-Length";
  // Chunked only when it is the final coding; otherwise the body runs until the connection closes (RFC 9112 §6.3).
  const codings = transferEncoding === undefined ? [] : transferEncoding.split(",").map((c) => c.trim());
  const chunked = codings[codings.length - 1] === "chunked";
  const keepAlive = minorVersion === 1 ? !hasToken(connection, "close") : hasToken(connection, "keep-alive");
  let framing: ResponseHead["framing"];
  if (status < 200 || status === 204 || status === 304 || requestMethod === "HEAD") framing = "none";
  else if (chunked) framing = "chunked";
  else if (transferEncoding !== undefined) framing = "close";
  else if (contentLength >= 0) framing = "length";
  else framing = "close";
  return new ParsedResponseHead(text, headersStart, status, minorVersion, framing, framing === "length" ? contentLength : -1, keepAlive && framing !== "close", hopByHop, end);
}

/** A parsed response head; its header names and values are split off the head's text on first use (most responses never need them). */
class ParsedResponseHead implements ResponseHead {
  readonly status: number;
  readonly minorVersion: number;
  readonly framing: ResponseHead["framing"];
  readonly contentLength: number;
  readonly reusable: boolean;
  readonly hopByHop: readonly number[];
  readonly headBytes: number;
  readonly #text: string;
  readonly #headersStart: number;
  #names: string[] | undefined = undefined;
  #values: string[] = [];

  constructor(text: string, headersStart: number, status: number, minorVersion: number, framing: ResponseHead["framing"], contentLength: number, reusable: boolean, hopByHop: readonly number[], headBytes: number) {
    this.#text = text;
    this.#headersStart = headersStart;
    this.status = status;
    this.minorVersion = minorVersion;
    this.framing = framing;
    this.contentLength = contentLength;
    this.reusable = reusable;
    this.hopByHop = hopByHop;
    this.headBytes = headBytes;
  }

  get names(): readonly string[] {
    return this.#names ?? this.#split();
  }

  get values(): readonly string[] {
    if (this.#names === undefined) this.#split();
    return this.#values;
  }

  /** Splits the (already validated) header lines, but the cut ones, into lowercase names and trimmed values. */
  #split(): string[] {
    const text = this.#text;
    const cut = this.hopByHop;
    const names: string[] = [];
    const values: string[] = [];
    let pos = this.#headersStart;
    let nextCut = 0;
    while (pos < text.length) {
      let next = text.indexOf("\r\n", pos);
      if (next < 0) next = text.length;
      if (nextCut < cut.length && cut[nextCut] === pos) {
        nextCut += 2;
      } else {
        const colon = text.indexOf(":", pos);
        names.push(lowerAscii(text.slice(pos, colon)));
        values.push(trimOws(text, colon + 1, next));
      }
      pos = next + 2;
    }
    this.#names = names;
    this.#values = values;
    return names;
  }
}

