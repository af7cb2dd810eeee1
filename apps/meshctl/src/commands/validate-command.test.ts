import type { SourceText } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { runCommand } from "../../tests/support/run-command.ts";
import { validateCommand } from "./validate-command.ts";

const goodRule: SourceText = {
  path: "dr.yaml",
  text: "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: ratings\nspec:\n  host: ratings\n",
};
const badRule: SourceText = {
  path: "bad.yaml",
  text: "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: ratings\nspec:\n  host: ratings\n  retries: 3\n",
};

function validate(argv: string[], files: readonly SourceText[], isTty = false) {
  return runCommand(validateCommand, argv, { files, isTty });
}

describe("validateCommand", () => {
  it("exits 0 and says so when every resource is valid", async () => {
    expect(await validate(["-f", "dr.yaml"], [goodRule])).toEqual({
      code: 0,
      out: "No issues found (1 file, 1 resource loaded).\n",
      err: "",
    });
  });

  it("exits 1 and prints each issue with file, line and field, then a summary", async () => {
    const { code, out, err } = await validate(["-f", "dr.yaml", "-f", "bad.yaml"], [goodRule, badRule]);
    expect(code).toBe(1);
    expect(err).toBe("");
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^bad\.yaml:7:3: error MW0010 UnknownField DestinationRule \S*ratings spec\.retries: /);
    expect(lines.at(-1)).toBe("Found 1 error (2 files, 1 resource loaded).");
  });

  it("prints JSON with -o json", async () => {
    const { code, out } = await validate(["-f", "bad.yaml", "-o", "json"], [badRule]);
    expect(code).toBe(1);
    const report = JSON.parse(out) as { issues: { code: string; line: number }[]; resources: number };
    expect(report.resources).toBe(0);
    expect(report.issues.map((issue) => [issue.code, issue.line])).toEqual([["MW0010", 7]]);
  });

  it("colours output on a terminal only", async () => {
    expect((await validate(["-f", "bad.yaml"], [badRule], true)).out).toContain("\u001b[31m");
    expect((await validate(["-f", "bad.yaml"], [badRule], false)).out).not.toContain("\u001b[");
  });

  it("exits 2 with the path and the fix when a file cannot be read", async () => {
    expect(await validate(["-f", "gone.yaml"], [])).toEqual({
      code: 2,
      out: "",
      err: 'meshctl validate: cannot read "gone.yaml": no such file or directory. Check the path given to -f.\n',
    });
  });
});
