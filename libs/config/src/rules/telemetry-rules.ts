// Semantic checks of a Telemetry after its schema passed: scope (selector; targetRef is not served
// yet), providers Meshwork serves, access-log filter expressions (the CEL subset of
// cel-expression.ts), custom tags and metric overrides. Follows istio/istio
// pkg/config/validation (ValidateTelemetry) where Istio checks the same thing.
import { celLiteralText, celSubsetSummary, parseCelExpression } from "../cel-expression.ts";
import type { FieldIssue, FieldPath, SpecRule } from "../field-issue.ts";
import type { CustomTag, MetricsOverrides, ProviderRef, TelemetrySpec } from "../schema/telemetry.ts";
import { isHeaderName } from "./headers.ts";
import { checkPolicyScope } from "./policy-scope.ts";
import { customMetricNames, istioMetricLabels, telemetryProviders } from "../telemetry-providers.ts";


/** Checks a Telemetry spec; see the file comment. */
export const checkTelemetry: SpecRule<TelemetrySpec> = (spec) => {
  const issues: FieldIssue[] = [...checkPolicyScope(spec)];
  const targetField = spec.targetRef !== undefined ? "targetRef" : (spec.targetRefs?.length ?? 0) > 0 ? "targetRefs" : undefined;
  if (targetField !== undefined) {
    issues.push({
      path: ["spec", targetField],
      message: `Meshwork does not attach a Telemetry to a ${targetField === "targetRef" ? "targetRef" : "targetRefs"} (Service or Gateway) yet`,
      hint: "select the workloads (the service's or the gateway's pods) by label instead: selector.matchLabels",
    });
  }
  spec.accessLogging?.forEach((entry, i) => {
    const path = ["spec", "accessLogging", i];
    issues.push(...providerIssues(entry.providers, [...path, "providers"], "accessLogging"));
    const expression = entry.filter?.expression;
    if (expression !== undefined) {
      const parsed = parseCelExpression(expression);
      if (!parsed.ok) {
        issues.push({
          path: [...path, "filter", "expression"],
          message: `cannot use ${JSON.stringify(expression)}: column ${parsed.column}: ${parsed.message}`,
          hint: celSubsetSummary,
        });
      }
    }
  });
  spec.tracing?.forEach((entry, i) => {
    const path = ["spec", "tracing", i];
    issues.push(...providerIssues(entry.providers, [...path, "providers"], "tracing"));
    for (const [name, tag] of Object.entries(entry.customTags ?? {})) issues.push(...customTagIssues(name, tag, [...path, "customTags", name]));
  });
  spec.metrics?.forEach((entry, i) => {
    const path = ["spec", "metrics", i];
    issues.push(...providerIssues(entry.providers, [...path, "providers"], "metrics"));
    entry.overrides?.forEach((override, k) => issues.push(...overrideIssues(override, [...path, "overrides", k])));
  });
  return issues;
};

function providerIssues(providers: readonly ProviderRef[] | undefined, path: FieldPath, section: "accessLogging" | "metrics" | "tracing"): FieldIssue[] {
  const issues: FieldIssue[] = [];
  providers?.forEach((provider, k) => {
    if (provider.name === "") {
      issues.push({ name: "MissingField", path: [...path, k, "name"], message: "the provider name is empty", hint: section === "tracing" ? "name the tracing provider, or remove providers" : `write name: ${telemetryProviders[section]}` });
      return;
    }
    if (section === "tracing") return; // spans go to the sidecar's --otlp-endpoint whatever the provider is called
    const served = telemetryProviders[section];
    if (provider.name.toLowerCase() !== served) {
      issues.push({
        path: [...path, k, "name"],
        message:
          section === "accessLogging"
            ? `provider ${JSON.stringify(provider.name)} is not one Meshwork serves, so it writes no access log; only envoy (the sidecar's JSON log) is`
            : `provider ${JSON.stringify(provider.name)} is not one Meshwork serves; only prometheus (/stats/prometheus) is${providers.some((p) => p.name.toLowerCase() === served) ? "" : ", and naming only other providers turns Istio's standard metrics off here"}`,
        hint: `use name: ${served}`,
        severity: "warning",
      });
    }
  });
  return issues;
}

function customTagIssues(name: string, tag: CustomTag, path: FieldPath): FieldIssue[] {
  if (name === "") return [{ path, message: "a custom tag has an empty name", hint: "name the span attribute, e.g. user_id" }];
  if (tag.literal === undefined && tag.environment === undefined && tag.header === undefined) {
    return [{ name: "MissingField", path, message: `custom tag ${JSON.stringify(name)} says nowhere its value comes from`, hint: "set one of literal: {value: ...}, environment: {name: ...} or header: {name: ...}" }];
  }
  if (tag.environment !== undefined && tag.environment.name === "") {
    return [{ name: "MissingField", path: [...path, "environment", "name"], message: "the environment variable name is empty", hint: "name the variable, e.g. POD_NAME" }];
  }
  if (tag.header !== undefined && !isHeaderName(tag.header.name)) {
    return [{ path: [...path, "header", "name"], message: `${JSON.stringify(tag.header.name)} is not a header name`, hint: "name a request header, e.g. x-user-id" }];
  }
  return [];
}

function overrideIssues(override: MetricsOverrides, path: FieldPath): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const metric = override.match?.metric;
  const custom = override.match?.customMetric;
  if (custom !== undefined && customMetricNames[custom] === undefined) {
    issues.push({
      path: [...path, "match", "customMetric"],
      message: `Meshwork reports no metric ${JSON.stringify(custom)}, so this override changes nothing`,
      hint: `use metric: (REQUEST_COUNT, REQUEST_DURATION, ...) or one of ${Object.keys(customMetricNames).join(", ")}`,
      severity: "warning",
    });
  }
  if (metric === "GRPC_REQUEST_MESSAGES" || metric === "GRPC_RESPONSE_MESSAGES") {
    issues.push({
      path: [...path, "match", "metric"],
      message: `Meshwork does not report ${metric} (istio_${metric === "GRPC_REQUEST_MESSAGES" ? "request" : "response"}_messages_total), so this override changes nothing`,
      hint: "override REQUEST_COUNT or ALL_METRICS instead",
      severity: "warning",
    });
  }
  for (const [label, tag] of Object.entries(override.tagOverrides ?? {})) {
    const tagPath = [...path, "tagOverrides", label];
    const operation = tag.operation ?? "UPSERT";
    if (operation === "REMOVE") {
      if (!(istioMetricLabels as readonly string[]).includes(label)) {
        issues.push({ path: tagPath, message: `${JSON.stringify(label)} is not a label of Istio's standard metrics, so removing it changes nothing`, hint: "name a label such as request_protocol or destination_principal", severity: "warning" });
      }
      if (tag.value !== undefined) issues.push({ path: [...tagPath, "value"], message: "REMOVE ignores value", hint: "remove value, or use operation: UPSERT to set the label", severity: "warning" });
      continue;
    }
    if (tag.value === undefined || tag.value === "") {
      issues.push({ name: "MissingField", path: [...tagPath, "value"], message: `UPSERT of label ${JSON.stringify(label)} has no value`, hint: "give the label's value as a quoted literal, e.g. value: \"'canary'\"" });
    } else if (celLiteralText(tag.value) === undefined) {
      issues.push({
        path: [...tagPath, "value"],
        message: `Meshwork does not support UPSERT with the expression ${JSON.stringify(tag.value)}: label values are literals, not computed per request`,
        hint: `quote a constant value, e.g. value: "'${tag.value.replaceAll("'", "")}'"`,
      });
    }
  }
  return issues;
}
