import { describe, expect, it } from "vitest";
import { parseDirective } from "./parse-directive.ts";

describe("parseDirective", () => {
  it("parses a command with values, lists, quoted values and flags", () => {
    expect(parseDirective('cmd a=1 b=(x, y ,z) c="p q" d=("r, s", t) flag e= f=()', "f:1")).toEqual({
      cmd: "cmd",
      args: { a: ["1"], b: ["x", "y", "z"], c: ["p q"], d: ["r, s", "t"], flag: [], e: [""], f: [] },
    });
  });

  it("tolerates extra spaces and tabs between tokens", () => {
    expect(parseDirective("  stabilize \t  n=3 ", "f:1")).toEqual({ cmd: "stabilize", args: { n: ["3"] } });
  });

  it.each([
    ["", /starts with a command/],
    ["a=1", /starts with a command/],
    ["cmd x=1 x=2", /"x" given twice/],
    ["cmd x=(1,2", /unclosed/],
    ["cmd x=1)", /unbalanced/],
    ['cmd x="open', /unclosed quote/],
    ["cmd =1", /without a name/],
  ])("rejects %j with the position", (text, message) => {
    expect(() => parseDirective(text, "file.txt:9")).toThrow(message);
    expect(() => parseDirective(text, "file.txt:9")).toThrow(/^file\.txt:9: /);
  });
});
