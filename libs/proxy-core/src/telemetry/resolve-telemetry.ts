// The effective Telemetry of one workload (Istio's Telemetry API): the root namespace's Telemetry
// without selector (mesh), then the workload namespace's without selector, then the one whose
// selector matches the workload, each overriding the one before per section, merged as
// istio/istio pilot/pkg/model/telemetry.go does (applicableTelemetries, mergeLogs, Tracing,
// mergeMetrics). Pure: resources in, plain data out (it travels in the pushed inbound listener).
import type { IstioMetricName, MeshResource, TelemetrySpec, WorkloadMode } from "@meshwork/config";
import { celLiteralText } from "@meshwork/config/cel-expression";
import { customMetricNames, reportedMetrics, telemetryProviders, type ReportedMetric } from "@meshwork/config/telemetry-providers";
import { labelsMatch } from "../compile-clusters.ts";

/** The side of a request: CLIENT = the workload's outbound requests (reporter source), SERVER = its inbound ones (reporter destination). */
export type TelemetryMode = "CLIENT" | "SERVER";

export { reportedMetrics, type ReportedMetric };

/** Access logs of one side, as Telemetry decided them. */
export interface AccessLogPolicy {
  readonly enabled: boolean;
  /** A CEL filter (the subset of @meshwork/config's parseCelExpression); absent: every request. */
  readonly filter?: string;
}

/** Where a custom span tag's value comes from. */
export type CustomTagSource =
  | { readonly type: "literal"; readonly value: string }
  | { readonly type: "environment"; readonly name: string; readonly defaultValue?: string }
  | { readonly type: "header"; readonly name: string; readonly defaultValue?: string };

/** Tracing of one side, as Telemetry decided it. */
export interface TracingPolicy {
  /** Replaces the sidecar's --trace-sampling; absent: the flag's value. */
  readonly samplingPercent?: number;
  /** False: trace headers still propagate but no span is reported (disableSpanReporting). */
  readonly reportSpans: boolean;
  /** Span attributes by tag name. */
  readonly customTags: Readonly<Record<string, CustomTagSource>>;
}

/** A label change: REMOVE drops the label, UPSERT sets it to a constant. */
export type TagChange = { readonly operation: "REMOVE" } | { readonly operation: "UPSERT"; readonly value: string };

/** What Telemetry changes about one metric on one side. */
export interface MetricOverride {
  readonly disabled: boolean;
  /** By label name. */
  readonly tags: Readonly<Record<string, TagChange>>;
}

/** The Telemetry of one side. Absent sections mean no Telemetry says anything: the sidecar's flags decide. */
export interface SideTelemetry {
  readonly accessLog?: AccessLogPolicy;
  readonly tracing?: TracingPolicy;
  /** Only the metrics some override touches. */
  readonly metrics: Readonly<Partial<Record<ReportedMetric, MetricOverride>>>;
}

export interface ResolvedTelemetry {
  /** `namespace/name` of the Telemetries applied, mesh → namespace → workload. */
  readonly sources: readonly string[];
  readonly client: SideTelemetry;
  readonly server: SideTelemetry;
}

export interface TelemetryWorkload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Istio's config root namespace; `istio-system` when unset. */
  readonly rootNamespace?: string | undefined;
}

export interface TelemetryResolution {
  readonly telemetry: ResolvedTelemetry;
  /** Telemetries set aside because an older one decides their level (first in input order = oldest). */
  readonly issues: readonly string[];
}

/** No Telemetry applies: every side follows the sidecar's flags. */
export const noTelemetry: ResolvedTelemetry = { sources: [], client: { metrics: {} }, server: { metrics: {} } };

const modes: readonly TelemetryMode[] = ["CLIENT", "SERVER"];

function appliesTo(mode: WorkloadMode | undefined, side: TelemetryMode): boolean {
  return mode === undefined || mode === "CLIENT_AND_SERVER" || mode === side;
}

function providerNames(providers: readonly { readonly name: string }[] | undefined): string[] {
  return (providers ?? []).map((p) => p.name.toLowerCase());
}

