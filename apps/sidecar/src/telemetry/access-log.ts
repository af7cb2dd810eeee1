// JSON access logs in Istio's default format (meshConfig.accessLogEncoding: JSON): one object per
// request with Envoy's field names. The data path fills a reusable AccessLogRecord; the writer
// turns it into a line at once and batches lines to a stream, dropping (and counting) lines
// rather than ever buffering without bound or blocking the proxy.

import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";
import { formatResponseFlags, type ResponseFlagSet } from "./response-flags.ts";

/**
 * One request's access-log data. Strings are "" and numbers -1 when unknown; both print as
 * `null`, as Envoy's JSON formatter prints an operator without a value. The object is meant to
 * be reused: `reset()` it (or take one from an AccessLogRecordPool) per request. Every field is
 * initialised here so all records share one hidden class.
 */
export class AccessLogRecord {
  /** `start_time`: when the first request byte arrived, epoch ms (may be fractional). */
  startTimeMs = -1;
  /** `method`: `:method`. */
  method = "";
  /** `path`: `x-envoy-original-path` if set, else `:path`. */
  path = "";
  /** `protocol`: `HTTP/1.1`, `HTTP/2`, or "" for TCP. */
  protocol = "";
  /** `response_code`: status sent downstream, 0 if none was sent (Envoy prints 0 too). */
  responseCode = 0;
  /** `response_flags`: an OR of RESPONSE_FLAGS bits. */
  responseFlags: ResponseFlagSet = 0;
  /** `response_code_details`: why the code was sent, e.g. `via_upstream`, `route_not_found`. */
  responseCodeDetails = "";
  /** `connection_termination_details`: why the proxy closed the connection, if it did. */
  connectionTerminationDetails = "";
  /** `upstream_transport_failure_reason`: e.g. a TLS verification error. */
  upstreamTransportFailureReason = "";
  /** `bytes_received`: request body bytes received. */
  bytesReceived = 0;
  /** `bytes_sent`: response body bytes sent. */
  bytesSent = 0;
  /** `duration`: from the first request byte to the last response byte, ms (printed truncated). */
  durationMs = -1;
  /** `upstream_service_time` (`x-envoy-upstream-service-time`): upstream's time, ms; -1 if none. */
  upstreamServiceTimeMs = -1;
  /** `x_forwarded_for`. */
  xForwardedFor = "";
  /** `user_agent`. */
  userAgent = "";
  /** `request_id`: `x-request-id`. */
  requestId = "";
  /** `authority`: `:authority` / `Host`. */
  authority = "";
  /** `upstream_host`: `ip:port` of the chosen endpoint. */
  upstreamHost = "";
  /** `upstream_cluster`: e.g. `outbound|9080|v1|reviews.default.svc.cluster.local`. */
  upstreamCluster = "";
  /** `upstream_local_address`. */
  upstreamLocalAddress = "";
  /** `downstream_local_address`. */
  downstreamLocalAddress = "";
  /** `downstream_remote_address`. */
  downstreamRemoteAddress = "";
  /** `requested_server_name`: the TLS SNI, if any. */
  requestedServerName = "";
  /** `route_name`: the matched route's name (`default` for Istio's catch-all). */
  routeName = "";

  /** Clears every field for reuse. */
  reset(): void {
    this.startTimeMs = -1;
    this.method = "";
    this.path = "";
    this.protocol = "";
    this.responseCode = 0;
    this.responseFlags = 0;
    this.responseCodeDetails = "";
    this.connectionTerminationDetails = "";
    this.upstreamTransportFailureReason = "";
    this.bytesReceived = 0;
    this.bytesSent = 0;
    this.durationMs = -1;
    this.upstreamServiceTimeMs = -1;
    this.xForwardedFor = "";
    this.userAgent = "";
    this.requestId = "";
    this.authority = "";
    this.upstreamHost = "";
    this.upstreamCluster = "";
    this.upstreamLocalAddress = "";
    this.downstreamLocalAddress = "";
    this.downstreamRemoteAddress = "";
    this.requestedServerName = "";
    this.routeName = "";
  }
}

