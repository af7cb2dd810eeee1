// The HTTP/1.1 response head from an upstream: status and the framing of the body that follows
// (RFC 9112 §6.3), so the proxy can forward the bytes as they are and know where the response
// ends on a kept-alive connection.
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

/** RFC 9110 §5.6.2 token bytes (header field names). */
const tokenBytes = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") tokenBytes[c.charCodeAt(0)] = 1;

/** The header names this parser acts on, by what it does with them; compared byte by byte, ASCII case folded. */
const names = {
  contentLength: Buffer.from("content-length", "latin1"),
  transferEncoding: Buffer.from("transfer-encoding", "latin1"),
  connection: Buffer.from("connection", "latin1"),
  keepAlive: Buffer.from("keep-alive", "latin1"),
  proxyConnection: Buffer.from("proxy-connection", "latin1"),
  peerMetadata: Buffer.from("x-envoy-peer-metadata", "latin1"),
  peerMetadataId: Buffer.from("x-envoy-peer-metadata-id", "latin1"),
  serviceTime: Buffer.from("x-envoy-upstream-service-time", "latin1"),
};

/**
 * Whether data[at, at + name.length) is `name` (lowercase letters and "-") in any ASCII case. The
 * bytes are token bytes already, and the only token bytes that `| 0x20` maps onto a lowercase
 * letter or "-" are that letter's two cases and "-" itself.
 */
function isName(data: Buffer, at: number, name: Buffer): boolean {
  for (let i = 0; i < name.length; i++) if (((data[at + i] as number) | 0x20) !== name[i]) return false;
  return true;
}

/** Whether data[start, end) is "keep-alive" in any case (the usual Connection value of a kept-alive response). */
function isKeepAlive(data: Buffer, start: number, end: number): boolean {
  return end - start === 10 && isName(data, start, names.keepAlive);
}

/**
 * Parses a response head at the start of `data`; undefined while incomplete; a string describes a
 * malformed head. One pass over the head's bytes: the status line, then each header line (its
 * name's token bytes, its value up to CRLF), refusing bare CR, bare LF and NUL anywhere (a
 * smuggling vector); only the names that matter for framing and forwarding are looked at, and
 * names and values are split off the head's text on first use.
 */
