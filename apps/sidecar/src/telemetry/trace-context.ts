// Trace-context propagation: W3C Trace Context (`traceparent`, `tracestate`) and Zipkin B3
// (multi-header `x-b3-*` and single `b3`). Pure parsing and formatting; no clock, no randomness.
// W3C Trace Context Level 1 (https://www.w3.org/TR/trace-context/), B3 (openzipkin/b3-propagation).

/** What a request carried in: a parent span and/or a sampling decision. */
export interface IncomingTraceContext {
  /** 32 lowercase hex digits; "" when the headers carried only a sampling decision (`b3: 0`). */
  traceId: string;
  /** The caller's span id, 16 lowercase hex; "" with traceId "". */
  spanId: string;
  /** The caller's decision; undefined when it made none (the proxy decides). */
  sampled: boolean | undefined;
  /** B3 debug (`x-b3-flags: 1`, `b3: ...-d`): sample regardless of rate. */
  debug: boolean;
  /** The validated `tracestate` to pass on (only with a valid `traceparent`); "" for none. */
  traceState: string;
}

/** Header values as Node's IncomingHttpHeaders holds them: lowercase names. */
export type HeaderValues = Readonly<Record<string, string | string[] | undefined>>;

/** Every header this module reads or writes; the data path removes them before adding its own. */
export const TRACE_HEADER_NAMES: readonly string[] = Object.freeze([
  "traceparent",
  "tracestate",
  "b3",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-flags",
]);

const ZERO32 = "00000000000000000000000000000000";
const ZERO16 = "0000000000000000";

/**
 * True when value[start, end) is lowercase hex and not all zeros. A char-code loop rather than a
 * regex over a slice: this runs on every request and must not allocate.
 */
function isNonZeroLowerHex(value: string, start: number, end: number): boolean {
  let nonZero = false;
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (c !== 48) nonZero = true;
    } else if (c >= 97 && c <= 102) {
      nonZero = true;
    } else {
      return false;
    }
  }
  return nonZero;
}

function isLowerHex(value: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** A valid trace id: 32 lowercase hex digits, not all zero (W3C §3.2.2.3). */
export function isValidTraceId(id: string): boolean {
  return id.length === 32 && isNonZeroLowerHex(id, 0, 32);
}

/** A valid span (parent) id: 16 lowercase hex digits, not all zero (W3C §3.2.2.4). */
export function isValidSpanId(id: string): boolean {
  return id.length === 16 && isNonZeroLowerHex(id, 0, 16);
}

export interface Traceparent {
  traceId: string;
  parentId: string;
  /** The trace-flags byte; bit 0 is `sampled`. */
  flags: number;
}

/**
 * Parses a `traceparent` value (W3C §3.2). Version 00 must be exactly 55 characters; a higher
 * version is parsed by its first 55 characters if the next one is `-` (§3.2.4); `ff` is invalid.
 * Returns undefined for anything invalid, which means: start a new trace.
 */
export function parseTraceparent(value: string): Traceparent | undefined {
  const length = value.length;
  if (length < 55) return undefined;
  if (!isLowerHex(value, 0, 2)) return undefined;
  const isV0 = value.charCodeAt(0) === 48 && value.charCodeAt(1) === 48;
  if (value.charCodeAt(0) === 102 && value.charCodeAt(1) === 102) return undefined; // version ff
  if (isV0 ? length !== 55 : length > 55 && value.charCodeAt(55) !== 45 /* - */) return undefined;
  if (value.charCodeAt(2) !== 45 || value.charCodeAt(35) !== 45 || value.charCodeAt(52) !== 45) return undefined;
  if (!isNonZeroLowerHex(value, 3, 35) || !isNonZeroLowerHex(value, 36, 52) || !isLowerHex(value, 53, 55)) return undefined;
  const f1 = value.charCodeAt(53);
  const f2 = value.charCodeAt(54);
  const flags = ((f1 <= 57 ? f1 - 48 : f1 - 87) << 4) | (f2 <= 57 ? f2 - 48 : f2 - 87);
  return { traceId: value.slice(3, 35), parentId: value.slice(36, 52), flags };
}

/** Formats a version-00 `traceparent`; only the sampled flag is set or cleared. */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return sampled ? `00-${traceId}-${spanId}-01` : `00-${traceId}-${spanId}-00`;
}

