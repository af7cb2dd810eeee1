// The wire format's pure parts: messages cut from DATA chunks however they split, refusals of
// compressed and oversized messages, and grpc-timeout both ways.
import { describe, expect, it } from "vitest";
import { encodeGrpcMessage, formatTimeout, frame, httpToGrpcStatus, MessageReader, parseTimeout, readStatus, statusHeaders } from "./grpc-wire.ts";

const messages = (reader: MessageReader, ...chunks: Buffer[]): string[] => {
  const out: string[] = [];
  for (const chunk of chunks) expect(reader.push(chunk, (bytes) => out.push(bytes.toString()))).toBeUndefined();
  return out;
};

describe("MessageReader", () => {
  it("cuts messages split across chunks and several in one chunk, keeping a partial one", () => {
    const wire = Buffer.concat([frame(Buffer.from("one")), frame(Buffer.from("")), frame(Buffer.from("three")), frame(Buffer.from("four"))]);
    const reader = new MessageReader(1024, undefined);
    expect(messages(reader, wire.subarray(0, 2), wire.subarray(2, 9), wire.subarray(9, wire.length - 3))).toEqual(["one", "", "three"]);
    expect(reader.pendingBytes).toBe(6);
    expect(messages(reader, wire.subarray(wire.length - 3))).toEqual(["four"]);
    expect(reader.pendingBytes).toBe(0);
  });

  it("joins only the chunks that hold a split prefix: a message later in a big chunk is not copied", () => {
    const first = frame(Buffer.from("a"));
    const second = Buffer.alloc(64 * 1024, 0x78); // not from the pool: its ArrayBuffer is its own
    const big = Buffer.alloc(first.length - 2 + 5 + second.length);
    first.copy(big, 0, 2);
    frame(second).copy(big, first.length - 2);
    const reader = new MessageReader(1 << 20, undefined);
    const got: Buffer[] = [];
    for (const chunk of [first.subarray(0, 1), first.subarray(1, 2), big]) expect(reader.push(chunk, (bytes) => got.push(bytes))).toBeUndefined();
    expect(got.map((b) => b.length)).toEqual([1, second.length]);
    expect(got[0]?.toString()).toBe("a");
    expect(got[1]?.buffer).toBe(big.buffer);
  });

  it("refuses a message over the limit from its prefix alone, then takes nothing more", () => {
    const reader = new MessageReader(4, undefined);
    const failure = reader.push(frame(Buffer.from("12345")).subarray(0, 5), () => undefined);
    expect(failure?.code).toBe(8);
    expect(failure?.details).toBe("message of 5 bytes is larger than the limit of 4");
    expect(messages(reader, frame(Buffer.from("ok")))).toEqual([]);
  });

  it("refuses compressed messages, naming the encoding it does take when one was declared", () => {
    const compressed = Buffer.from([1, 0, 0, 0, 1, 0]);
    expect(new MessageReader(10, undefined).push(compressed, () => undefined)).toEqual({ code: 13, details: "compressed message without grpc-encoding" });
    expect(new MessageReader(10, "gzip").push(compressed, () => undefined)).toMatchObject({ code: 12, metadata: { "grpc-accept-encoding": "identity" } });
  });
});

describe("parseTimeout", () => {
  it("reads every unit of grpc-timeout and rounds up to whole milliseconds", () => {
    expect([parseTimeout("1H"), parseTimeout("2M"), parseTimeout("3S"), parseTimeout("40m"), parseTimeout("1500u"), parseTimeout("10n")]).toEqual([3_600_000, 120_000, 3000, 40, 2, 1]);
  });

  it("ignores malformed values", () => {
    expect([parseTimeout("123456789S"), parseTimeout("5"), parseTimeout("5s"), parseTimeout(undefined)]).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe("formatTimeout", () => {
  it("writes whole milliseconds while they fit in 8 digits, then seconds, and parses back", () => {
    expect([formatTimeout(0.2), formatTimeout(1500), formatTimeout(99_999_999), formatTimeout(100_000_000)]).toEqual(["1m", "1500m", "99999999m", "100000S"]);
    expect(parseTimeout(formatTimeout(2500))).toBe(2500);
  });
});

describe("status", () => {
  it("httpToGrpcStatus() follows Envoy's mapping (http-grpc-status-mapping.md)", () => {
    expect([400, 401, 403, 404, 429, 502, 503, 504, 500, 418].map(httpToGrpcStatus)).toEqual([13, 16, 7, 12, 14, 14, 14, 14, 2, 2]);
  });

  it("encodeGrpcMessage() percent-encodes non-printable bytes and %", () => {
    expect(encodeGrpcMessage("upstream request timeout")).toBe("upstream request timeout");
    expect(encodeGrpcMessage("50% é\n")).toBe("50%25 %C3%A9%0A");
  });

  it("carries a message through statusHeaders and readStatus unchanged, a lone surrogate as U+FFFD", () => {
    expect(readStatus(statusHeaders({ code: 9, details: "50% é\nnext" }) as Record<string, string>)).toEqual({ code: 9, details: "50% é\nnext" });
    expect(readStatus(statusHeaders({ code: 2, details: "bad \ud800" }) as Record<string, string>)).toEqual({ code: 2, details: "bad \ufffd" });
  });
});
