import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { TelemetrySpec } from "../schema/telemetry.ts";
import { checkTelemetry } from "./telemetry-rules.ts";

/** Runs the schema (which must pass) and then the rule: [severity, path, message]. */
function issues(spec: unknown): [string, string, string][] {
  const { problems, decoded } = checkValue(TelemetrySpec, spec, ["spec"]);
  expect(problems).toEqual([]);
  return checkTelemetry(decoded as TelemetrySpec, { namespace: "bookinfo", name: "t" }).map((i) => [i.severity ?? "error", formatPath(i.path), i.message]);
}

describe("checkTelemetry", () => {
  it("accepts the mesh-wide access log, sampling and metric overrides of Istio's docs", () => {
    expect(
      issues({
        accessLogging: [{ providers: [{ name: "envoy" }], filter: { expression: "response.code >= 400" } }],
        tracing: [{ randomSamplingPercentage: 10, customTags: { env: { literal: { value: "prod" } } } }],
        metrics: [{ providers: [{ name: "prometheus" }], overrides: [{ match: { metric: "REQUEST_COUNT", mode: "CLIENT" }, disabled: true }] }],
      }),
    ).toEqual([]);
  });

  it("names the column of a filter outside the CEL subset", () => {
    expect(issues({ accessLogging: [{ filter: { expression: "response.code >= 400 || request.headers['x'] = 'y'" } }] })).toEqual([
      ["error", "spec.accessLogging[0].filter.expression", `cannot use "response.code >= 400 || request.headers['x'] = 'y'": column 46: unexpected character "=" (write == to compare)`],
    ]);
  });

  it("rejects a targetRef with the fix, and selector together with targetRefs", () => {
    expect(issues({ targetRefs: [{ kind: "Service", name: "reviews" }], selector: { matchLabels: { app: "reviews" } } }).map(([s, p]) => [s, p])).toEqual([
      ["error", "spec.targetRefs"],
      ["error", "spec.targetRefs"],
    ]);
  });

  it("rejects an UPSERT computed from request attributes and accepts a quoted constant", () => {
    expect(issues({ metrics: [{ overrides: [{ tagOverrides: { host: { value: "request.host" } } }] }] }).map(([s, p]) => [s, p])).toEqual([
      ["error", "spec.metrics[0].overrides[0].tagOverrides.host.value"],
    ]);
    expect(issues({ metrics: [{ overrides: [{ tagOverrides: { deployment: { value: "'canary'" } } }] }] })).toEqual([]);
  });

  it("warns about providers Meshwork does not serve, and not about tracing providers", () => {
    expect(issues({ accessLogging: [{ providers: [{ name: "otel" }] }], tracing: [{ providers: [{ name: "zipkin" }] }] }).map(([s, p]) => [s, p])).toEqual([
      ["warning", "spec.accessLogging[0].providers[0].name"],
    ]);
  });
});
