import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePacket, encodeMessage, encodePacket } from "./codec.ts";
import type { MemberRecord, Message } from "./message.ts";

const text = fc.string({ maxLength: 40 });
const name = fc.string({ minLength: 1, maxLength: 40 });
const u53 = fc.maxSafeNat();
const payload = fc.uint8Array({ maxLength: 64 });
const member: fc.Arbitrary<MemberRecord> = fc.record({
  name,
  address: text,
  incarnation: u53,
  state: fc.constantFrom("alive", "suspect", "dead", "left"),
  tags: fc.dictionary(fc.string({ maxLength: 10 }), text, { maxKeys: 5 }),
  ltime: u53,
});
const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant("ping"), seq: u53, target: text, source: text }),
  fc.record({ type: fc.constant("indirect-ping"), seq: u53, target: text, targetAddress: text, source: text, sourceAddress: text }),
  fc.record({ type: fc.constant("ack"), seq: u53 }),
  fc.record({ type: fc.constant("nack"), seq: u53 }),
  fc.record({ type: fc.constant("alive"), member }),
  fc.record({ type: fc.constant("suspect"), incarnation: u53, node: text, from: text }),
  fc.record({ type: fc.constant("dead"), incarnation: u53, node: text, from: text, ltime: u53 }),
  fc.record({
    type: fc.constant("push-pull"),
    isJoin: fc.boolean(),
    isResponse: fc.boolean(),
    digestOnly: fc.constant(false),
    wantsState: fc.boolean(),
    digest: u53,
    members: fc.array(member, { maxLength: 5 }),
    eventLtime: u53,
    queryLtime: u53,
  }),
  fc.record({ type: fc.constant("user-event"), ltime: u53, name: text, payload }),
  fc.record({ type: fc.constant("query"), ltime: u53, id: u53, name: text, payload, origin: text, originAddress: text, timeoutMs: u53 }),
  fc.record({ type: fc.constant("query-response"), ltime: u53, id: u53, from: text, payload }),
) as fc.Arbitrary<Message>;

/** Tag order is not part of a record's meaning; compare through a round trip of JSON with sorted keys. */
const normal = (m: unknown) => JSON.parse(JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)));

describe("codec", () => {
  it("decodePacket(encodePacket(ms)) returns ms for every message kind", () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), (ms) => {
        const decoded = decodePacket(encodePacket(ms.map((m) => encodeMessage(m))));
        expect(decoded.ok).toBe(true);
        if (decoded.ok) expect(normal(decoded.value)).toEqual(normal(ms));
      }),
    );
  });

  it("every proper prefix of a packet is rejected, never thrown", () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 3 }), (ms) => {
        const bytes = encodePacket(ms.map((m) => encodeMessage(m)));
        for (let cut = 0; cut < bytes.length; cut++) expect(decodePacket(bytes.subarray(0, cut)).ok).toBe(false);
      }),
    );
  });

  it("random bytes never throw", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      decodePacket(bytes);
    }));
  });

  it("rejects trailing bytes, unknown types, bad state codes, overlong varints and invalid UTF-8", () => {
    const ack = encodePacket([encodeMessage({ type: "ack", seq: 5 })]);
    expect(decodePacket(Uint8Array.from([...ack, 0]))).toEqual({ ok: false, reason: "malformed" });
    expect(decodePacket(Uint8Array.from([1, 1, 2, 3, 5, 0]))).toEqual({ ok: false, reason: "malformed" }); // ack with a trailing byte inside
    expect(decodePacket(Uint8Array.from([1, 1, 1, 42]))).toEqual({ ok: false, reason: "malformed" });
    expect(decodePacket(Uint8Array.from([1, 1, 3, 3, 0x85, 0x00]))).toEqual({ ok: false, reason: "malformed" });
    expect(decodePacket(Uint8Array.from([1, 1, 6, 1, 2, 2, 0xc3, 0x28, 0]))).toEqual({ ok: false, reason: "malformed" });
    expect(decodePacket(Uint8Array.from([1, 0]))).toEqual({ ok: false, reason: "malformed" });
    expect(decodePacket(Uint8Array.from([2, 1, 2, 3, 5]))).toEqual({ ok: false, reason: "unsupported-version" });
  });

  it("rejects packets and lists beyond the limits as oversized", () => {
    const limits = { maxPacketBytes: 100, maxMessagesPerPacket: 2, maxMembers: 1 };
    expect(decodePacket(new Uint8Array(101), limits)).toEqual({ ok: false, reason: "oversized" });
    const three = encodePacket([1, 2, 3].map((seq) => encodeMessage({ type: "ack", seq })));
    expect(decodePacket(three, limits)).toEqual({ ok: false, reason: "oversized" });
    const m: MemberRecord = { name: "a", address: "a", incarnation: 0, state: "alive", tags: {}, ltime: 0 };
    const pushPull = encodePacket([encodeMessage({ type: "push-pull", isJoin: false, isResponse: false, digestOnly: false, wantsState: false, digest: 0, members: [m, m], eventLtime: 0, queryLtime: 0 })]);
    expect(decodePacket(pushPull, limits)).toEqual({ ok: false, reason: "oversized" });
  });
});
