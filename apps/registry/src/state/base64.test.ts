import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base64ToLatin1, decodeBase64, encodeBase64, isBase64, latin1Bytes } from "./base64.ts";

describe("base64", () => {
  it("keeps values as one char per byte: base64ToLatin1 then latin1Bytes gives the bytes back, and the string is as long as the value", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 9000 }), (bytes) => {
        const latin1 = base64ToLatin1(encodeBase64(bytes));
        expect(latin1.length).toBe(bytes.length);
        expect(latin1Bytes(latin1)).toEqual(bytes);
        expect(latin1).toBe(Buffer.from(bytes).toString("latin1"));
      }),
      { numRuns: 200 },
    );
  });

  it("decodes long values, and a short value after a long one, exactly", () => {
    const long = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 255);
    expect(base64ToLatin1(encodeBase64(long))).toBe(Buffer.from(long).toString("latin1"));
    const mid = Uint8Array.from({ length: 60_000 }, (_, i) => (i * 13) & 255);
    expect(base64ToLatin1(encodeBase64(mid))).toBe(Buffer.from(mid).toString("latin1"));
    expect(base64ToLatin1(encodeBase64(Uint8Array.of(1, 2)))).toBe("\u0001\u0002");
  });

  it("matches node:buffer on RFC 4648 vectors and random bytes", () => {
    for (const text of ["", "f", "fo", "foo", "foob", "fooba", "foobar"]) {
      expect(encodeBase64(new TextEncoder().encode(text))).toBe(Buffer.from(text).toString("base64"));
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = encodeBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString("base64"));
        expect(decodeBase64(text)).toEqual(bytes);
      }),
    );
  });

  it("refuses text that is not padded base64", () => {
    for (const bad of ["a", "abc", "ab=c", "ab!d", "YQ", "Y Q=="]) {
      expect(isBase64(bad)).toBe(false);
      expect(() => decodeBase64(bad)).toThrow(/not padded standard base64/);
    }
  });

  it("checks text of tens of MB (a restored state) without overflowing the regexp engine's stack, with the same answers", () => {
    const long = encodeBase64(new Uint8Array(30 * 1024 * 1024 + 1).fill(7));
    expect(isBase64(long)).toBe(true);
    expect(isBase64(`${long.slice(0, -4)}A===`)).toBe(false);
    expect(isBase64(`${long.slice(0, 1000)}!${long.slice(1001)}`)).toBe(false);
    expect(isBase64(long.slice(0, -1))).toBe(false);
    expect(isBase64(`${long.slice(0, 2000)}=${long.slice(2001)}`)).toBe(false);
  });
});
