import { describe, expect, it } from "vitest";
import { HttpError } from "../http/http-error.ts";
import { DEFAULT_AUTOPILOT_CONFIG, encodeAutopilotConfig, formatDuration, parseAutopilotConfig, parseDuration } from "./autopilot-config.ts";

describe("autopilot configuration", () => {
  it("encodes Consul's defaults in api.AutopilotConfiguration's shape", () => {
    expect(encodeAutopilotConfig(DEFAULT_AUTOPILOT_CONFIG, { createIndex: 1, modifyIndex: 3 })).toEqual({
      CleanupDeadServers: true,
      LastContactThreshold: "200ms",
      MaxTrailingLogs: 250,
      MinQuorum: 0,
      ServerStabilizationTime: "10s",
      RedundancyZoneTag: "",
      DisableUpgradeMigration: false,
      UpgradeVersionTag: "",
      CreateIndex: 1,
      ModifyIndex: 3,
    });
  });

  it("formats and parses Go durations", () => {
    expect([0, 200, 1000, 1500, 90_000, 120_000].map(formatDuration)).toEqual(["0s", "200ms", "1s", "1.5s", "1m30s", "2m"]);
    expect(["200ms", "10s", "1m30s", "1.5s", "0", "2h"].map(parseDuration)).toEqual([200, 10_000, 90_000, 1500, 0, 7_200_000]);
    expect(["", "10", "ten s", "10s junk"].map(parseDuration)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("reads a PUT body over the current configuration, Go nanoseconds included", () => {
    const next = parseAutopilotConfig({ CleanupDeadServers: false, ServerStabilizationTime: "30s", LastContactThreshold: 500_000_000, MinQuorum: 3 }, DEFAULT_AUTOPILOT_CONFIG);
    expect(next).toEqual({ cleanupDeadServers: false, serverStabilizationTimeMs: 30_000, lastContactThresholdMs: 500, maxTrailingLogs: 250, minQuorum: 3 });
  });

  it("refuses bad fields with a 400 naming the field and the expected form", () => {
    const refuse = (body: unknown) => {
      try {
        parseAutopilotConfig(body, DEFAULT_AUTOPILOT_CONFIG);
      } catch (error) {
        return error instanceof HttpError ? `${error.status} ${error.message}` : String(error);
      }
      return "accepted";
    };
    expect(refuse({ CleanupDeadServers: "yes" })).toBe('400 autopilot configuration: CleanupDeadServers must be true or false, got "yes"');
    expect(refuse({ ServerStabilizationTime: "soon" })).toBe('400 autopilot configuration: ServerStabilizationTime must be a duration such as "200ms" or "10s", got "soon"');
    expect(refuse({ MaxTrailingLogs: -1 })).toBe("400 autopilot configuration: MaxTrailingLogs must be a whole number ≥ 0, got -1");
    expect(refuse([])).toMatch(/^400 PUT \/v1\/operator\/autopilot\/configuration needs a JSON object/);
  });
});
