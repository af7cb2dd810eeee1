import { describe, expect, it } from "vitest";
import { checkDuration } from "./durations.ts";

describe("checkDuration", () => {
  it("accepts whole milliseconds from 1ms, and 0 only when allowed", () => {
    expect(checkDuration(1, ["d"])).toEqual([]);
    expect(checkDuration(undefined, ["d"])).toEqual([]);
    expect(checkDuration(0, ["d"], { allowZero: true })).toEqual([]);
    expect(checkDuration(0, ["d"])).toHaveLength(1);
    expect(checkDuration(1.5, ["d"])).toHaveLength(1);
  });
});
