// The chunked-body scanner: where a chunked body ends (RFC 9112 §7.1), including extensions and
// trailers, and refusal of every malformed encoding a backend could read differently (a
// smuggling vector when the proxy forwards the bytes as they are).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChunkedScanner } from "./chunked-scanner.ts";

/** Scans `pieces` in order; consumed bytes, done and error. */
function scanAll(pieces: readonly (string | Uint8Array)[]): { consumed: number; done: boolean; error: string | undefined } {
  const scanner = new ChunkedScanner();
  let consumed = 0;
  for (const piece of pieces) {
    const bytes = typeof piece === "string" ? Buffer.from(piece, "latin1") : piece;
    const used = scanner.scan(bytes);
    consumed += used;
    if (scanner.done || scanner.error) break;
  }
  return { consumed, done: scanner.done, error: scanner.error };
}

describe("ChunkedScanner finds the end of", () => {
  it.each([
    ["one chunk", "5\r\nhello\r\n0\r\n\r\n"],
    ["two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"],
    ["an empty body", "0\r\n\r\n"],
    ["uppercase and lowercase hex sizes", "A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n"],
    ["leading zeros in the size", "005\r\nhello\r\n000\r\n\r\n"],
    ["chunk extensions", "5;name=value\r\nhello\r\n0;last\r\n\r\n"],
    ["a quoted extension value", '5;n="a b"\r\nhello\r\n0\r\n\r\n'],
    ["BWS before an extension", "5 ;n=v\r\nhello\r\n0\r\n\r\n"],
    ["one trailer", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n"],
    ["several trailers", "5\r\nhello\r\n0\r\nA: 1\r\nB: 2\r\n\r\n"],
    ["data containing CRLFs and a fake terminator", "d\r\n\r\n0\r\n\r\nabcdef\r\n0\r\n\r\n"],
  ])("%s", (_name, body) => {
    expect(scanAll([body])).toEqual({ consumed: body.length, done: true, error: undefined });
  });

  it("stops at the end of the body: bytes of the next message are not consumed", () => {
    const body = "5\r\nhello\r\n0\r\n\r\n";
    expect(scanAll([`${body}GET / HTTP/1.1\r\n\r\n`])).toEqual({ consumed: body.length, done: true, error: undefined });
  });

  it("scans from an offset", () => {
    const scanner = new ChunkedScanner();
    const data = Buffer.from("HEAD3\r\nabc\r\n0\r\n\r\nrest", "latin1");
    expect(scanner.scan(data, 4)).toBe("3\r\nabc\r\n0\r\n\r\n".length);
    expect(scanner.done).toBe(true);
  });

  it("is not done while the body is incomplete", () => {
    for (const partial of ["", "5", "5\r\n", "5\r\nhel", "5\r\nhello\r\n", "5\r\nhello\r\n0\r\n", "5\r\nhello\r\n0\r\nX: 1\r\n", "0\r\n\r"]) {
      expect(scanAll([partial]), JSON.stringify(partial)).toEqual({ consumed: partial.length, done: false, error: undefined });
    }
  });
});

describe("ChunkedScanner refuses", () => {
  it.each([
    ["a missing size", "\r\nhello\r\n0\r\n\r\n"],
    ["a non-hex size", "g\r\nhello\r\n0\r\n\r\n"],
    ["a 0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"],
    ["a signed size", "+5\r\nhello\r\n0\r\n\r\n"],
    ["a negative size", "-5\r\nhello\r\n0\r\n\r\n"],
    ["a size that overflows (13 hex digits)", "1000000000000\r\n"],
    ["a bare LF after the size", "5\nhello\r\n0\r\n\r\n"],
    ["a bare CR after the size", "5\rhello\r\n0\r\n\r\n"],
    ["a bare LF in an extension", "5;a\nhello\r\n0\r\n\r\n"],
    ["data longer than its size", "5\r\nhelloX\r\n0\r\n\r\n"],
    ["a bare LF after data", "5\r\nhello\n0\r\n\r\n"],
    ["a bare LF ending the body", "5\r\nhello\r\n0\r\n\n"],
    ["a bare CR ending the body", "5\r\nhello\r\n0\r\n\rX"],
    // A backend that accepts a bare LF as a line end sees the body end at `\n\r\n` and reads the
    // bytes after it as the next request; the proxy would forward them as part of this body.
    ["a bare LF ending a trailer line", "0\r\nX: 1\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n"],
    ["a bare LF as the first trailer byte", "0\r\n\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n"],
    // RFC 9112 §7.1.1: after the size only BWS ";" may follow; "5 5" is not a chunk size.
    ["whitespace inside the size", "5 5\r\nhello\r\n0\r\n\r\n"],
  ])("%s", (_name, body) => {
    const result = scanAll([body]);
    expect(result.error, `consumed ${result.consumed}, done ${result.done}`).toBeDefined();
    expect(result.done).toBe(false);
  });
});

// Property: for any valid chunked encoding followed by unrelated bytes, split at any byte
// boundaries, the scanner reports done exactly at the encoding's end, without error.
const token = fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{1,8}$/);
const chunkArb = fc.record({
  data: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  extensions: fc.array(fc.tuple(token, fc.option(token, { nil: undefined })), { maxLength: 2 }),
  upper: fc.boolean(),
  zeros: fc.integer({ min: 0, max: 3 }),
});
const encodingArb = fc.record({
  chunks: fc.array(chunkArb, { maxLength: 6 }),
  trailers: fc.array(fc.tuple(token, fc.stringMatching(/^[ -~]{0,20}$/)), { maxLength: 3 }),
  lastExtension: fc.option(token, { nil: undefined }),
  after: fc.uint8Array({ maxLength: 40 }),
});

