import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { intArg, listArg } from "./case-args.ts";
import type { DataDrivenCase } from "./parse-data-driven.ts";
import { runDataDriven, runDataDrivenAsync } from "./run-data-driven.ts";

const testdata = join(import.meta.dirname, "../testdata/data-driven");

/** The handler of testdata/data-driven/commands.txt: a stack machine whose state spans cases. */
function stackMachine(): (testCase: DataDrivenCase) => string {
  const stack: string[] = [];
  return (testCase) => {
    switch (testCase.cmd) {
      case "push":
        stack.push(...listArg(testCase, "v"));
        return `stack: ${stack.join(" ")}`;
      case "pop":
        return stack.pop() ?? "empty";
      case "args":
        return Object.entries(testCase.args)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, values]) => `${key}=${JSON.stringify(values)}`)
          .join("\n");
      case "echo":
        return testCase.input;
      case "paragraphs":
        return Array.from({ length: intArg(testCase, "count") }, (_, i) => `paragraph ${i + 1}`).join("\n\n");
      case "silent":
        return "";
      default:
        throw new Error(`unknown command ${testCase.cmd}`);
    }
  };
}

function tempCopy(name: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "data-driven-")), name);
  copyFileSync(join(testdata, name), path);
  return path;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("runDataDriven", () => {
  it("passes when every case's output matches testdata/data-driven/commands.txt", () => {
    runDataDriven(join(testdata, "commands.txt"), stackMachine());
  });

  it("hands the handler the directive, input and 1-based line of each case", () => {
    const seen: Pick<DataDrivenCase, "cmd" | "line" | "input">[] = [];
    const handler = stackMachine();
    runDataDriven(join(testdata, "commands.txt"), (testCase) => {
      seen.push({ cmd: testCase.cmd, line: testCase.line, input: testCase.input });
      return handler(testCase);
    });
    expect(seen.map((c) => `${c.cmd}@${c.line}`)).toEqual([
      "push@4", "push@8", "args@13", "echo@22", "paragraphs@29", "pop@38", "args@42", "silent@48",
    ]);
    expect(seen.find((c) => c.cmd === "echo")?.input).toBe("first line\nsecond line");
  });

  it("fails at the first mismatching case, naming file:line and the directive", () => {
    const path = tempCopy("commands.txt");
    writeFileSync(path, readFileSync(path, "utf8").replace("stack: 1 2 3 four five", "stack: 1 2 3"));
    expect(() => runDataDriven(path, stackMachine())).toThrow(/commands\.txt:8: push v=\(2, 3, "four five"\)/);
  });

  it("prefixes the position to a handler's error", () => {
    expect(() => runDataDriven(join(testdata, "commands.txt"), () => { throw new Error("boom"); }))
      .toThrow(/commands\.txt:4: push v=1: boom/);
  });

  it("refuses a handler that returns a promise", () => {
    const asyncHandler = (async () => "x") as unknown as () => string;
    expect(() => runDataDriven(join(testdata, "commands.txt"), asyncHandler)).toThrow(/runDataDrivenAsync/);
  });

  it("rewrites outputs with UPDATE_TESTDATA=1, keeping comments and layout", () => {
    const path = tempCopy("commands.txt");
    const original = readFileSync(path, "utf8");
    writeFileSync(path, original.replace("stack: 1\n", "stale\n").replace("paragraph 1\n\nparagraph 2\n", "old\n"));
    vi.stubEnv("UPDATE_TESTDATA", "1");
    runDataDriven(path, stackMachine());
    expect(readFileSync(path, "utf8")).toBe(original);
  });

  it("switches an output to doubled separators when it gains a blank line, and back", () => {
    const path = join(mkdtempSync(join(tmpdir(), "data-driven-")), "switch.txt");
    writeFileSync(path, "say\n----\nold\n\n# end\n");
    vi.stubEnv("UPDATE_TESTDATA", "1");
    runDataDriven(path, () => "a\n\nb");
    expect(readFileSync(path, "utf8")).toBe("say\n----\n----\na\n\nb\n----\n----\n\n# end\n");
    runDataDriven(path, () => "c");
    expect(readFileSync(path, "utf8")).toBe("say\n----\nc\n\n# end\n");
    vi.unstubAllEnvs();
    runDataDriven(path, () => "c");
  });
});

describe("runDataDrivenAsync", () => {
  it("awaits the handler and checks its output", async () => {
    const handler = stackMachine();
    await runDataDrivenAsync(join(testdata, "commands.txt"), async (testCase) => {
      await Promise.resolve();
      return handler(testCase);
    });
  });

  it("fails on a mismatch", async () => {
    await expect(runDataDrivenAsync(join(testdata, "commands.txt"), async () => "nope")).rejects.toThrow(/commands\.txt:4: push v=1/);
  });
});
