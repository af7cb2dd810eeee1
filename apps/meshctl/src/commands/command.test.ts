import { describe, expect, it } from "vitest";
import { runCommand } from "../../tests/support/run-command.ts";
import { defineCommand } from "./command.ts";

const echo = defineCommand({
  name: "echo",
  summary: "Echo the word.",
  usage: "meshctl echo --word TEXT",
  description: "Prints the word.",
  footer: "Exit codes: 0.",
  settings: { word: { type: "string", required: true, env: "MESHWORK_WORD", description: "What to print." } },
  run: async (settings, { io }) => {
    io.writeOut(`${settings.word} (${settings.logLevel})\n`);
    return 0;
  },
});

describe("defineCommand", () => {
  it("runs with typed settings from flags and env, adding --log-level (default warn) to every command", async () => {
    const env = { MESHWORK_LOG_LEVEL: "debug" };
    expect(echo.prepare(["--word", "hi"], env)).toMatchObject({ type: "run", command: "echo", logLevel: "debug" });
    expect(await runCommand(echo, ["--word", "hi"], { env })).toEqual({ code: 0, out: "hi (debug)\n", err: "" });
    expect(echo.prepare([], { MESHWORK_WORD: "env" })).toMatchObject({ type: "run", logLevel: "warn" });
  });

  it("generates help from the settings, including --log-level and the footer", () => {
    const invocation = echo.prepare(["-h"], {});
    expect(invocation.type).toBe("help");
    const text = invocation.type === "help" ? invocation.text : "";
    expect(text).toContain("Usage: meshctl echo --word TEXT\n\nPrints the word.\n\nFlags:\n");
    expect(text).toContain("--word string");
    expect(text).toContain("--log-level LEVEL");
    expect(text).toContain("env: MESHWORK_LOG_LEVEL");
    expect(text.endsWith("Exit codes: 0.\n")).toBe(true);
  });

  it("turns a bad flag into a usage error naming the command, the flag and where help is", () => {
    expect(echo.prepare(["--word", "x", "--log-level", "loud"], {})).toEqual({
      type: "usage-error",
      message: 'meshctl echo: invalid value "loud" for --log-level: expected one of debug, info, warn, error\nRun "meshctl echo --help" for usage.\n',
    });
  });
});