type Encoding = typeof encodingArb extends fc.Arbitrary<infer T> ? T : never;

function encode(e: Encoding): Buffer {
  const parts: Buffer[] = [];
  for (const c of e.chunks) {
    let size = c.data.length.toString(16);
    if (c.upper) size = size.toUpperCase();
    const ext = c.extensions.map(([n, v]) => (v === undefined ? `;${n}` : `;${n}=${v}`)).join("");
    parts.push(Buffer.from(`${"0".repeat(c.zeros)}${size}${ext}\r\n`, "latin1"), Buffer.from(c.data), Buffer.from("\r\n", "latin1"));
  }
  parts.push(Buffer.from(`0${e.lastExtension === undefined ? "" : `;${e.lastExtension}`}\r\n`, "latin1"));
  for (const [name, value] of e.trailers) parts.push(Buffer.from(`${name}: ${value}\r\n`, "latin1"));
  parts.push(Buffer.from("\r\n", "latin1"));
  return Buffer.concat(parts);
}

describe("ChunkedScanner property", () => {
  it("finds the end of any valid chunked encoding split at any byte boundaries", () => {
    fc.assert(
      fc.property(encodingArb, fc.array(fc.nat(), { maxLength: 12 }), (e, cutSeeds) => {
        const body = encode(e);
        const stream = Buffer.concat([body, Buffer.from(e.after)]);
        const cuts = [...new Set(cutSeeds.map((s) => s % (stream.length + 1)))].sort((a, b) => a - b);
        const pieces: Buffer[] = [];
        let at = 0;
        for (const cut of [...cuts, stream.length]) {
          pieces.push(stream.subarray(at, cut));
          at = cut;
        }
        const scanner = new ChunkedScanner();
        let consumed = 0;
        for (const piece of pieces) {
          if (scanner.done) break;
          const used = scanner.scan(piece);
          expect(scanner.error).toBeUndefined();
          consumed += used;
          if (!scanner.done) expect(used).toBe(piece.length);
        }
        expect(scanner.done).toBe(true);
        expect(consumed).toBe(body.length);
      }),
      { numRuns: 500 },
    );
  });

  it("reports the payload of any valid chunked encoding, split anywhere, through onData", () => {
    fc.assert(
      fc.property(encodingArb, fc.array(fc.nat(), { maxLength: 12 }), (e, cutSeeds) => {
        const body = encode(e);
        const cuts = [...new Set(cutSeeds.map((s) => s % (body.length + 1)))].sort((a, b) => a - b);
        const scanner = new ChunkedScanner();
        const payload: Buffer[] = [];
        let at = 0;
        for (const cut of [...cuts, body.length]) {
          const piece = body.subarray(at, cut);
          at = cut;
          scanner.scan(piece, 0, (from, to) => payload.push(Buffer.from(piece.subarray(from, to))));
        }
        expect(scanner.done).toBe(true);
        expect(Buffer.concat(payload)).toEqual(Buffer.concat(e.chunks.map((c) => Buffer.from(c.data))));
      }),
      { numRuns: 300 },
    );
  });
});
