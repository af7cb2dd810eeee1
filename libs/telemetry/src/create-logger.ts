// The logging facade every Meshwork process uses: one JSON object per line, written to a sink.
// The default sink is stdout (12-factor: the environment routes the stream; apps never open log files).

import { levelRank, type LogLevel } from "./log-level.ts";

/** Structured fields attached to a record; Errors are written as {name, message, stack, ...}. */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  /** The least severe level this logger writes. */
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** True when a record at `level` would be written; use it to skip building costly fields. */
  isLevelEnabled(level: LogLevel): boolean;
  /** A logger with the same name, level and sink that adds `fields` to every record. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** The process or component name, written as `name` on every record (e.g. "meshctl"). */
  readonly name: string;
  /** The least severe level written; default "info". */
  readonly level?: LogLevel;
  /** Receives each record as one JSON line ending in "\n"; default writes to process.stdout. */
  readonly write?: (line: string) => void;
  /** The clock for `time`; default `() => new Date()`. Inject a fixed clock in tests. */
  readonly now?: () => Date;
  /** Fields written on every record, as if passed to child(). */
  readonly fields?: LogFields;
}

/**
 * Creates a logger writing `{"time":ISO-8601,"level":"info","name":...,"msg":...,...fields}` lines.
 * `time`, `level`, `name` and `msg` always come first and cannot be overwritten by fields; call
 * fields override child fields of the same key. Writing is synchronous with respect to the sink.
 */
export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const sink: Sink = {
    name: options.name,
    threshold: levelRank(options.level ?? "info"),
    level: options.level ?? "info",
    write,
    now: options.now ?? (() => new Date()),
  };
  return bindLogger(sink, options.fields ?? {});
}

interface Sink {
  readonly name: string;
  readonly level: LogLevel;
  readonly threshold: number;
  readonly write: (line: string) => void;
  readonly now: () => Date;
}

function bindLogger(sink: Sink, bound: LogFields): Logger {
  const log = (level: LogLevel, msg: string, fields: LogFields | undefined): void => {
    if (levelRank(level) < sink.threshold) return;
    sink.write(`${serializeRecord(sink, level, msg, bound, fields)}\n`);
  };
  return {
    level: sink.level,
    debug: (msg, fields) => log("debug", msg, fields),
    info: (msg, fields) => log("info", msg, fields),
    warn: (msg, fields) => log("warn", msg, fields),
    error: (msg, fields) => log("error", msg, fields),
    isLevelEnabled: (level) => levelRank(level) >= sink.threshold,
    child: (fields) => bindLogger(sink, { ...bound, ...fields }),
  };
}

function serializeRecord(
  sink: Sink,
  level: LogLevel,
  msg: string,
  bound: LogFields,
  fields: LogFields | undefined,
): string {
  const time = sink.now().toISOString();
  // Core keys are inserted first so they lead the line, then re-set so fields cannot replace them.
  const record: Record<string, unknown> = { time, level, name: sink.name, msg };
  Object.assign(record, bound, fields);
  record["time"] = time;
  record["level"] = level;
  record["name"] = sink.name;
  record["msg"] = msg;
  try {
    return JSON.stringify(record, replaceValue);
  } catch (error) {
    // A circular structure (or a throwing toJSON) must not lose the record or crash the caller.
    return JSON.stringify({ time, level, name: sink.name, msg, logError: `fields not serialisable: ${String(error)}` });
  }
}

function replaceValue(_key: string, value: unknown): unknown {
  if (value instanceof Error) return serializeError(value);
  if (typeof value === "bigint") return value.toString();
  return value;
}

function serializeError(error: Error): Record<string, unknown> {
  // Own enumerable properties carry details such as `code`, `errno` and `path` on Node errors.
  const out: Record<string, unknown> = { name: error.name, message: error.message };
  Object.assign(out, error);
  if (error.stack !== undefined) out["stack"] = error.stack;
  if (error.cause !== undefined) out["cause"] = error.cause;
  return out;
}
