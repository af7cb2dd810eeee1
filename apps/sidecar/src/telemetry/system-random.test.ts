import { describe, expect, it } from "vitest";
import { systemRandomFill } from "./system-random.ts";

/** Distinct byte values in `buffer` (random 4 KiB holds nearly all 256). */
const distinct = (buffer: Uint8Array): number => new Set(buffer).size;

describe("systemRandomFill", () => {
  it("fills whole buffers with bytes that differ from fill to fill", () => {
    const fill = systemRandomFill();
    const a = new Uint8Array(4096);
    const b = new Uint8Array(4096);
    fill(a);
    fill(b);
    expect(distinct(a)).toBeGreaterThan(200);
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).not.toBe(0);
    // The last bytes are written too (a short read is continued, not left as zeros).
    expect(a.subarray(4000).some((x) => x !== 0)).toBe(true);
  });

  it("falls back to Web Crypto when the device cannot be opened, also past its 64 KiB limit", () => {
    const fill = systemRandomFill("/nonexistent/urandom");
    const big = new Uint8Array(70_000);
    fill(big);
    expect(distinct(big.subarray(0, 4096))).toBeGreaterThan(200);
    expect(distinct(big.subarray(66_000))).toBeGreaterThan(200);
  });
});
