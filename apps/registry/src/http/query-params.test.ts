import { describe, expect, it } from "vitest";
import { jitteredWaitMs, parseBlocking, parseConsistency, parseNodeMeta, parseTags, parseUintParam } from "./query-params.ts";

const q = (text: string) => new URLSearchParams(text);

describe("parseBlocking", () => {
  it("defaults to no index and a 5 minute wait", () => {
    expect(parseBlocking(q(""))).toEqual({ minIndex: 0, waitMs: 300_000 });
  });
  it("reads index and wait, and clamps wait to 10 minutes", () => {
    expect(parseBlocking(q("index=42&wait=5s"))).toEqual({ minIndex: 42, waitMs: 5000 });
    expect(parseBlocking(q("index=1&wait=1h")).waitMs).toBe(600_000);
  });
  it("rejects a malformed index or wait naming the parameter", () => {
    expect(() => parseBlocking(q("index=-1"))).toThrow(/\?index "-1"/);
    expect(() => parseBlocking(q("index=abc"))).toThrow(/\?index/);
    expect(() => parseBlocking(q("wait=soon"))).toThrow(/\?wait "soon"/);
  });
});

describe("jitteredWaitMs", () => {
  it("adds at most wait/16", () => {
    expect(jitteredWaitMs(16_000, () => 0)).toBe(16_000);
    expect(jitteredWaitMs(16_000, () => 0.999)).toBe(16_999);
  });
});

describe("parseConsistency", () => {
  it("maps ?consistent and ?stale, refusing both", () => {
    expect(parseConsistency(q(""))).toBe("default");
    expect(parseConsistency(q("consistent"))).toBe("consistent");
    expect(parseConsistency(q("stale="))).toBe("stale");
    expect(() => parseConsistency(q("stale&consistent"))).toThrow(/conflicting/);
  });
});

describe("filters", () => {
  it("parses tags and node-meta pairs", () => {
    expect(parseTags(q("tag=a&tag=b"))).toEqual(["a", "b"]);
    expect(parseNodeMeta(q("node-meta=rack:r1&node-meta=zone:a:b"))).toEqual([["rack", "r1"], ["zone", "a:b"]]);
    expect(() => parseNodeMeta(q("node-meta=rack"))).toThrow(/\?node-meta "rack"/);
  });
  it("parses unsigned integers", () => {
    expect(parseUintParam(q("flags=7"), "flags")).toBe(7);
    expect(parseUintParam(q(""), "flags")).toBeUndefined();
    expect(() => parseUintParam(q("flags=1.5"), "flags")).toThrow(/\?flags/);
  });
});
