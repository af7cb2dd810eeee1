import { describe, expect, it } from "vitest";
import { encodeConfChange } from "./conf-change.ts";
import { describeData, describeEntry, describeMessage, describeReady } from "./describe.ts";
import type { LogIndex, NodeId, Term } from "./ids.ts";

const n = (id: string): NodeId => id as NodeId;

describe("describe*", () => {
  it("describeData() quotes printable UTF-8 and hex-encodes the rest", () => {
    expect(describeData(new TextEncoder().encode("héllo"))).toBe('"héllo"');
    expect(describeData(new Uint8Array([0, 255]))).toBe("0x00ff");
    expect(describeData(new Uint8Array([10]))).toBe("0x0a");
  });

  it("describeEntry() shows term/index, type and payload, decoding conf changes", () => {
    expect(describeEntry({ term: 2 as Term, index: 7 as LogIndex, type: "normal", data: new TextEncoder().encode("x") })).toBe('2/7 normal "x"');
    const data = encodeConfChange({ type: "add-learner", nodeId: n("4"), context: "addr" });
    expect(describeEntry({ term: 2 as Term, index: 8 as LogIndex, type: "conf-change", data })).toBe('2/8 conf-change add-learner 4 "addr"');
  });

  it("describeMessage() gives each type its fields", () => {
    const base = { from: n("1"), to: n("2"), term: 3 as Term };
    expect(describeMessage({ ...base, type: "app", index: 4 as LogIndex, logTerm: 2 as Term, entries: [], commit: 4 as LogIndex })).toBe("1->2 app term=3 log=2/4 commit=4");
    expect(describeMessage({ ...base, type: "app-resp", index: 4 as LogIndex, reject: true, rejectHint: 2 as LogIndex, logTerm: 1 as Term })).toBe(
      "1->2 app-resp term=3 rejected=4 hint=1/2",
    );
    expect(describeMessage({ ...base, type: "pre-vote", index: 4 as LogIndex, logTerm: 2 as Term, transfer: false })).toBe("1->2 pre-vote term=3 last=2/4");
    expect(describeMessage({ ...base, type: "heartbeat", commit: 1 as LogIndex, context: "r" })).toBe("1->2 heartbeat term=3 commit=1 context=r");
    expect(describeMessage({ ...base, type: "transfer-leader", transferee: n("3") })).toBe("1->2 transfer-leader term=3 transferee=3");
  });

  it("describeReady() prints only the sections present", () => {
    expect(describeReady({ entries: [], messages: [], committedEntries: [], readStates: [{ index: 5 as LogIndex, context: "c" }], mustSync: false, sendBeforePersist: false })).toBe(
      "read-states:\n  index=5 context=c",
    );
  });
});
