// The head buffers' slab: every buffer handed out owns its bytes until it is garbage.
import { describe, expect, it } from "vitest";
import { allocHeadBuffer } from "./alloc-head-buffer.ts";

describe("allocHeadBuffer", () => {
  it("never hands out the same bytes twice, across slabs", () => {
    const buffers = Array.from({ length: 400 }, (_, i) => allocHeadBuffer(100 + ((i * 37) % 900)));
    buffers.forEach((buffer, i) => buffer.fill(i % 256));
    buffers.forEach((buffer, i) => expect(buffer.every((byte) => byte === i % 256), `buffer ${i}`).toBe(true));
    expect(new Set(buffers.map((b) => b.buffer)).size).toBeGreaterThan(1);
  });

  it("gives a buffer of more than a quarter slab its own memory", () => {
    const big = allocHeadBuffer(20_000);
    expect(big.length).toBe(20_000);
    expect(big.buffer.byteLength).not.toBe(64 * 1024);
  });

  it("keeps carved buffers 8-byte aligned", () => {
    const offsets = [3, 5, 11, 1].map((size) => allocHeadBuffer(size).byteOffset);
    expect(offsets.every((offset) => offset % 8 === 0)).toBe(true);
  });
});
