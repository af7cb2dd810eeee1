// Checks CRC-32C against the RFC 3720 test vectors and its incremental form.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32c } from "./crc32c.ts";

describe("crc32c", () => {
  it.each([
    ["123456789", 0xe3069283],
    ["", 0],
    ["a", 0xc1d04330],
  ])("matches the known value for %j", (text, want) => {
    expect(crc32c(new TextEncoder().encode(text))).toBe(want);
  });

  it("matches RFC 3720 B.4: 32 zero bytes and 32 0xff bytes", () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });

  it("continues from a seed as if computed in one go", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(64), (bytes, cut) => {
        const at = Math.min(cut, bytes.length);
        expect(crc32c(bytes, at, bytes.length, crc32c(bytes, 0, at))).toBe(crc32c(bytes));
      }),
      { seed: 7 },
    );
  });

  it("agrees with a bit-at-a-time reference at any offsets (eight bytes per step, then the rest)", () => {
    const reference = (bytes: Uint8Array, from: number, to: number): number => {
      let c = 0xffffffff;
      for (let i = from; i < to; i++) {
        c ^= bytes[i] as number;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(200), fc.nat(200), (bytes, a, b) => {
        const from = Math.min(a, b, bytes.length);
        const to = Math.min(Math.max(a, b), bytes.length);
        expect(crc32c(bytes, from, to)).toBe(reference(bytes, from, to));
      }),
      { seed: 11 },
    );
  });
});
