import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeUtf8, encodeUtf8 } from "./utf8.ts";

// Any UTF-16 code units, lone surrogates and valid pairs alike (cheaper than fast-check's "binary" unit).
const utf16Units = fc.array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff })), { maxLength: 64 }).map((codes) => String.fromCharCode(...codes));

describe("utf8", () => {
  it("encodeUtf8() matches TextEncoder, lone surrogates included", () => {
    fc.assert(
      fc.property(utf16Units, (text) => {
        expect(encodeUtf8(text)).toEqual(new TextEncoder().encode(text));
      }),
    );
  });

  it("decodeUtf8() inverts encodeUtf8() for well-formed strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 32 }), (text) => {
        expect(decodeUtf8(encodeUtf8(text))).toBe(text);
      }),
    );
  });

  it("decodeUtf8() answers undefined exactly where a fatal TextDecoder throws", () => {
    const strict = new TextDecoder("utf-8", { fatal: true });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        let expected: string | undefined;
        try {
          expected = strict.decode(bytes);
        } catch {
          expected = undefined;
        }
        // TextDecoder drops a leading BOM; ours keeps it, which is the right thing for raw data.
        if (expected !== undefined && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) expected = `\ufeff${expected}`;
        expect(decodeUtf8(bytes)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
