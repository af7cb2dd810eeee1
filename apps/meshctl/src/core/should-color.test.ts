import { describe, expect, it } from "vitest";
import { shouldColor } from "./should-color.ts";

describe("shouldColor", () => {
  it("colours on a TTY only when auto, unless NO_COLOR is set", () => {
    expect(shouldColor("auto", { isTty: true, hasNoColor: false })).toBe(true);
    expect(shouldColor("auto", { isTty: false, hasNoColor: false })).toBe(false);
    expect(shouldColor("auto", { isTty: true, hasNoColor: true })).toBe(false);
  });

  it("obeys always and never whatever the terminal", () => {
    expect(shouldColor("always", { isTty: false, hasNoColor: true })).toBe(true);
    expect(shouldColor("never", { isTty: true, hasNoColor: false })).toBe(false);
  });
});