/** A free list of records, for a data path that does not keep one record per connection. */
export class AccessLogRecordPool {
  readonly #free: AccessLogRecord[] = [];
  readonly #max: number;
  constructor(maxFree = 1024) {
    this.#max = maxFree;
  }
  /** A cleared record. */
  acquire(): AccessLogRecord {
    return this.#free.pop() ?? new AccessLogRecord();
  }
  /** Gives a record back (after `AccessLogWriter.write`, which does not keep it). */
  release(record: AccessLogRecord): void {
    if (this.#free.length < this.#max) {
      record.reset();
      this.#free.push(record);
    }
  }
}

/** True if JSON.stringify would escape something: a quote, backslash, control or surrogate unit. */
function needsEscape(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

function str(value: string): string {
  if (value === "") return "null";
  return needsEscape(value) ? JSON.stringify(value) : `"${value}"`;
}

let isoSecond = Number.NaN;
let isoPrefix = "";

/** `toISOString()` of an epoch-ms time, with the part up to the second cached: most lines share it. */
function isoTime(epochMs: number): string {
  const whole = Math.floor(epochMs);
  const second = Math.floor(whole / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20); // "2026-11-22T10:00:00."
  }
  const milli = whole - second * 1000;
  return `${isoPrefix}${milli < 10 ? "00" : milli < 100 ? "0" : ""}${milli}Z`;
}

function num(value: number): string {
  return value < 0 || !Number.isFinite(value) ? "null" : String(value);
}

function ms(value: number): string {
  return value < 0 || !Number.isFinite(value) ? "null" : String(Math.floor(value));
}

/**
 * The record as one JSON line (with the trailing `\n`), fields in Istio's default JSON order.
 * `upstream_service_time` is a string, since Envoy copies it from a response header.
 */
export function formatAccessLogLine(r: AccessLogRecord): string {
  const start = r.startTimeMs >= 0 && Number.isFinite(r.startTimeMs) ? `"${isoTime(r.startTimeMs)}"` : "null";
  const serviceTime = r.upstreamServiceTimeMs >= 0 ? `"${Math.floor(r.upstreamServiceTimeMs)}"` : "null";
  return (
    `{"start_time":${start}` +
    `,"route_name":${str(r.routeName)}` +
    `,"method":${str(r.method)}` +
    `,"path":${str(r.path)}` +
    `,"protocol":${str(r.protocol)}` +
    `,"response_code":${num(r.responseCode)}` +
    `,"response_flags":"${formatResponseFlags(r.responseFlags)}"` +
    `,"response_code_details":${str(r.responseCodeDetails)}` +
    `,"connection_termination_details":${str(r.connectionTerminationDetails)}` +
    `,"upstream_transport_failure_reason":${str(r.upstreamTransportFailureReason)}` +
    `,"bytes_received":${num(r.bytesReceived)}` +
    `,"bytes_sent":${num(r.bytesSent)}` +
    `,"duration":${ms(r.durationMs)}` +
    `,"upstream_service_time":${serviceTime}` +
    `,"x_forwarded_for":${str(r.xForwardedFor)}` +
    `,"user_agent":${str(r.userAgent)}` +
    `,"request_id":${str(r.requestId)}` +
    `,"authority":${str(r.authority)}` +
    `,"upstream_host":${str(r.upstreamHost)}` +
    `,"upstream_cluster":${str(r.upstreamCluster)}` +
    `,"upstream_local_address":${str(r.upstreamLocalAddress)}` +
    `,"downstream_local_address":${str(r.downstreamLocalAddress)}` +
    `,"downstream_remote_address":${str(r.downstreamRemoteAddress)}` +
    `,"requested_server_name":${str(r.requestedServerName)}` +
    "}\n"
  );
}

/** The part of a Writable the writer uses (a net.Socket, fs.WriteStream or process.stdout). */
export type AccessLogStream = Pick<Writable, "write" | "once" | "on" | "end">;

export interface AccessLogWriterOptions {
  /** Where lines go: process.stdout, or `openAccessLogStream(path)`. */
  stream: AccessLogStream;
  /** Starts enabled unless false (`--access-log=false`). */
  enabled?: boolean;
  /**
   * Most bytes (UTF-16 units, close enough) held while the stream is backed up or between
   * flushes; lines beyond are dropped and counted. Default 1 MiB.
   */
  maxPendingBytes?: number;
  /** Schedules a flush after the current batch of I/O; default `setImmediate`. */
  schedule?: (flush: () => void) => void;
  /** Called once per stream error; after one, every line is dropped. */
  onError?: (err: Error) => void;
}

