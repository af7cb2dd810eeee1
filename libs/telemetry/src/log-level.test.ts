import { describe, expect, it } from "vitest";
import { isLogLevel, levelRank, LOG_LEVELS } from "./log-level.ts";

describe("log levels", () => {
  it("accepts exactly the four lower-case level names", () => {
    expect(LOG_LEVELS.filter(isLogLevel)).toEqual(["debug", "info", "warn", "error"]);
    expect(isLogLevel("INFO")).toBe(false);
    expect(isLogLevel("trace")).toBe(false);
    expect(isLogLevel("")).toBe(false);
  });

  it("ranks levels from debug (most verbose) to error", () => {
    expect(levelRank("debug")).toBeLessThan(levelRank("info"));
    expect(levelRank("info")).toBeLessThan(levelRank("warn"));
    expect(levelRank("warn")).toBeLessThan(levelRank("error"));
  });
});
