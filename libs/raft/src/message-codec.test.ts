import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Entry } from "./entry.ts";
import type { LogIndex, NodeId, Term } from "./ids.ts";
import type { Message } from "./message.ts";
import { decodeMessage, encodeMessage, MessageDecodeError, messageCodecVersion } from "./message-codec.ts";

const id = fc.oneof(fc.constantFrom("n1", "n2", "n3"), fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 })).map((s) => s as NodeId);
const count = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(Number.MAX_SAFE_INTEGER), fc.nat());
const t = count.map((n) => n as Term);
const ix = count.map((n) => n as LogIndex);
const bytes = fc.uint8Array({ maxLength: 64 });
const entryType = fc.constantFrom("normal" as const, "conf-change" as const);
const entry: fc.Arbitrary<Entry> = fc.record({ term: t, index: ix, type: entryType, data: bytes });
const context = fc.string({ unit: "grapheme", maxLength: 16 });
const envelope = { from: id, to: id, term: t };

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant("app" as const), ...envelope, index: ix, logTerm: t, entries: fc.array(entry, { maxLength: 5 }), commit: ix }),
  fc.record({ type: fc.constant("app-resp" as const), ...envelope, index: ix, reject: fc.boolean(), rejectHint: ix, logTerm: t }),
  fc.record({ type: fc.constantFrom("vote" as const, "pre-vote" as const), ...envelope, index: ix, logTerm: t, transfer: fc.boolean() }),
  fc.record({ type: fc.constantFrom("vote-resp" as const, "pre-vote-resp" as const), ...envelope, reject: fc.boolean() }),
  fc.record({ type: fc.constant("heartbeat" as const), ...envelope, commit: ix, context: fc.option(context, { nil: null }) }),
  fc.record({ type: fc.constant("heartbeat-resp" as const), ...envelope, context: fc.option(context, { nil: null }) }),
  fc.record({
    type: fc.constant("snap" as const),
    ...envelope,
    snapshot: fc.record({ metadata: fc.record({ index: ix, term: t, confState: fc.record({ voters: fc.array(id, { maxLength: 5 }), learners: fc.array(id, { maxLength: 3 }) }) }), data: bytes }),
  }),
  fc.record({ type: fc.constant("timeout-now" as const), ...envelope }),
  fc.record({ type: fc.constant("read-index" as const), ...envelope, context }),
  fc.record({ type: fc.constant("read-index-resp" as const), ...envelope, index: ix, context }),
  fc.record({ type: fc.constant("prop" as const), ...envelope, entries: fc.array(fc.record({ type: entryType, data: bytes }), { maxLength: 5 }) }),
  fc.record({ type: fc.constant("transfer-leader" as const), ...envelope, transferee: id }),
);

describe("message codec", () => {
  it("decodeMessage(encodeMessage(m)) equals m for every message type", () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeMessage(encodeMessage(m))).toEqual(m);
      }),
      { numRuns: 2000 },
    );
  });

  it("is smaller than the JSON form for an append with entries", () => {
    const entries: Entry[] = Array.from({ length: 5 }, (_, i) => ({ term: 7 as Term, index: (1000 + i) as LogIndex, type: "normal", data: new Uint8Array(300).fill(65) }));
    const m: Message = { type: "app", from: "n1" as NodeId, to: "n2" as NodeId, term: 7 as Term, index: 999 as LogIndex, logTerm: 7 as Term, entries, commit: 998 as LogIndex };
    const encoded = encodeMessage(m);
    expect(encoded[0]).toBe(messageCodecVersion);
    expect(encoded.length).toBeLessThan(5 * 300 + 60);
  });

  it("copies entry data out of the input (a decoded message keeps no view of the transport's buffer)", () => {
    const m: Message = { type: "prop", from: "n2" as NodeId, to: "n1" as NodeId, term: 3 as Term, entries: [{ type: "normal", data: Uint8Array.of(1, 2, 3) }] };
    const encoded = encodeMessage(m);
    const decoded = decodeMessage(encoded);
    encoded.fill(0);
    expect(decoded.type === "prop" && Array.from(decoded.entries[0]?.data ?? [])).toEqual([1, 2, 3]);
  });

  it("refuses every truncation of a valid message with MessageDecodeError", () => {
    fc.assert(
      fc.property(message, fc.nat(), (m, cut) => {
        const encoded = encodeMessage(m);
        const end = cut % encoded.length;
        expect(() => decodeMessage(encoded.subarray(0, end))).toThrow(MessageDecodeError);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses trailing bytes, unknown versions and unknown types, naming the problem", () => {
    const m: Message = { type: "timeout-now", from: "n1" as NodeId, to: "n2" as NodeId, term: 4 as Term };
    const encoded = encodeMessage(m);
    expect(() => decodeMessage(Uint8Array.from([...encoded, 0]))).toThrow(/1 bytes after the message/);
    expect(() => decodeMessage(Uint8Array.from([9, ...encoded.subarray(1)]))).toThrow(/unknown codec version 9/);
    expect(() => decodeMessage(Uint8Array.from([messageCodecVersion, 99, ...encoded.subarray(2)]))).toThrow(/unknown message type code 99/);
    expect(() => decodeMessage(Uint8Array.from([messageCodecVersion, 10, 0, 2, 110, 50, 4]))).toThrow(/from: empty node id/);
  });

  it("never throws anything but MessageDecodeError on arbitrary bytes (fuzz)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 14 }), (noise, type) => {
        for (const input of [noise, Uint8Array.from([messageCodecVersion, type, ...noise])]) {
          try {
            decodeMessage(input);
          } catch (error) {
            expect(error).toBeInstanceOf(MessageDecodeError);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("never throws anything but MessageDecodeError on valid messages with bytes flipped (fuzz)", () => {
    fc.assert(
      fc.property(message, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (m, flips) => {
        const encoded = encodeMessage(m).slice();
        for (const [at, x] of flips) encoded[at % encoded.length] = (encoded[at % encoded.length] ?? 0) ^ x;
        try {
          decodeMessage(encoded);
        } catch (error) {
          expect(error).toBeInstanceOf(MessageDecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses to encode a term or index that is not a non-negative safe integer", () => {
    const bad = (term: number): Message => ({ type: "timeout-now", from: "n1" as NodeId, to: "n2" as NodeId, term: term as Term });
    expect(() => encodeMessage(bad(-1))).toThrow(RangeError);
    expect(() => encodeMessage(bad(1.5))).toThrow(/not a non-negative safe integer/);
    expect(() => encodeMessage(bad(2 ** 53))).toThrow(RangeError);
  });
});