/**
 * The effective telemetry of `workload` from `telemetries` (input order stands for Istio's
 * creation order: at each level the first wins and the others are reported). Resources without a
 * namespace are taken to be in the workload's namespace.
 */
export function resolveTelemetry(telemetries: readonly MeshResource<"Telemetry">[], workload: TelemetryWorkload): TelemetryResolution {
  const root = workload.rootNamespace ?? "istio-system";
  const nsOf = (t: MeshResource<"Telemetry">): string => t.metadata.namespace ?? workload.namespace;
  const id = (t: MeshResource<"Telemetry">): string => `${nsOf(t)}/${t.metadata.name}`;
  const isNamespaceWide = (t: MeshResource<"Telemetry">): boolean => Object.keys(t.spec.selector?.matchLabels ?? {}).length === 0;
  const issues: string[] = [];
  const pick = (candidates: MeshResource<"Telemetry">[], level: string): MeshResource<"Telemetry"> | undefined => {
    const [first, ...rest] = candidates;
    for (const other of rest) issues.push(`Telemetry "${id(other)}" is ignored: "${first ? id(first) : ""}" (the oldest) already configures ${level}; merge them into one`);
    return first;
  };
  const levels: MeshResource<"Telemetry">[] = [];
  const mesh = pick(telemetries.filter((t) => nsOf(t) === root && isNamespaceWide(t)), "the mesh");
  if (mesh) levels.push(mesh);
  if (workload.namespace !== root) {
    const namespace = pick(telemetries.filter((t) => nsOf(t) === workload.namespace && isNamespaceWide(t)), `namespace ${workload.namespace}`);
    if (namespace) levels.push(namespace);
  }
  const selecting = telemetries.filter((t) => nsOf(t) === workload.namespace && !isNamespaceWide(t) && labelsMatch(t.spec.selector?.matchLabels ?? {}, workload.labels));
  const own = pick(selecting, "this workload");
  if (own) levels.push(own);
  if (levels.length === 0) return { telemetry: noTelemetry, issues };
  const specs = levels.map((t) => t.spec);
  const side = (mode: TelemetryMode): SideTelemetry => {
    const accessLog = mergeAccessLogging(specs, mode);
    const tracing = mergeTracing(specs, mode);
    return { ...(accessLog ? { accessLog } : {}), ...(tracing ? { tracing } : {}), metrics: mergeMetrics(specs, mode) };
  };
  return { telemetry: { sources: levels.map(id), client: side("CLIENT"), server: side("SERVER") }, issues };
}

/**
 * Istio's mergeLogs for the one provider Meshwork serves (`envoy`, also the default of an entry
 * naming none): the providers of the most specific level that names any are in scope; entries
 * then enable or (disabled) remove them in order. An entry's filter applies to what it enables.
 */
function mergeAccessLogging(specs: readonly TelemetrySpec[], mode: TelemetryMode): AccessLogPolicy | undefined {
  const levels = specs.filter((s) => (s.accessLogging?.length ?? 0) > 0);
  if (levels.length === 0) return undefined;
  const envoy = telemetryProviders.accessLogging;
  let inScope: readonly string[] = [envoy];
  for (const spec of levels) {
    const named = (spec.accessLogging ?? []).flatMap((entry) => providerNames(entry.providers));
    if (named.length > 0) inScope = named;
  }
  let parent: readonly string[] = [envoy];
  let result: AccessLogPolicy = { enabled: false };
  for (const spec of levels) {
    for (const entry of spec.accessLogging ?? []) {
      const named = providerNames(entry.providers);
      const providers = named.length > 0 ? named : parent;
      parent = providers;
      if (!providers.includes(envoy) || !inScope.includes(envoy) || !appliesTo(entry.match?.mode, mode)) continue;
      const filter = entry.filter?.expression;
      result = entry.disabled === true ? { enabled: false } : { enabled: true, ...(filter !== undefined ? { filter } : {}) };
    }
  }
  return result;
}

