import { describe, expect, it } from "vitest";
import { hasArg, intArg, intListArg, listArg, stringArg } from "./case-args.ts";
import type { DataDrivenCase } from "./parse-data-driven.ts";
import { parseDirective } from "./parse-directive.ts";

function testCase(directive: string): DataDrivenCase {
  return { ...parseDirective(directive, "t.txt:3"), directive, input: "", expected: "", line: 3, pos: "t.txt:3" };
}

describe("case arguments", () => {
  const c = testCase("deliver from=1 to=(2,3) n=x flag label=a");

  it("reads single values, integers and lists", () => {
    expect(intArg(c, "from")).toBe(1);
    expect(intListArg(c, "to")).toEqual([2, 3]);
    expect(stringArg(c, "label")).toBe("a");
    expect(listArg(c, "missing")).toEqual([]);
    expect(hasArg(c, "flag")).toBe(true);
    expect(hasArg(c, "nope")).toBe(false);
  });

  it("uses the fallback only when the argument is absent", () => {
    expect(intArg(c, "count", 5)).toBe(5);
    expect(stringArg(c, "label", "b")).toBe("a");
  });

  it("fails with the case position on missing, repeated or non-integer values", () => {
    expect(() => intArg(c, "count")).toThrow("t.txt:3: deliver needs the argument count=...");
    expect(() => stringArg(c, "to")).toThrow("t.txt:3: to takes one value, got (2, 3)");
    expect(() => intArg(c, "n")).toThrow("t.txt:3: n=x is not an integer");
    expect(() => intArg(c, "flag")).toThrow(/takes one value/);
  });
});
