import { describe, expect, it } from "vitest";
import { applyConfChange, checkConfChange, decodeConfChange, encodeConfChange, isMember } from "./conf-change.ts";
import type { ConfState } from "./entry.ts";
import { nodeId } from "./ids.ts";

const n = nodeId;
const state = (voters: string[], learners: string[] = []): ConfState => ({ voters: voters.map(n), learners: learners.map(n) });

describe("conf changes (thesis §4.1)", () => {
  it("encodeConfChange() and decodeConfChange() round-trip, with and without context", () => {
    for (const change of [
      { type: "add-voter" as const, nodeId: n("4") },
      { type: "add-learner" as const, nodeId: n("é-5"), context: "10.0.0.5:7000" },
      { type: "remove-node" as const, nodeId: n("2") },
    ]) {
      expect(decodeConfChange(encodeConfChange(change))).toEqual(change);
    }
  });

  it("decodeConfChange() throws on data that is not a conf change", () => {
    expect(() => decodeConfChange(new Uint8Array([1, 2, 3]))).toThrow();
    expect(() => decodeConfChange(new TextEncoder().encode('{"type":"rename","nodeId":"1"}'))).toThrow(/not a conf change/);
  });

  it("add-voter adds a voter or promotes a learner", () => {
    expect(applyConfChange(state(["1"]), { type: "add-voter", nodeId: n("2") })).toEqual(state(["1", "2"]));
    expect(applyConfChange(state(["1"], ["2"]), { type: "add-voter", nodeId: n("2") })).toEqual(state(["1", "2"]));
  });

  it("add-learner adds a learner or demotes a voter", () => {
    expect(applyConfChange(state(["1"]), { type: "add-learner", nodeId: n("2") })).toEqual(state(["1"], ["2"]));
    expect(applyConfChange(state(["1", "2"]), { type: "add-learner", nodeId: n("2") })).toEqual(state(["1"], ["2"]));
  });

  it("remove-node removes a voter or a learner, and is a no-op for a stranger", () => {
    expect(applyConfChange(state(["1", "2"], ["3"]), { type: "remove-node", nodeId: n("2") })).toEqual(state(["1"], ["3"]));
    expect(applyConfChange(state(["1", "2"], ["3"]), { type: "remove-node", nodeId: n("3") })).toEqual(state(["1", "2"]));
    expect(applyConfChange(state(["1"]), { type: "remove-node", nodeId: n("9") })).toEqual(state(["1"]));
  });

  it("every change moves at most one voter, so old and new majorities overlap", () => {
    const before = state(["1", "2", "3"], ["4"]);
    for (const type of ["add-voter", "add-learner", "remove-node"] as const) {
      for (const id of ["1", "4", "5"]) {
        const after = applyConfChange(before, { type, nodeId: n(id) });
        const diff = new Set([...before.voters, ...after.voters].filter((v) => before.voters.includes(v) !== after.voters.includes(v)));
        expect(diff.size).toBeLessThanOrEqual(1);
      }
    }
  });

  it("checkConfChange() refuses removing the last voter", () => {
    expect(checkConfChange(state(["1"]), { type: "remove-node", nodeId: n("1") })).toBe("removes-last-voter");
    expect(checkConfChange(state(["1"]), { type: "add-learner", nodeId: n("1") })).toBe("removes-last-voter");
    expect(checkConfChange(state(["1", "2"]), { type: "remove-node", nodeId: n("1") })).toBeNull();
  });

  it("isMember() counts voters and learners", () => {
    expect(isMember(state(["1"], ["2"]), n("2"))).toBe(true);
    expect(isMember(state(["1"], ["2"]), n("3"))).toBe(false);
  });
});