const TRACESTATE_KEY = /^(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$/;
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Validates a `tracestate` value (W3C §3.3): at most 32 `key=value` members with valid keys and
 * values and no duplicate keys; empty members and optional whitespace are dropped. Returns the
 * normalised list, or "" when it is invalid (then the whole header is discarded, §3.3.1.1).
 */
export function parseTracestate(value: string | readonly string[]): string {
  const joined = typeof value === "string" ? value : value.join(",");
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of joined.split(",")) {
    const member = raw.trim();
    if (member === "") continue;
    const eq = member.indexOf("=");
    if (eq <= 0) return "";
    const key = member.slice(0, eq);
    const val = member.slice(eq + 1);
    if (!TRACESTATE_KEY.test(key) || !TRACESTATE_VALUE.test(val) || keys.has(key)) return "";
    keys.add(key);
    members.push(member);
  }
  if (members.length > 32) return "";
  return members.join(",");
}

function trimmed(value: string): string {
  // trim() only when needed: most values have no surrounding whitespace.
  const n = value.length;
  return n > 0 && (value.charCodeAt(0) <= 32 || value.charCodeAt(n - 1) <= 32) ? value.trim() : value;
}

function one(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") return trimmed(value);
  return value.length === 1 ? trimmed(value[0] as string) : undefined; // repeated: invalid
}

const HEX_ANYCASE = /^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32})$/;

/** A B3 trace id (16 or 32 hex, either case) as a W3C one: lowercase, 64-bit ids left-padded. */
function b3TraceId(id: string): string | undefined {
  if (!HEX_ANYCASE.test(id)) return undefined;
  const lower = id.toLowerCase();
  const full = lower.length === 16 ? ZERO16 + lower : lower;
  return full === ZERO32 ? undefined : full;
}

function b3SpanId(id: string): string | undefined {
  if (id.length !== 16) return undefined;
  const lower = id.toLowerCase();
  return isValidSpanId(lower) ? lower : undefined;
}

function b3Sampled(text: string | undefined): boolean | undefined {
  if (text === "1" || text === "true") return true;
  if (text === "0" || text === "false") return false;
  return undefined;
}

/**
 * Parses a single `b3` header: `{traceId}-{spanId}[-{sampling}[-{parentSpanId}]]`, or `{sampling}`
 * alone, where sampling is `0`, `1` or `d` (debug). Returns undefined when malformed.
 */
export function parseB3Single(value: string): IncomingTraceContext | undefined {
  if (value === "0" || value === "1" || value === "d") {
    return { traceId: "", spanId: "", sampled: value !== "0", debug: value === "d", traceState: "" };
  }
  const parts = value.split("-");
  if (parts.length < 2 || parts.length > 4) return undefined;
  const traceId = b3TraceId(parts[0] as string);
  const spanId = b3SpanId(parts[1] as string);
  if (traceId === undefined || spanId === undefined) return undefined;
  const sampling = parts[2];
  if (sampling !== undefined && sampling !== "0" && sampling !== "1" && sampling !== "d") return undefined;
  if (parts[3] !== undefined && b3SpanId(parts[3]) === undefined) return undefined;
  return {
    traceId,
    spanId,
    sampled: sampling === undefined ? undefined : sampling !== "0",
    debug: sampling === "d",
    traceState: "",
  };
}

/**
 * Reads the incoming trace context from request headers. Precedence: a valid `traceparent`
 * (with its `tracestate`), then `b3`, then the `x-b3-*` headers. Returns undefined when there
 * is no usable context: the proxy then starts a trace and makes the sampling decision.
 */
