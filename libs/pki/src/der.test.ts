// The DER encoder and reader: round trips against each other and against @peculiar/x509's
// independent ASN.1 layer, and refusal of non-DER input.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bitString, contentOf, decodeOid, oid, readChildren, readNode, sequence, tags, tlv, unsignedInteger, x509Time, type DerNode } from "./der.ts";

/** `value`, failing the test when it is null or undefined. */
function present<T>(value: T | null | undefined): T {
  expect(value).not.toBeNull();
  expect(value).not.toBeUndefined();
  return value as T;
}

describe("DER encoding", () => {
  it("uses short and long length forms at the 127/128 and 255/256 boundaries", () => {
    expect([...tlv(4, new Uint8Array(127)).subarray(0, 2)]).toEqual([4, 127]);
    expect([...tlv(4, new Uint8Array(128)).subarray(0, 3)]).toEqual([4, 0x81, 128]);
    expect([...tlv(4, new Uint8Array(256)).subarray(0, 4)]).toEqual([4, 0x82, 1, 0]);
  });

  it("encodes non-negative integers minimally", () => {
    expect([...unsignedInteger(new Uint8Array([0, 0, 5]))]).toEqual([2, 1, 5]);
    expect([...unsignedInteger(new Uint8Array([0x80]))]).toEqual([2, 2, 0, 0x80]);
    expect([...unsignedInteger(new Uint8Array([0, 0]))]).toEqual([2, 1, 0]);
  });

  it("encodes OIDs that decode back (X.690 §8.19)", () => {
    expect([...oid("1.2.840.10045.4.3.2")]).toEqual([6, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 3, 2]);
    const arc = fc.integer({ min: 0, max: 2 ** 31 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(arc, { maxLength: 6 }), (a, b, rest) => {
        const dotted = [a, b, ...rest].join(".");
        const encoded = oid(dotted);
        expect(decodeOid(contentOf(encoded, present(readNode(encoded, 0))))).toBe(dotted);
      }),
      { seed: 3, numRuns: 300 },
    );
  });

  it("writes UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)", () => {
    expect(new TextDecoder().decode(x509Time(new Date("2049-12-31T23:59:59Z")))).toBe("\x17\x0d491231235959Z");
    expect(new TextDecoder().decode(x509Time(new Date("2050-01-01T00:00:00Z")))).toBe("\x18\x0f20500101000000Z");
  });
});

describe("DER reading", () => {
  it("reads back what the encoder writes, nested", () => {
    const bytes = sequence(oid("2.5.29.19"), bitString(new Uint8Array([1, 2])), sequence(tlv(tags.octetString, new Uint8Array(300))));
    const root = present(readNode(bytes, 0));
    expect(root.end).toBe(bytes.length);
    const children = present(readChildren(bytes, root));
    expect(children.map((c) => c.tag)).toEqual([tags.oid, tags.bitString, tags.sequence]);
    const inner: DerNode = present(present(readChildren(bytes, present(children[2])))[0]);
    expect(inner.end - inner.contentStart).toBe(300);
  });

  it("refuses non-minimal or overlong lengths, indefinite lengths and truncation", () => {
    expect(readNode(new Uint8Array([4, 0x81, 5, 1, 2, 3, 4, 5]), 0)).toBeNull(); // 5 fits the short form
    expect(readNode(new Uint8Array([4, 0x82, 0, 200, ...new Uint8Array(200)]), 0)).toBeNull(); // leading zero length byte
    expect(readNode(new Uint8Array([0x30, 0x80, 0, 0]), 0)).toBeNull(); // BER indefinite length
    expect(readNode(new Uint8Array([4, 5, 1, 2]), 0)).toBeNull();
    expect(readNode(new Uint8Array([4]), 0)).toBeNull();
    const overrun = new Uint8Array([0x30, 3, 4, 5, 0]);
    expect(readChildren(overrun, present(readNode(overrun, 0)))).toBeNull();
  });

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const node = readNode(bytes, 0);
        if (node) readChildren(bytes, node);
      }),
      { seed: 5, numRuns: 2000 },
    );
  });
});
