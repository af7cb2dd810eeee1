import { describe, expect, it } from "vitest";
import { formatAutopilotConfig, isGoDuration, mergeAutopilotConfig, parseAutopilotConfig } from "./format-autopilot-config.ts";

const answer = {
  CleanupDeadServers: true,
  LastContactThreshold: "200ms",
  MaxTrailingLogs: 250,
  MinQuorum: 0,
  ServerStabilizationTime: "10s",
  RedundancyZoneTag: "",
  DisableUpgradeMigration: false,
  UpgradeVersionTag: "",
  CreateIndex: 4,
  ModifyIndex: 7,
};

describe("parseAutopilotConfig / formatAutopilotConfig / mergeAutopilotConfig", () => {
  it("prints the supported fields as Name = value lines in Consul's order", () => {
    const config = parseAutopilotConfig({ ...answer, CleanupDeadServers: false, MinQuorum: 3 });
    expect(config?.ModifyIndex).toBe(7);
    expect(formatAutopilotConfig(config ?? (undefined as never))).toBe(
      ["CleanupDeadServers = false", "LastContactThreshold = 200ms", "MaxTrailingLogs = 250", "MinQuorum = 3", "ServerStabilizationTime = 10s", ""].join("\n"),
    );
  });

  it("refuses an answer that is not an autopilot configuration", () => {
    expect(parseAutopilotConfig([answer])).toBeUndefined();
    expect(parseAutopilotConfig({ ...answer, MaxTrailingLogs: "250" })).toBeUndefined();
    expect(parseAutopilotConfig({ ...answer, ModifyIndex: undefined })).toBeUndefined();
  });

  it("merges changes over the whole answer and drops the indexes", () => {
    expect(mergeAutopilotConfig(answer, { ServerStabilizationTime: "30s", CleanupDeadServers: false })).toEqual({
      CleanupDeadServers: false,
      LastContactThreshold: "200ms",
      MaxTrailingLogs: 250,
      MinQuorum: 0,
      ServerStabilizationTime: "30s",
      RedundancyZoneTag: "",
      DisableUpgradeMigration: false,
      UpgradeVersionTag: "",
    });
  });

  it("accepts Go durations only", () => {
    for (const ok of ["0", "200ms", "10s", "1m30s", "1.5s", "2h"]) expect(isGoDuration(ok)).toBe(true);
    for (const bad of ["", "10", "ten seconds", "10 s", "-1s", "1d"]) expect(isGoDuration(bad)).toBe(false);
  });
});
