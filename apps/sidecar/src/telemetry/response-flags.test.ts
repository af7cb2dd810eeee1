import { describe, expect, it } from "vitest";
import {
  ALL_RESPONSE_FLAGS,
  RESPONSE_FLAGS,
  RESPONSE_FLAG_TABLE,
  formatResponseFlags,
  parseResponseFlags,
  responseFlagLongName,
} from "./response-flags.ts";

describe("response flags", () => {
  it("has one distinct bit per short name, all in a small integer", () => {
    const bits = Object.values(RESPONSE_FLAGS);
    expect(new Set(bits).size).toBe(RESPONSE_FLAG_TABLE.length);
    expect(ALL_RESPONSE_FLAGS).toBeLessThan(2 ** 30);
    expect(new Set(RESPONSE_FLAG_TABLE.map((r) => r.long)).size).toBe(RESPONSE_FLAG_TABLE.length);
  });

  it("covers the flags Istio users see", () => {
    for (const f of ["UH", "UF", "UO", "NR", "URX", "UT", "DC", "DI", "FI", "RL", "UC", "LH", "LR", "UAEX", "RLSE", "DPE", "UPE", "NC", "OM", "DF"]) {
      expect(RESPONSE_FLAGS).toHaveProperty(f);
    }
    expect(responseFlagLongName("UH")).toBe("NoHealthyUpstream");
    expect(responseFlagLongName("URX")).toBe("UpstreamRetryLimitExceeded");
  });

  it("formats as Envoy: '-' for none, table order joined by commas", () => {
    expect(formatResponseFlags(0)).toBe("-");
    expect(formatResponseFlags(RESPONSE_FLAGS.URX | RESPONSE_FLAGS.UH)).toBe("UH,URX");
    expect(formatResponseFlags(RESPONSE_FLAGS.DC)).toBe("DC");
  });

  it("returns the cached string for a repeated set", () => {
    const set = RESPONSE_FLAGS.UF | RESPONSE_FLAGS.URX;
    expect(formatResponseFlags(set)).toBe(formatResponseFlags(set));
  });

  it("round-trips through parseResponseFlags and reports unknown names", () => {
    for (let bit = 0; bit < RESPONSE_FLAG_TABLE.length; bit++) {
      const set = (1 << bit) | RESPONSE_FLAGS.UT;
      expect(parseResponseFlags(formatResponseFlags(set))).toEqual({ ok: true, flags: set });
    }
    expect(parseResponseFlags("UH,XX")).toEqual({ ok: false, unknown: "XX" });
  });

  it("refuses bits outside the table", () => {
    expect(() => formatResponseFlags(1 << 30)).toThrow(/RESPONSE_FLAGS/);
  });
});
