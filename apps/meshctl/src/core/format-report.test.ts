import type { ConfigIssue } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { findingsExitCode, formatReport } from "./format-report.ts";

const unknownField: ConfigIssue = {
  code: "MW0010",
  name: "UnknownField",
  severity: "error",
  message: 'unknown field "host"',
  hint: "indent host under destination",
  file: "vs.yaml",
  line: 15,
  column: 7,
  resource: { kind: "VirtualService", name: "reviews" },
  field: "spec.http[0].route[0].host",
};
const shadowed: ConfigIssue = { code: "MW0105", name: "ShadowedRoute", severity: "warning", message: "route 2 never matches" };
const unreachable: ConfigIssue = { code: "MW0114", name: "UnreachablePolicy", severity: "info", message: "no RequestAuthentication" };

describe("formatReport", () => {
  it("prints one line per issue and a summary counting each severity", () => {
    const text = formatReport({ issues: [unknownField, shadowed, unreachable], resources: 4, files: 2 }, { output: "human", color: false });
    const lines = text.split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toContain("vs.yaml:15:7");
    expect(lines[0]).toContain("MW0010 UnknownField");
    expect(lines[0]).toContain("spec.http[0].route[0].host");
    expect(lines[1]).toContain("MW0105 ShadowedRoute");
    expect(lines[3]).toBe("Found 1 error, 1 warning, 1 info (2 files, 4 resources loaded).");
    expect(lines[4]).toBe("");
  });

  it("says so when there are no issues", () => {
    expect(formatReport({ issues: [], resources: 1, files: 1 }, { output: "human", color: false })).toBe(
      "No issues found (1 file, 1 resource loaded).\n",
    );
  });

  it("colours lines by severity only when asked", () => {
    const plain = formatReport({ issues: [unknownField], resources: 0, files: 1 }, { output: "human", color: false });
    const colored = formatReport({ issues: [unknownField], resources: 0, files: 1 }, { output: "human", color: true });
    expect(plain).not.toContain("\u001b[");
    const [firstLine = ""] = colored.split("\n");
    expect(firstLine.startsWith("\u001b[31m") && firstLine.endsWith("\u001b[0m")).toBe(true);
    expect(firstLine).toContain("MW0010");
    expect(colored.replaceAll("\u001b[31m", "").replaceAll("\u001b[0m", "")).toBe(plain);
  });

  it("prints {issues, resources} as JSON, never coloured", () => {
    const text = formatReport({ issues: [unknownField], resources: 3, files: 2 }, { output: "json", color: true });
    expect(JSON.parse(text)).toEqual({ issues: [unknownField], resources: 3 });
    expect(text).not.toContain("\u001b[");
    expect(text.endsWith("}\n")).toBe(true);
  });
});

describe("findingsExitCode", () => {
  it("is 1 for any error or warning and 0 for none or only info", () => {
    expect(findingsExitCode([])).toBe(0);
    expect(findingsExitCode([unreachable])).toBe(0);
    expect(findingsExitCode([unreachable, shadowed])).toBe(1);
    expect(findingsExitCode([unknownField])).toBe(1);
  });
});
