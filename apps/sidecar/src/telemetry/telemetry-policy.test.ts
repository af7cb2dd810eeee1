import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { AccessLogWriter } from "./access-log.ts";
import { TelemetryPolicy, type TelemetryDefaults } from "./telemetry-policy.ts";

function defaults(flag: AccessLogWriter | undefined): TelemetryDefaults & { readonly stdoutCreated: () => number } {
  let created = 0;
  const stdout = new AccessLogWriter({ stream: new PassThrough() });
  return {
    accessLog: flag,
    stdoutAccessLog: () => {
      created++;
      return stdout;
    },
    samplingPercent: 1,
    env: { POD_NAME: "web-1" },
    stdoutCreated: () => created,
  };
}

describe("TelemetryPolicy", () => {
  it("follows the flags without a Telemetry, and the Telemetry's settings with one", () => {
    const flag = new AccessLogWriter({ stream: new PassThrough() });
    const d = defaults(flag);
    const policy = new TelemetryPolicy(d);
    expect(policy.configure(undefined, d)).toEqual([]);
    expect(policy.accessLog).toBe(flag);
    expect(policy.samplingPercent).toBe(1);
    policy.configure({ accessLog: { enabled: false }, tracing: { samplingPercent: 100, reportSpans: false, customTags: { pod: { type: "environment", name: "POD_NAME" }, user: { type: "header", name: "x-user" } } }, metrics: {} }, d);
    expect(policy.accessLog).toBeUndefined();
    expect(policy.samplingPercent).toBe(100);
    expect(policy.reportSpans).toBe(false);
    expect(policy.spanTags).toEqual([
      { name: "pod", header: undefined, value: "web-1" },
      { name: "user", header: "x-user", value: undefined },
    ]);
  });

  it("takes the stdout writer when a Telemetry turns logs on while --access-log is off", () => {
    const d = defaults(undefined);
    const policy = new TelemetryPolicy(d);
    let changes = 0;
    policy.onChange(() => changes++);
    policy.configure({ accessLog: { enabled: true }, metrics: {} }, d);
    policy.configure({ accessLog: { enabled: true, filter: "response.code >= 400" }, metrics: {} }, d);
    expect(policy.accessLog).toBeDefined();
    expect(policy.logFilter).toBeDefined();
    expect(d.stdoutCreated()).toBe(2);
    expect(changes).toBe(2);
  });

  it("logs nothing on a side whose filter does not compile, and says why", () => {
    const d = defaults(new AccessLogWriter({ stream: new PassThrough() }));
    const policy = new TelemetryPolicy(d);
    expect(policy.configure({ accessLog: { enabled: true, filter: "response.code >=" }, metrics: {} }, d)).toEqual(['access-log filter "response.code >=": column 17: the expression ends where a value was expected']);
    expect(policy.accessLog).toBeUndefined();
  });
});
