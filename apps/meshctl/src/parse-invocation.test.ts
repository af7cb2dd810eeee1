import { describe, expect, it } from "vitest";
import { defineCommand } from "./commands/command.ts";
import { parseInvocation } from "./parse-invocation.ts";

const run = async () => 0;
const commands = [
  defineCommand({ name: "validate", summary: "Check files.", usage: "meshctl validate", description: "V.", footer: "", settings: {}, run }),
  defineCommand({ name: "analyze", summary: "Analyze files.", usage: "meshctl analyze", description: "A.", footer: "", settings: {}, run }),
];

describe("parseInvocation", () => {
  it("prints the overview for --help, -h and help", () => {
    for (const argv of [["--help"], ["-h"], ["help"]]) {
      const invocation = parseInvocation(argv, {}, commands);
      expect(invocation.type).toBe("help");
      expect(invocation.type === "help" && invocation.text).toContain("  validate  Check files.\n  analyze   Analyze files.\n");
    }
  });

  it("hands the rest of the arguments to the named command", () => {
    expect(parseInvocation(["analyze", "--log-level", "info"], {}, commands)).toMatchObject({ type: "run", command: "analyze", logLevel: "info" });
    expect(parseInvocation(["validate", "--bogus"], {}, commands)).toMatchObject({ type: "usage-error" });
  });

  it("prints a command's help for `help COMMAND` and `COMMAND --help`", () => {
    const viaHelp = parseInvocation(["help", "analyze"], {}, commands);
    expect(viaHelp.type === "help" && viaHelp.text).toMatch(/^Usage: meshctl analyze\n/);
    expect(parseInvocation(["analyze", "--help"], {}, commands)).toEqual(viaHelp);
  });

  it("rejects a missing, unknown or flag-first command with the overview", () => {
    const cases: [string[], string][] = [
      [[], "meshctl: missing command\n\n"],
      [["aply"], 'meshctl: unknown command "aply"\n\n'],
      [["help", "aply"], 'meshctl: unknown command "aply"\n\n'],
      [["-f", "x.yaml"], 'meshctl: expected a command before the flag "-f"\n\n'],
    ];
    for (const [argv, start] of cases) {
      const invocation = parseInvocation(argv, {}, commands);
      expect(invocation.type).toBe("usage-error");
      const message = invocation.type === "usage-error" ? invocation.message : "";
      expect(message.startsWith(start)).toBe(true);
      expect(message).toContain("Usage: meshctl COMMAND [flags]");
    }
  });

  it("matches a command of several words and hands it the arguments after them", () => {
    const withToken = [...commands, defineCommand({ name: "token issue", summary: "Mint.", usage: "meshctl token issue", description: "T.", footer: "", settings: {}, run })];
    expect(parseInvocation(["token", "issue", "--log-level", "debug"], {}, withToken)).toMatchObject({ type: "run", command: "token issue", logLevel: "debug" });
    const viaHelp = parseInvocation(["help", "token", "issue"], {}, withToken);
    expect(viaHelp.type === "help" && viaHelp.text).toMatch(/^Usage: meshctl token issue\n/);
    expect(parseInvocation(["token", "issue", "-h"], {}, withToken)).toEqual(viaHelp);
    for (const argv of [["token"], ["token", "revoke"]]) {
      const invocation = parseInvocation(argv, {}, withToken);
      expect(invocation.type === "usage-error" && invocation.message).toMatch(/^meshctl: unknown command "token( revoke)?"; did you mean "token issue"\?\n\n/);
    }
  });
});
