import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  extractTraceContext,
  formatTraceHeaderLines,
  formatTraceparent,
  parseB3Single,
  parseTraceparent,
  parseTracestate,
  traceHeaderEntries,
} from "./trace-context.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

describe("parseTraceparent", () => {
  it("parses the spec's example", () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({ traceId: TRACE, parentId: SPAN, flags: 1 });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.flags).toBe(0);
  });

  it.each([
    ["uppercase hex", `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ["zero trace id", `00-${"0".repeat(32)}-${SPAN}-01`],
    ["zero span id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["version ff", `ff-${TRACE}-${SPAN}-01`],
    ["version 00 with extra fields", `00-${TRACE}-${SPAN}-01-extra`],
    ["short trace id", `00-${TRACE.slice(1)}-${SPAN}-01`],
    ["bad flags", `00-${TRACE}-${SPAN}-0g`],
    ["bad separator", `00_${TRACE}-${SPAN}-01`],
    ["non-hex version", `0x-${TRACE}-${SPAN}-01`],
    ["higher version without dash after flags", `01-${TRACE}-${SPAN}-01x`],
  ])("rejects %s", (_name, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it("parses a higher version by its first fields (§3.2.4)", () => {
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-what-the-future-holds`)).toEqual({
      traceId: TRACE,
      parentId: SPAN,
      flags: 1,
    });
  });

  it("round-trips any valid ids through formatTraceparent", () => {
    const hex = (n: number) =>
      fc
        .string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: n, maxLength: n })
        .filter((s) => !/^0+$/.test(s));
    fc.assert(
      fc.property(hex(32), hex(16), fc.boolean(), (traceId, spanId, sampled) => {
        expect(parseTraceparent(formatTraceparent(traceId, spanId, sampled))).toEqual({
          traceId,
          parentId: spanId,
          flags: sampled ? 1 : 0,
        });
      }),
    );
  });
});

describe("parseTracestate", () => {
  it("keeps valid members, dropping empty ones and whitespace", () => {
    expect(parseTracestate("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE,,")).toBe("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    expect(parseTracestate(["a=1", "tenant@vendor=x"])).toBe("a=1,tenant@vendor=x");
  });

  it.each([
    ["an uppercase key", "Rojo=1"],
    ["a member without =", "rojo"],
    ["a duplicate key", "a=1,a=2"],
    ["a value with =", "a=b=c"],
    ["33 members", Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(",")],
  ])("discards the whole header for %s", (_name, value) => {
    expect(parseTracestate(value)).toBe("");
  });
});

describe("parseB3Single", () => {
  it("parses ids, sampling state and parent", () => {
    expect(parseB3Single(`${TRACE}-${SPAN}-1-05e3ac9a4f6e3b90`)).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      sampled: true,
      debug: false,
      traceState: "",
    });
    expect(parseB3Single(`${TRACE}-${SPAN}`)?.sampled).toBeUndefined();
    expect(parseB3Single(`${TRACE}-${SPAN}-d`)).toMatchObject({ sampled: true, debug: true });
  });

  it("widens a 64-bit trace id and accepts a bare sampling state", () => {
    expect(parseB3Single(`a3ce929d0e0e4736-${SPAN}-0`)).toMatchObject({
      traceId: "0000000000000000a3ce929d0e0e4736",
      sampled: false,
    });
    expect(parseB3Single("0")).toEqual({ traceId: "", spanId: "", sampled: false, debug: false, traceState: "" });
  });

  it.each([`${TRACE}`, `${TRACE}-${SPAN}-x`, `${TRACE}-123`, `${TRACE}-${SPAN}-1-bad`])("rejects %s", (value) => {
    expect(parseB3Single(value)).toBeUndefined();
  });
});