export function parseResponseHead(data: Buffer, requestMethod: string, maxBytes = 60 * 1024): ResponseHead | string | undefined {
  const length = data.length;
  // "HTTP/1.x SSS": refuse a response that does not start like one at once, instead of waiting for a blank line.
  const prefix = length < 12 ? length : 12;
  for (let i = 0; i < prefix; i++) {
    const c = data[i] as number;
    const ok = i < 7 ? c === statusPrefix[i] : i === 7 ? c === 48 || c === 49 : i === 8 ? c === 32 : c >= 48 && c <= 57;
    if (!ok) return "malformed status line";
  }
  const limit = length < maxBytes ? length : maxBytes;
  // The rest of the status line (a reason phrase, or nothing) up to its CRLF.
  let pos = 12;
  if (pos < length && data[pos] !== 32 && data[pos] !== 13) return "malformed status line";
  for (; pos < limit; pos++) {
    const c = data[pos] as number;
    if (c > 13) continue;
    if (c === 13) break;
    if (c === 10 || c === 0) return "bare CR or LF in response head";
  }
  if (pos + 1 >= limit) return incomplete(length, maxBytes);
  if (data[pos + 1] !== 10) return "bare CR or LF in response head";
  const minorVersion = (data[7] as number) - 48;
  const status = ((data[9] as number) - 48) * 100 + ((data[10] as number) - 48) * 10 + ((data[11] as number) - 48);
  if (status < 100) return "malformed status line";
  const headersStart = pos + 2;

  let contentLength = -1;
  let transferEncoding: string | undefined;
  let connection = "";
  let keepAliveSaid = false;
  /** [start, end) of header lines the proxy must not forward (hop-by-hop), to cut out of the raw head. */
  const hopByHop: number[] = [];
  pos = headersStart;
  for (;;) {
    if (pos + 1 >= limit) return incomplete(length, maxBytes);
    if (data[pos] === 13) {
      if (data[pos + 1] !== 10) return "bare CR or LF in response head";
      break;
    }
    const lineStart = pos;
    while (pos < limit && tokenBytes[data[pos] as number] === 1) pos++;
    if (pos >= limit) return incomplete(length, maxBytes);
    const colon = pos;
    if (data[colon] !== 58 || colon === lineStart) {
      // Not "token:": a space before the colon, a line without one, obs-fold, a bare LF…
      for (; pos < limit && data[pos] !== 13 && data[pos] !== 10; pos++);
      return pos >= limit ? incomplete(length, maxBytes) : "malformed header line";
    }
    // The same scan as the status line's, written out again: as a function it cost the sidecar
    // ~1 % of its CPU per request (bench/proxy/sidecar-ab.mjs, twenty-third session).
    pos++;
    for (; pos < limit; pos++) {
      const c = data[pos] as number;
      if (c > 13) continue;
      if (c === 13) break;
      if (c === 10 || c === 0) return "bare CR or LF in response head";
    }
    if (pos + 1 >= limit) return incomplete(length, maxBytes);
    if (data[pos + 1] !== 10) return "bare CR or LF in response head";
    const valueEnd = pos;
    pos += 2;
    switch (colon - lineStart) {
      case 10:
        if (isName(data, lineStart, names.connection)) {
          const start = skipOws(data, colon + 1, valueEnd);
          const end = trimEnd(data, start, valueEnd);
          if (isKeepAlive(data, start, end)) keepAliveSaid = true;
          else {
            const value = data.toString("latin1", start, end).toLowerCase();
            connection = connection === "" ? value : `${connection},${value}`;
          }
          hopByHop.push(lineStart, pos);
        } else if (isName(data, lineStart, names.keepAlive)) hopByHop.push(lineStart, pos);
        break;
      case 14:
        if (isName(data, lineStart, names.contentLength)) {
          const value = readContentLength(data, colon + 1, valueEnd);
          if (value < 0 || (contentLength >= 0 && value !== contentLength)) return "invalid Content-Length";
          contentLength = value;
        }
        break;
      case 16:
        if (isName(data, lineStart, names.proxyConnection)) hopByHop.push(lineStart, pos);
        break;
      case 17:
        if (isName(data, lineStart, names.transferEncoding)) {
          const start = skipOws(data, colon + 1, valueEnd);
          const value = data.toString("latin1", start, trimEnd(data, start, valueEnd)).toLowerCase();
          transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
        }
        break;
      // The server sidecar's metadata exchange (for this proxy's telemetry, not for the app) and
      // its service time (replaced by this proxy's).
      case 21:
        if (isName(data, lineStart, names.peerMetadata)) hopByHop.push(lineStart, pos);
        break;
      case 24:
        if (isName(data, lineStart, names.peerMetadataId)) hopByHop.push(lineStart, pos);
        break;
      case 29:
        if (isName(data, lineStart, names.serviceTime)) hopByHop.push(lineStart, pos);
        break;
    }
  }
  const end = pos + 2;
  if (!(minorVersion === 0 || minorVersion === 1)) return "malformed status line";
  if (transferEncoding !== undefined && contentLength >= 0) return "both Transfer-Encoding and Content-Length";
  // Chunked only when it is the final coding; otherwise the body runs until the connection closes (RFC 9112 §6.3).
  const chunked = transferEncoding !== undefined && lastCoding(transferEncoding) === "chunked";
  const keepAlive = minorVersion === 1 ? !hasToken(connection, "close") : keepAliveSaid || hasToken(connection, "keep-alive");
  let framing: ResponseHead["framing"];
  if (status < 200 || status === 204 || status === 304 || requestMethod === "HEAD") framing = "none";
  else if (chunked) framing = "chunked";
  else if (transferEncoding !== undefined) framing = "close";
  else if (contentLength >= 0) framing = "length";
  else framing = "close";
  return new ParsedResponseHead(data.toString("latin1", 0, end - 4), headersStart, status, minorVersion, framing, framing === "length" ? contentLength : -1, keepAlive && framing !== "close", hopByHop, end);
}

const statusPrefix = Buffer.from("HTTP/1.", "latin1");

/** No blank line within what arrived: wait for more, unless the head is already over the limit. */
function incomplete(length: number, maxBytes: number): string | undefined {
  return length > maxBytes ? "response headers too large" : undefined;
}

function skipOws(data: Buffer, start: number, end: number): number {
  while (start < end && (data[start] === 32 || data[start] === 9)) start++;
  return start;
}

function trimEnd(data: Buffer, start: number, end: number): number {
  while (end > start && (data[end - 1] === 32 || data[end - 1] === 9)) end--;
  return end;
}

/** A Content-Length value's number read off its bytes; -1 when it is not one (a list of equal values goes through parseContentLength). */
function readContentLength(data: Buffer, start: number, end: number): number {
  start = skipOws(data, start, end);
  end = trimEnd(data, start, end);
  if (end === start) return -1;
  if (end - start > 15) return parseContentLength(data.toString("latin1", start, end));
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = data[i] as number;
    if (c < 48 || c > 57) return parseContentLength(data.toString("latin1", start, end));
    value = value * 10 + (c - 48);
  }
  return value;
}

function lastCoding(list: string): string {
  const comma = list.lastIndexOf(",");
  return (comma < 0 ? list : list.slice(comma + 1)).trim();
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