/** Istio's Tracing: entries in order, each field that is set overrides (customTags as a whole). */
function mergeTracing(specs: readonly TelemetrySpec[], mode: TelemetryMode): TracingPolicy | undefined {
  const entries = specs.flatMap((s) => s.tracing ?? []);
  if (entries.length === 0) return undefined;
  let samplingPercent: number | undefined;
  let reportSpans = true;
  let customTags: Record<string, CustomTagSource> = {};
  for (const entry of entries) {
    if (!appliesTo(entry.match?.mode, mode)) continue;
    if (entry.randomSamplingPercentage !== undefined) samplingPercent = entry.randomSamplingPercentage;
    if (entry.disableSpanReporting !== undefined) reportSpans = !entry.disableSpanReporting;
    if (entry.customTags !== undefined) {
      customTags = {};
      for (const [name, tag] of Object.entries(entry.customTags)) {
        if (tag.literal) customTags[name] = { type: "literal", value: tag.literal.value };
        else if (tag.environment) customTags[name] = { type: "environment", name: tag.environment.name, ...(tag.environment.defaultValue !== undefined ? { defaultValue: tag.environment.defaultValue } : {}) };
        else if (tag.header) customTags[name] = { type: "header", name: tag.header.name.toLowerCase(), ...(tag.header.defaultValue !== undefined ? { defaultValue: tag.header.defaultValue } : {}) };
      }
    }
  }
  return { ...(samplingPercent !== undefined ? { samplingPercent } : {}), reportSpans, customTags };
}

function metricsOf(metric: IstioMetricName | undefined, customMetric: string | undefined): readonly ReportedMetric[] {
  if (customMetric !== undefined) {
    const standard = customMetricNames[customMetric];
    return reportedMetrics.filter((m) => m === standard);
  }
  if (metric === undefined || metric === "ALL_METRICS") return reportedMetrics;
  return reportedMetrics.filter((m) => m === metric);
}

/**
 * Istio's mergeMetrics for `prometheus`: overrides in order (mesh → namespace → workload, each
 * list in order), `disabled` replaced when set and tag overrides merged per label. ALL_METRICS
 * stands for each metric. When the most specific level naming providers leaves prometheus out,
 * every metric is off.
 */
function mergeMetrics(specs: readonly TelemetrySpec[], mode: TelemetryMode): Partial<Record<ReportedMetric, MetricOverride>> {
  const prometheus = telemetryProviders.metrics;
  const entries = specs.flatMap((s) => s.metrics ?? []);
  let inScope: readonly string[] = [prometheus];
  for (const entry of entries) {
    const named = providerNames(entry.providers);
    if (named.length > 0) inScope = named;
  }
  const merged: Partial<Record<ReportedMetric, { disabled: boolean; tags: Record<string, TagChange> }>> = {};
  if (!inScope.includes(prometheus)) {
    for (const metric of reportedMetrics) merged[metric] = { disabled: true, tags: {} };
    return merged;
  }
  let parent: readonly string[] = [prometheus];
  for (const entry of entries) {
    const named = providerNames(entry.providers);
    const providers = named.length > 0 ? named : parent;
    parent = providers;
    if (!providers.includes(prometheus)) continue;
    for (const override of entry.overrides ?? []) {
      if (!appliesTo(override.match?.mode, mode)) continue;
      for (const metric of metricsOf(override.match?.metric, override.match?.customMetric)) {
        const current = merged[metric] ?? { disabled: false, tags: {} };
        if (override.disabled !== undefined) current.disabled = override.disabled;
        for (const [label, tag] of Object.entries(override.tagOverrides ?? {})) {
          if (tag.operation === "REMOVE") current.tags[label] = { operation: "REMOVE" };
          else current.tags[label] = { operation: "UPSERT", value: celLiteralText(tag.value ?? "") ?? tag.value ?? "" };
        }
        merged[metric] = current;
      }
    }
  }
  return merged;
}

/** The Telemetry of one side of `telemetry`. */
export function sideTelemetry(telemetry: ResolvedTelemetry, mode: TelemetryMode): SideTelemetry {
  return mode === "CLIENT" ? telemetry.client : telemetry.server;
}

/** Every mode, CLIENT first (for callers that configure both sides). */
export const telemetryModes = modes;