export function extractTraceContext(headers: HeaderValues): IncomingTraceContext | undefined {
  const traceparent = one(headers["traceparent"]);
  if (traceparent !== undefined) {
    const parsed = parseTraceparent(traceparent);
    if (parsed !== undefined) {
      const state = headers["tracestate"];
      return {
        traceId: parsed.traceId,
        spanId: parsed.parentId,
        sampled: (parsed.flags & 1) === 1,
        debug: false,
        traceState: state === undefined ? "" : parseTracestate(state),
      };
    }
  }
  const single = one(headers["b3"]);
  if (single !== undefined) {
    const parsed = parseB3Single(single);
    if (parsed !== undefined) return parsed;
  }
  const debug = one(headers["x-b3-flags"]) === "1";
  const sampled = debug ? true : b3Sampled(one(headers["x-b3-sampled"]));
  const traceIdText = one(headers["x-b3-traceid"]);
  const spanIdText = one(headers["x-b3-spanid"]);
  const traceId = traceIdText === undefined ? undefined : b3TraceId(traceIdText);
  const spanId = spanIdText === undefined ? undefined : b3SpanId(spanIdText);
  if (traceId !== undefined && spanId !== undefined) return { traceId, spanId, sampled, debug, traceState: "" };
  if (sampled !== undefined) return { traceId: "", spanId: "", sampled, debug, traceState: "" };
  return undefined;
}

/** The ids of the span the proxy creates, from which the upstream headers are written. */
export interface OutgoingTraceIds {
  traceId: string;
  /** The proxy's span: the parent of whatever the upstream creates. */
  spanId: string;
  /** The incoming span (parent of the proxy's span); "" at a trace's root. */
  parentSpanId: string;
  sampled: boolean;
  debug: boolean;
  traceState: string;
}

/**
 * The trace headers to send upstream as HTTP/1.1 header lines (`name: value\r\n` each):
 * `traceparent` (+ `tracestate`), B3 multi-header and single `b3`, all naming the same span so an
 * app reading either format joins the trace. One string, to append to a raw request head.
 */
export function formatTraceHeaderLines(ids: OutgoingTraceIds): string {
  const sampledDigit = ids.sampled ? "1" : "0";
  let lines =
    `traceparent: ${formatTraceparent(ids.traceId, ids.spanId, ids.sampled)}\r\n` +
    (ids.traceState === "" ? "" : `tracestate: ${ids.traceState}\r\n`) +
    `x-b3-traceid: ${ids.traceId}\r\nx-b3-spanid: ${ids.spanId}\r\n`;
  if (ids.parentSpanId !== "") lines += `x-b3-parentspanid: ${ids.parentSpanId}\r\n`;
  lines += ids.debug ? "x-b3-flags: 1\r\n" : `x-b3-sampled: ${sampledDigit}\r\n`;
  lines += `b3: ${ids.traceId}-${ids.spanId}-${ids.debug ? "d" : sampledDigit}`;
  if (ids.parentSpanId !== "") lines += `-${ids.parentSpanId}`;
  return `${lines}\r\n`;
}

/** The same headers as `[name, value]` pairs, for HTTP/2 or node:http requests. */
export function traceHeaderEntries(ids: OutgoingTraceIds): [string, string][] {
  const sampledDigit = ids.sampled ? "1" : "0";
  const entries: [string, string][] = [["traceparent", formatTraceparent(ids.traceId, ids.spanId, ids.sampled)]];
  if (ids.traceState !== "") entries.push(["tracestate", ids.traceState]);
  entries.push(["x-b3-traceid", ids.traceId], ["x-b3-spanid", ids.spanId]);
  if (ids.parentSpanId !== "") entries.push(["x-b3-parentspanid", ids.parentSpanId]);
  entries.push(ids.debug ? ["x-b3-flags", "1"] : ["x-b3-sampled", sampledDigit]);
  let b3 = `${ids.traceId}-${ids.spanId}-${ids.debug ? "d" : sampledDigit}`;
  if (ids.parentSpanId !== "") b3 += `-${ids.parentSpanId}`;
  entries.push(["b3", b3]);
  return entries;
}
