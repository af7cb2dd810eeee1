import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeUtf8 } from "./utf8.ts";

describe("decodeUtf8", () => {
  it("inverts TextEncoder for well-formed strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 32 }), (text) => {
        expect(decodeUtf8(new TextEncoder().encode(text))).toBe(text);
      }),
    );
  });

  it.each([
    ["a lone continuation byte", [0x80]],
    ["a truncated two-byte sequence", [0x61, 0xc3]],
    ["an overlong encoding of '/'", [0xc0, 0xaf]],
    ["an encoded surrogate (U+D800)", [0xed, 0xa0, 0x80]],
    ["a code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
  ])("answers undefined for %s", (_what, bytes) => {
    expect(decodeUtf8(Uint8Array.from(bytes))).toBeUndefined();
  });

  it("keeps a leading byte order mark: it is data, not a hint", () => {
    expect(decodeUtf8(Uint8Array.from([0xef, 0xbb, 0xbf, 0x61]))).toBe("\ufeffa");
  });
});