export interface AccessLogStats {
  /** Lines handed to the stream. */
  written: number;
  /** Lines dropped because the stream was backed up beyond `maxPendingBytes` or had failed. */
  dropped: number;
}

/**
 * Batches access-log lines to a stream. `write()` formats at once (so the record can be reused
 * right after), queues the line and flushes once per event-loop turn. It never waits: while the
 * stream reports back-pressure, lines queue up to `maxPendingBytes`, then are dropped.
 */
export class AccessLogWriter {
  /** Lines are formatted only while true; the data path may check it before filling a record. */
  enabled: boolean;
  readonly stats: AccessLogStats = { written: 0, dropped: 0 };
  readonly #stream: AccessLogStream;
  readonly #maxPendingBytes: number;
  readonly #schedule: (flush: () => void) => void;
  readonly #flush = (): void => this.#flushNow();
  readonly #onDrain = (): void => {
    this.#blocked = false;
    if (this.#pending.length > 0) this.#flushNow();
  };
  #pending: string[] = [];
  #pendingLines = 0;
  #pendingBytes = 0;
  #scheduled = false;
  #blocked = false;
  #failed = false;

  constructor(options: AccessLogWriterOptions) {
    this.#stream = options.stream;
    this.enabled = options.enabled ?? true;
    this.#maxPendingBytes = options.maxPendingBytes ?? 1 << 20;
    this.#schedule = options.schedule ?? ((fn) => void setImmediate(fn));
    const onError = options.onError;
    // Without a listener an 'error' (disk full, closed pipe) would crash the proxy.
    this.#stream.on("error", (err: Error) => {
      if (this.#failed) return;
      this.#failed = true;
      this.stats.dropped += this.#pendingLines;
      this.#pending = [];
      this.#pendingLines = 0;
      this.#pendingBytes = 0;
      onError?.(err);
    });
  }

  /** Queues one line for `record` if enabled; never throws for a full or failed stream. */
  write(record: AccessLogRecord): void {
    if (!this.enabled) return;
    if (this.#failed) {
      this.stats.dropped++;
      return;
    }
    const line = formatAccessLogLine(record);
    if (this.#pendingBytes + line.length > this.#maxPendingBytes) {
      this.stats.dropped++;
      return;
    }
    this.#pending.push(line);
    this.#pendingLines++;
    this.#pendingBytes += line.length;
    if (!this.#scheduled && !this.#blocked) {
      this.#scheduled = true;
      this.#schedule(this.#flush);
    }
  }

  /** Hands every queued line to the stream now (unless it is backed up or failed). */
  flush(): void {
    if (!this.#blocked && !this.#failed) this.#flushNow();
  }

  #flushNow(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0 || this.#blocked || this.#failed) return;
    const chunk = this.#pending.length === 1 ? (this.#pending[0] as string) : this.#pending.join("");
    const lines = this.#pendingLines;
    this.#pending = [];
    this.#pendingLines = 0;
    this.#pendingBytes = 0;
    this.stats.written += lines;
    if (!this.#stream.write(chunk)) {
      this.#blocked = true;
      this.#stream.once("drain", this.#onDrain);
    }
  }

  /**
   * Flushes what is queued (waiting for back-pressure to clear), then ends the stream unless it
   * is process.stdout/stderr, which must stay open. Resolves when the data is handed off.
   */
  async close(): Promise<void> {
    this.enabled = false;
    if (this.#failed) return;
    if (this.#blocked) await new Promise<void>((resolve) => this.#stream.once("drain", () => resolve()));
    this.#flushNow();
    if (this.#stream === process.stdout || this.#stream === process.stderr) return;
    await new Promise<void>((resolve) => this.#stream.end(() => resolve()));
  }
}

/**
 * The stream for `--access-log-path`: `-` or `/dev/stdout` is process.stdout (the 12-factor
 * default), anything else a file opened for appending.
 */
export function openAccessLogStream(target: string): AccessLogStream {
  if (target === "-" || target === "/dev/stdout" || target === "") return process.stdout;
  return createWriteStream(target, { flags: "a" });
}
