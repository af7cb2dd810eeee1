import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBase64, encodeBase64, isBase64 } from "./base64.ts";

describe("base64", () => {
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
});
