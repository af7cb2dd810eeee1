import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatDataDriven, normalizeOutput, parseDataDriven, type DataDrivenCase } from "./parse-data-driven.ts";

const cases = (text: string): DataDrivenCase[] =>
  parseDataDriven(text, "f.txt").flatMap((chunk) => (chunk.type === "case" ? [chunk.case] : []));

describe("parseDataDriven", () => {
  it("reads directives, inputs and expected outputs, skipping comments and blank lines", () => {
    const text = "# comment\n\nput k=a\nline 1\n\nline 3\n----\nok\nmore\n\n\nget k=a\n----\n";
    expect(cases(text).map(({ cmd, args, input, expected, line, pos }) => ({ cmd, args, input, expected, line, pos }))).toEqual([
      { cmd: "put", args: { k: ["a"] }, input: "line 1\n\nline 3", expected: "ok\nmore\n", line: 3, pos: "f.txt:3" },
      { cmd: "get", args: { k: ["a"] }, input: "", expected: "", line: 12, pos: "f.txt:12" },
    ]);
  });

  it("reads an output with blank lines between doubled separators", () => {
    expect(cases("show\n----\n----\na\n\n----x\n\n----\n----\nnext\n----\nb\n").map((c) => c.expected)).toEqual(["a\n\n----x\n\n", "b\n"]);
  });

  it("joins directive lines that end in a backslash", () => {
    const [c] = cases("cmd a=1 \\\n  b=2\n----\n");
    expect(c?.args).toEqual({ a: ["1"], b: ["2"] });
    expect(c?.directive).toBe("cmd a=1    b=2");
  });

  it.each([
    ["cmd\nno separator\n", /f\.txt:1: "cmd" has no "----"/],
    ["\n\ncmd\n----\n----\nnever closed\n", /f\.txt:3: the output opened by a double/],
    ["cmd \\", /f\.txt:1: directive ends with/],
    ["cmd x=(1\n----\n", /f\.txt:1: unclosed/],
  ])("rejects a malformed file %j with its position", (text, message) => {
    expect(() => parseDataDriven(text, "f.txt")).toThrow(message);
  });
});

describe("formatDataDriven", () => {
  it("reproduces a file byte for byte when given the expected outputs", () => {
    const text = "# head\n\nput\nin\n----\nok\n\n# between\nshow\n----\n----\na\n\nb\n----\n----\n\nlast\n----\n";
    const chunks = parseDataDriven(text, "f.txt");
    expect(formatDataDriven(chunks, cases(text).map((c) => c.expected))).toBe(text);
  });

  it("separates a single-separator output from a following case that had none", () => {
    const text = "a\n----\n----\nx\n\ny\n----\n----\nb\n----\nz\n";
    expect(formatDataDriven(parseDataDriven(text, "f.txt"), ["x", "z"])).toBe("a\n----\nx\n\nb\n----\nz\n");
  });

  // Arbitrary files: rewriting with new outputs and parsing again yields those outputs, and the
  // directives, inputs and text between cases are unchanged.
  const line = fc.string({ unit: fc.constantFrom("a", "b", " ", "-", "#", "\\", "=", "("), maxLength: 6 }).filter((l) => l !== "----");
  const output = fc.array(line, { maxLength: 4 }).map((lines) => lines.join("\n"));
  const testCase = fc.record({
    cmd: fc.constantFrom("put", "get", "x-y"),
    args: fc.array(fc.constantFrom("a=1", "b=(1, 2)", "flag", 'q="s t"'), { maxLength: 3 }),
    input: fc.array(line, { maxLength: 3 }),
    output,
    comment: fc.option(fc.constantFrom("# note", "#", "# ----"), { nil: undefined }),
    // A doubled-separator case needs no blank line after it; a single-separator one does.
    layout: fc.constantFrom("single", "double", "double-tight"),
  });

  it("round-trips arbitrary files and outputs (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(testCase, output), { minLength: 1, maxLength: 5 }), (spec) => {
        const written = formatDataDriven(
          parseDataDriven(
            spec
              .map(([c]) => {
                const directive = [c.cmd, ...new Set(c.args)].join(" ");
                const head = `${c.comment === undefined ? "" : `${c.comment}\n`}${directive}\n${c.input.map((l) => `${l}\n`).join("")}----\n`;
                return c.layout === "single" ? `${head}\n` : `${head}----\n----\n----\n${c.layout === "double" ? "\n" : ""}`;
              })
              .join(""),
            "f.txt",
          ),
          spec.map(([c]) => c.output),
        );
        const rewritten = formatDataDriven(parseDataDriven(written, "f.txt"), spec.map(([, next]) => next));
        const reparsed = cases(rewritten);
        expect(reparsed.map((c) => c.expected)).toEqual(spec.map(([, next]) => normalizeOutput(next)));
        expect(reparsed.map((c) => c.input)).toEqual(spec.map(([c]) => c.input.join("\n")));
        expect(reparsed.map((c) => c.cmd)).toEqual(spec.map(([c]) => c.cmd));
        const comments = (text: string) => text.split("\n").filter((l) => l.startsWith("#"));
        expect(comments(formatDataDriven(parseDataDriven(rewritten, "f.txt"), spec.map(([c]) => c.output)))).toEqual(comments(written));
      }),
    );
  });
});
