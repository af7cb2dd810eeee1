import type { LogIndex, Message, NodeId, Term } from "@meshwork/raft";
import { describe, expect, it } from "vitest";
import { decodeRaftMessage, encodeRaftMessage } from "./raft-message-codec.ts";

const a = "a" as NodeId;
const b = "b" as NodeId;

describe("raft message codec", () => {
  it("round-trips an append with entry bytes", () => {
    const message: Message = {
      type: "app",
      from: a,
      to: b,
      term: 3 as Term,
      index: 7 as LogIndex,
      logTerm: 2 as Term,
      commit: 6 as LogIndex,
      entries: [
        { term: 3 as Term, index: 8 as LogIndex, type: "normal", data: new Uint8Array([0, 1, 255]) },
        { term: 3 as Term, index: 9 as LogIndex, type: "normal", data: new Uint8Array(0) },
      ],
    };
    expect(decodeRaftMessage(encodeRaftMessage(message))).toEqual(message);
  });

  it("round-trips a snapshot and a heartbeat with a null context", () => {
    const snap: Message = {
      type: "snap",
      from: a,
      to: b,
      term: 1 as Term,
      snapshot: { metadata: { index: 10 as LogIndex, term: 1 as Term, confState: { voters: [a, b], learners: [] } }, data: Buffer.from("state") },
    };
    const decoded = decodeRaftMessage(encodeRaftMessage(snap));
    expect(decoded.type === "snap" && Buffer.from(decoded.snapshot.data).toString()).toBe("state");
    const heartbeat: Message = { type: "heartbeat", from: a, to: b, term: 1 as Term, commit: 0 as LogIndex, context: null };
    expect(decodeRaftMessage(encodeRaftMessage(heartbeat))).toEqual(heartbeat);
  });

  it("sends the binary form (no JSON, no base64 of entry bytes)", () => {
    const data = new Uint8Array(256).fill(120);
    const message: Message = { type: "prop", from: a, to: b, term: 2 as Term, entries: [{ type: "normal", data }] };
    const encoded = encodeRaftMessage(message);
    expect(encoded[0]).not.toBe(0x7b);
    expect(encoded.length).toBeLessThan(256 + 16);
  });

  it("still reads the JSON form earlier builds sent (rolling upgrade)", () => {
    const json = Buffer.from('{"type":"prop","from":"a","to":"b","term":2,"entries":[{"type":"normal","data":{"$b64":"AAH/"}}]}');
    expect(decodeRaftMessage(json)).toEqual({ type: "prop", from: a, to: b, term: 2, entries: [{ type: "normal", data: new Uint8Array([0, 1, 255]) }] });
  });

  it("refuses what is not a Raft message", () => {
    expect(() => decodeRaftMessage(Buffer.from('{"type":"nope","from":"a","to":"b","term":1}'))).toThrow(/unknown type/);
    expect(() => decodeRaftMessage(Buffer.from("[]"))).toThrow(/unknown codec version/);
    expect(() => decodeRaftMessage(new Uint8Array(0))).toThrow(/version cut off/);
  });
});
