import { describe, expect, it } from "vitest";
import type { NodeId } from "./ids.ts";
import { MemoryStorage } from "./memory-storage.ts";
import { resolveRaftConfig } from "./raft-config.ts";
import type { RaftConfig } from "./raft-config.ts";
import { RawNode } from "./raw-node.ts";

const base: RaftConfig = { id: "1" as NodeId, electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage(), random: () => 0 };

describe("resolveRaftConfig()", () => {
  it("fills in the defaults: PreVote and CheckQuorum on, safe reads", () => {
    const result = resolveRaftConfig(base);
    expect(result.ok && result.config).toMatchObject({
      preVote: true,
      checkQuorum: true,
      readOnlyOption: "safe",
      maxSizePerMsg: 1024 * 1024,
      maxCommittedSizePerReady: 1024 * 1024,
      maxInflightMsgs: 256,
      snapshotTimeoutTick: 100,
      applied: null,
    });
  });

  it("refuses lease-based reads without CheckQuorum (thesis §6.4.1)", () => {
    const result = resolveRaftConfig({ ...base, readOnlyOption: "lease-based", checkQuorum: false });
    expect(result).toMatchObject({ ok: false, problem: "lease-based-read-requires-check-quorum" });
    expect(resolveRaftConfig({ ...base, readOnlyOption: "lease-based" }).ok).toBe(true);
  });

  it("refuses an election timeout that is not above the heartbeat interval", () => {
    expect(resolveRaftConfig({ ...base, electionTick: 1 })).toMatchObject({ ok: false, problem: "invalid-election-tick" });
    expect(resolveRaftConfig({ ...base, heartbeatTick: 0 })).toMatchObject({ ok: false, problem: "invalid-heartbeat-tick" });
  });

  it("refuses non-positive limits and an empty id", () => {
    expect(resolveRaftConfig({ ...base, maxSizePerMsg: 0 })).toMatchObject({ ok: false, problem: "invalid-size-limit" });
    expect(resolveRaftConfig({ ...base, maxInflightMsgs: 0 })).toMatchObject({ ok: false, problem: "invalid-inflight-limit" });
    expect(resolveRaftConfig({ ...base, id: "" as NodeId })).toMatchObject({ ok: false, problem: "invalid-id" });
  });

  it("RawNode throws a RangeError naming the problem", () => {
    expect(() => new RawNode({ ...base, readOnlyOption: "lease-based", checkQuorum: false })).toThrow(/lease-based-read-requires-check-quorum/);
  });
});
