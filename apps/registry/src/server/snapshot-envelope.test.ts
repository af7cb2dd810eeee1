import { describe, expect, it } from "vitest";
import { decodeSnapshotEnvelope, encodeSnapshotEnvelope } from "./snapshot-envelope.ts";

describe("snapshot envelope", () => {
  it("round-trips peers and state bytes", () => {
    const state = new Uint8Array([1, 2, 3, 0, 255]);
    const decoded = decodeSnapshotEnvelope(encodeSnapshotEnvelope({ peers: { a: "127.0.0.1:1", b: "127.0.0.1:2" }, state }));
    expect(decoded.peers).toEqual({ a: "127.0.0.1:1", b: "127.0.0.1:2" });
    expect([...decoded.state]).toEqual([...state]);
  });

  it("refuses data without the envelope, and a truncated header", () => {
    expect(() => decodeSnapshotEnvelope(new TextEncoder().encode('["k"]'))).toThrow(/MWRS1/);
    const whole = encodeSnapshotEnvelope({ peers: { a: "x:1" }, state: new Uint8Array(0) });
    expect(() => decodeSnapshotEnvelope(whole.subarray(0, 12))).toThrow(/truncated/);
  });
});
