import { describe, expect, it } from "vitest";
import { formatAutopilotState, parseAutopilotState } from "./format-autopilot-state.ts";

const server = (name: string, extra: Record<string, unknown>) => ({
  ID: name,
  Name: name,
  Address: `127.0.0.1:83${name.slice(1)}0`,
  SerfStatus: "alive",
  Version: "",
  LastTerm: 2,
  StableSince: "2026-11-22T10:00:00.000Z",
  ...extra,
});

describe("parseAutopilotState / formatAutopilotState", () => {
  it("prints health, failure tolerance and a row per server", () => {
    const state = parseAutopilotState({
      Healthy: false,
      FailureTolerance: 0,
      Servers: [
        server("n1", { Leader: true, LastContact: "", LastIndex: 42, Healthy: true, Voter: true }),
        server("n2", { Leader: false, LastContact: "1.5s", LastIndex: 17, Healthy: false, Voter: false }),
      ],
    });
    expect(formatAutopilotState(state ?? (undefined as never))).toBe(
      [
        "Healthy: false",
        "Failure tolerance: 0",
        "",
        "NAME  ID  ADDRESS         HEALTHY  VOTER  LEADER  LAST CONTACT  LAST INDEX",
        "n1    n1  127.0.0.1:8310  true     true   true    -             42",
        "n2    n2  127.0.0.1:8320  false    false  false   1.5s          17",
        "",
      ].join("\n"),
    );
  });

  it("refuses an answer that is not a health reply", () => {
    expect(parseAutopilotState({ Healthy: true, Servers: [] })).toBeUndefined();
    expect(parseAutopilotState({ Healthy: true, FailureTolerance: 0, Servers: [{ ID: "n1" }] })).toBeUndefined();
  });
});
