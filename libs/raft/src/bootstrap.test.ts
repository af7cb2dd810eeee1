import { describe, expect, it } from "vitest";
import { bootstrapCluster } from "./bootstrap.ts";
import { decodeConfChange } from "./conf-change.ts";
import type { NodeId } from "./ids.ts";
import { MemoryStorage } from "./memory-storage.ts";
import { RawNode } from "./raw-node.ts";

const n = (id: string): NodeId => id as NodeId;

describe("bootstrapCluster()", () => {
  it("writes one committed conf-change entry per member at term 1, voters first", () => {
    const { entries, hardState } = bootstrapCluster({ voters: [n("2"), n("1")], learners: [n("9")] });
    expect(entries.map((e) => [e.index, e.term, e.type])).toEqual([
      [1, 1, "conf-change"],
      [2, 1, "conf-change"],
      [3, 1, "conf-change"],
    ]);
    expect(entries.map((e) => decodeConfChange(e.data))).toEqual([
      { type: "add-voter", nodeId: "1" },
      { type: "add-voter", nodeId: "2" },
      { type: "add-learner", nodeId: "9" },
    ]);
    expect(hardState).toEqual({ term: 1, vote: null, commit: 3 });
  });

  it("refuses a cluster without voters", () => {
    expect(() => bootstrapCluster({ voters: [], learners: [n("1")] })).toThrow(RangeError);
  });

  it("a node on a bootstrapped MemoryStorage takes its membership by applying the log, then may campaign", () => {
    const storage = new MemoryStorage({ bootstrap: { voters: [n("1")], learners: [] } });
    const node = new RawNode({ id: n("1"), electionTick: 10, heartbeatTick: 1, storage, random: () => 0 });
    expect(node.status().config.voters).toEqual([]);
    node.campaign();
    expect(node.status().state).toBe("follower");
    const ready = node.ready();
    expect(ready.committedEntries).toHaveLength(1);
    node.advance(ready);
    expect(node.status().config.voters).toEqual(["1"]);
    node.campaign();
    expect(node.status().state).toBe("leader");
  });

  it("MemoryStorage takes bootstrap or confState, not both", () => {
    const members = { voters: [n("1")], learners: [] };
    expect(() => new MemoryStorage({ bootstrap: members, confState: members })).toThrow(/not both/);
  });
});
