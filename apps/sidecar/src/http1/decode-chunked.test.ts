import { describe, expect, it } from "vitest";
import { decodeChunked } from "./decode-chunked.ts";

describe("decodeChunked", () => {
  it.each([
    ["5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"],
    ["a;ext=1\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n", "0123456789"],
    ["0\r\n\r\n", ""],
  ])("decodes %j", (input, expected) => {
    expect(decodeChunked(Buffer.from(input))?.toString()).toBe(expected);
  });

  it.each(["5\r\nhel", "z\r\nhello\r\n0\r\n\r\n", "5\r\nhelloXX0\r\n\r\n"])("refuses %j", (input) => {
    expect(decodeChunked(Buffer.from(input))).toBeUndefined();
  });
});
