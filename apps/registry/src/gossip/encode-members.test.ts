import { describe, expect, it } from "vitest";
import { encodeMember, encodeMembers } from "./encode-members.ts";

const versions = { protocol: 1, delegate: 1 };

describe("encodeMembers", () => {
  it("answers in Consul's AgentMember shape with serf's numeric statuses", () => {
    const out = encodeMembers(
      [
        { name: "n2", address: "10.0.0.2:8301", state: "dead", tags: { role: "server" } },
        { name: "n1", address: "10.0.0.1:8301", state: "alive", tags: { role: "server", id: "n1" } },
        { name: "n3", address: "[::1]:9000", state: "left", tags: {} },
        { name: "n4", address: "10.0.0.4:8301", state: "suspect", tags: {} },
      ],
      versions,
    );
    expect(out.map((m) => [m.Name, m.Addr, m.Port, m.Status])).toEqual([
      ["n1", "10.0.0.1", 8301, 1],
      ["n2", "10.0.0.2", 8301, 4],
      ["n3", "::1", 9000, 3],
      ["n4", "10.0.0.4", 8301, 1],
    ]);
    expect(out[0]).toEqual({
      Name: "n1",
      Addr: "10.0.0.1",
      Port: 8301,
      Tags: { role: "server", id: "n1" },
      Status: 1,
      ProtocolMin: 1,
      ProtocolMax: 1,
      ProtocolCur: 1,
      DelegateMin: 1,
      DelegateMax: 1,
      DelegateCur: 1,
    });
  });

  it("shows this node as leaving (2) while its leave spreads", () => {
    expect(encodeMember({ name: "n1", address: "10.0.0.1:8301", state: "left", tags: {} }, versions, true).Status).toBe(2);
    expect(encodeMembers([{ name: "n1", address: "10.0.0.1:8301", state: "left", tags: {} }], versions, "n1", true)[0]?.Status).toBe(2);
  });
});
