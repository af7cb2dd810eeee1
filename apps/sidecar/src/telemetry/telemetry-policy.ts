// The Telemetry of one side of the sidecar (outbound = Istio's CLIENT mode, inbound = SERVER) as
// the data path reads it: one object per side whose fields a config push replaces (configure), so a
// request reads a field or two and nothing is rebuilt per request. Without a Telemetry resource
// the fields hold the flags' values (--access-log, --trace-sampling).
import { compileLogFilter, type CustomTagSource, type LogFilter, type SideTelemetry } from "@meshwork/proxy-core";
import type { AccessLogWriter } from "./access-log.ts";

/**
 * A custom span tag, resolved as far as config allows: literals and environment variables are
 * constants (`value`); a header tag reads `header` per span and falls back to `value` (its
 * defaultValue). A tag left without a value is not added.
 */
export interface SpanTag {
  readonly name: string;
  readonly header: string | undefined;
  readonly value: string | undefined;
}

export interface TelemetryDefaults {
  /** The --access-log writer; undefined with `--access-log off`. */
  readonly accessLog: AccessLogWriter | undefined;
  /** The writer a Telemetry that turns logs on uses when --access-log is off: stdout, as Istio's envoy provider writes (created on first use). */
  readonly stdoutAccessLog: () => AccessLogWriter;
  /** --trace-sampling. */
  readonly samplingPercent: number;
  /** Environment variables for `environment` custom tags. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export class TelemetryPolicy {
  /** Where access-log lines of this side go; undefined = no access log. */
  accessLog: AccessLogWriter | undefined;
  /** Only requests it accepts are logged; undefined = every request. */
  logFilter: LogFilter | undefined = undefined;
  /** Percent of requests without an upstream sampling decision that are sampled. */
  samplingPercent: number;
  /** False: trace headers propagate, but no span is reported (disableSpanReporting). */
  reportSpans = true;
  /** Attributes added to every reported span of this side. */
  spanTags: readonly SpanTag[] = [];
  readonly #watchers: (() => void)[] = [];

  constructor(defaults: Pick<TelemetryDefaults, "accessLog" | "samplingPercent">) {
    this.accessLog = defaults.accessLog;
    this.samplingPercent = defaults.samplingPercent;
  }

  /** Calls `watch` after every configure (environments that keep access-log dependent fields of their own). Config time only. */
  onChange(watch: () => void): void {
    this.#watchers.push(watch);
  }

  /**
   * Takes the side's resolved Telemetry (undefined: none applies) over the defaults. Returns the
   * problems that left part of it unapplied (a filter that does not compile: the side logs nothing
   * rather than everything).
   */
  configure(side: SideTelemetry | undefined, defaults: TelemetryDefaults): string[] {
    const problems: string[] = [];
    const log = side?.accessLog;
    this.accessLog = log === undefined ? defaults.accessLog : log.enabled ? (defaults.accessLog ?? defaults.stdoutAccessLog()) : undefined;
    this.logFilter = undefined;
    if (log?.enabled === true && log.filter !== undefined) {
      const compiled = compileLogFilter(log.filter);
      if (compiled.ok) this.logFilter = compiled.filter;
      else {
        problems.push(compiled.message);
        this.accessLog = undefined;
      }
    }
    const tracing = side?.tracing;
    this.samplingPercent = tracing?.samplingPercent ?? defaults.samplingPercent;
    this.reportSpans = tracing?.reportSpans ?? true;
    this.spanTags = Object.entries(tracing?.customTags ?? {}).map(([name, source]) => spanTag(name, source, defaults.env));
    for (const watch of this.#watchers) watch();
    return problems;
  }
}

function spanTag(name: string, source: CustomTagSource, env: Readonly<Record<string, string | undefined>>): SpanTag {
  switch (source.type) {
    case "literal":
      return { name, header: undefined, value: source.value };
    case "environment":
      return { name, header: undefined, value: env[source.name] ?? source.defaultValue };
    case "header":
      return { name, header: source.name, value: source.defaultValue };
  }
}
