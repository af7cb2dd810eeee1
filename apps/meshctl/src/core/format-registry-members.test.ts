import { describe, expect, it } from "vitest";
import { formatRegistryMembers, parseRaftConfiguration } from "./format-registry-members.ts";

describe("formatRegistryMembers", () => {
  it("prints aligned columns with the leader starred and its HTTP address", () => {
    const members = [
      { ID: "n1", Address: "10.0.0.1:8300", Leader: false, Voter: true },
      { ID: "node-two", Address: "10.0.0.2:8300", Leader: true, Voter: true },
      { ID: "n3", Address: "10.0.0.3:8300", Leader: false, Voter: false },
    ];
    expect(formatRegistryMembers(members, "10.0.0.2:8500")).toBe(
      ["ID        ADDRESS        ROLE       LEADER", "n1        10.0.0.1:8300  voter", "node-two  10.0.0.2:8300  voter      *", "n3        10.0.0.3:8300  non-voter", "", "Leader's HTTP API: 10.0.0.2:8500", ""].join("\n"),
    );
  });

  it("says when no leader is known", () => {
    expect(formatRegistryMembers([], "")).toContain("No leader known");
  });
});

describe("parseRaftConfiguration", () => {
  it("reads Consul's Servers list and refuses other shapes", () => {
    expect(parseRaftConfiguration({ Servers: [{ ID: "n1", Node: "n1", Address: "a:1", Leader: true, Voter: true }], Index: 3 })).toEqual({ ok: true, members: [{ ID: "n1", Address: "a:1", Leader: true, Voter: true }] });
    expect(parseRaftConfiguration({})).toEqual({ ok: false, detail: "the answer has no Servers list" });
    expect(parseRaftConfiguration({ Servers: [{ Address: "a:1" }] })).toMatchObject({ ok: false });
  });
});
