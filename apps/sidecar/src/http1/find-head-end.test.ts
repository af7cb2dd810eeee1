import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { headEnd } from "./find-head-end.ts";

/** The earlier indexOf-based version, as the reference the one-pass scan must agree with. */
function reference(data: Buffer, maxBytes: number): number {
  const found = data.indexOf(Buffer.from("\r\n\r\n", "latin1"));
  if (found < 0) {
    const limit = Math.min(data.length, maxBytes + 4);
    for (let i = data.indexOf(10); i >= 0 && i < limit; i = data.indexOf(10, i + 1)) if (data[i - 1] !== 13) return -2;
    return -1;
  }
  if (found > maxBytes) return -1;
  const end = found + 4;
  for (let i = data.indexOf(10); i >= 0 && i < end; i = data.indexOf(10, i + 1)) if (data[i - 1] !== 13) return -2;
  for (let i = data.indexOf(13); i >= 0 && i < end; i = data.indexOf(13, i + 1)) if (data[i + 1] !== 10) return -2;
  const nul = data.indexOf(0);
  if (nul >= 0 && nul < end) return -2;
  return end;
}

const bytes = (text: string): Buffer => Buffer.from(text, "latin1");

describe("headEnd", () => {
  it("finds the end of a complete head, with or without a body after it", () => {
    expect(headEnd(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 1024)).toBe(27);
    expect(headEnd(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody\r\n\r\n"), 1024)).toBe(27);
  });

  it("waits for more bytes (-1), refuses bare CR, bare LF and NUL (-2), and heads over the limit (-1)", () => {
    expect(headEnd(bytes("GET / HTTP/1.1\r\nHost: a\r\n"), 1024)).toBe(-1);
    expect(headEnd(bytes("GET / HTTP/1.1\nHost: a\r\n\r\n"), 1024)).toBe(-2);
    expect(headEnd(bytes("GET / HTTP/1.1\nHost: a"), 1024)).toBe(-2);
    expect(headEnd(bytes("GET / HTTP/1.1\rHost: a\r\n\r\n"), 1024)).toBe(-2);
    expect(headEnd(bytes("GET / HTTP/1.1\r\nHost: a\0\r\n\r\n"), 1024)).toBe(-2);
    expect(headEnd(bytes(`GET / HTTP/1.1\r\nx: ${"a".repeat(100)}\r\n\r\n`), 64)).toBe(-1);
    expect(headEnd(bytes(`GET / HTTP/1.1\nx: ${"a".repeat(100)}\r\n\r\n`), 64)).toBe(-1);
  });

  it("agrees with the indexOf-based reference on arbitrary CR/LF/NUL mixes and limits", () => {
    // Pieces rather than single bytes, so blank lines (and near misses) are common.
    const piece = fc.constantFrom([13, 10], [13, 10, 13, 10], [13], [10], [0], [65], [65, 58, 32, 66]);
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.integer({ min: 0, max: 40 }), (pieces, maxBytes) => {
        const data = Buffer.from(pieces.flat());
        expect(headEnd(data, maxBytes)).toBe(reference(data, maxBytes));
      }),
      { numRuns: 5000 },
    );
  });
});