describe("extractTraceContext", () => {
  it("prefers a valid traceparent and keeps its tracestate", () => {
    const ctx = extractTraceContext({
      traceparent: `00-${TRACE}-${SPAN}-01`,
      tracestate: "rojo=1",
      "x-b3-traceid": "1".repeat(32),
      "x-b3-spanid": "2".repeat(16),
    });
    expect(ctx).toEqual({ traceId: TRACE, spanId: SPAN, sampled: true, debug: false, traceState: "rojo=1" });
  });

  it("falls back to b3 when traceparent is invalid", () => {
    const ctx = extractTraceContext({ traceparent: "garbage", b3: `${TRACE}-${SPAN}-0` });
    expect(ctx).toMatchObject({ traceId: TRACE, spanId: SPAN, sampled: false, traceState: "" });
  });

  it("reads the x-b3 headers, case-insensitive hex, with flags meaning debug", () => {
    expect(
      extractTraceContext({ "x-b3-traceid": TRACE.toUpperCase(), "x-b3-spanid": SPAN, "x-b3-sampled": "1" }),
    ).toEqual({ traceId: TRACE, spanId: SPAN, sampled: true, debug: false, traceState: "" });
    expect(extractTraceContext({ "x-b3-traceid": TRACE, "x-b3-spanid": SPAN, "x-b3-flags": "1" })).toMatchObject({
      sampled: true,
      debug: true,
    });
  });

  it("keeps a sampling decision that comes without ids", () => {
    expect(extractTraceContext({ "x-b3-sampled": "0" })).toEqual({
      traceId: "",
      spanId: "",
      sampled: false,
      debug: false,
      traceState: "",
    });
  });

  it("returns undefined for no usable context, including a repeated traceparent", () => {
    expect(extractTraceContext({})).toBeUndefined();
    expect(extractTraceContext({ traceparent: [`00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-01`] })).toBeUndefined();
    expect(extractTraceContext({ "x-b3-traceid": TRACE })).toBeUndefined();
  });
});

describe("outgoing headers", () => {
  const ids = { traceId: TRACE, spanId: "b7ad6b7169203331", parentSpanId: SPAN, sampled: true, debug: false, traceState: "rojo=1" };

  it("writes W3C, B3 multi and B3 single naming the same span", () => {
    expect(formatTraceHeaderLines(ids)).toBe(
      `traceparent: 00-${TRACE}-b7ad6b7169203331-01\r\n` +
        "tracestate: rojo=1\r\n" +
        `x-b3-traceid: ${TRACE}\r\n` +
        "x-b3-spanid: b7ad6b7169203331\r\n" +
        `x-b3-parentspanid: ${SPAN}\r\n` +
        "x-b3-sampled: 1\r\n" +
        `b3: ${TRACE}-b7ad6b7169203331-1-${SPAN}\r\n`,
    );
  });

  it("gives the same headers as entries, and each kind reads back to the proxy's span", () => {
    const entries = traceHeaderEntries({ ...ids, sampled: false, parentSpanId: "" });
    const headers = Object.fromEntries(entries);
    expect(headers).toEqual({
      traceparent: `00-${TRACE}-b7ad6b7169203331-00`,
      tracestate: "rojo=1",
      "x-b3-traceid": TRACE,
      "x-b3-spanid": "b7ad6b7169203331",
      "x-b3-sampled": "0",
      b3: `${TRACE}-b7ad6b7169203331-0`,
    });
    const viaB3 = extractTraceContext({ b3: headers.b3 });
    const viaMulti = extractTraceContext({ "x-b3-traceid": headers["x-b3-traceid"], "x-b3-spanid": headers["x-b3-spanid"], "x-b3-sampled": "0" });
    const viaW3c = extractTraceContext({ traceparent: headers.traceparent });
    for (const ctx of [viaB3, viaMulti, viaW3c]) expect(ctx).toMatchObject({ traceId: TRACE, spanId: "b7ad6b7169203331", sampled: false });
  });

  it("sends x-b3-flags instead of x-b3-sampled for debug", () => {
    const lines = formatTraceHeaderLines({ ...ids, debug: true });
    expect(lines).toContain("x-b3-flags: 1\r\n");
    expect(lines).not.toContain("x-b3-sampled");
    expect(lines).toContain(`b3: ${TRACE}-b7ad6b7169203331-d-${SPAN}\r\n`);
  });
});
