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

  it("passes positional arguments within the declared range and refuses others with the usage line", async () => {
    const pair = defineCommand({
      name: "pair",
      summary: "Print the arguments.",
      usage: "meshctl pair A [B]",
      description: "Prints them.",
      footer: "",
      settings: {},
      positionals: { min: 1, max: 2 },
      run: async (_settings, { io }, args) => {
        io.writeOut(`${args.join("+")}\n`);
        return 0;
      },
    });
    expect(await runCommand(pair, ["a", "b"], {})).toEqual({ code: 0, out: "a+b\n", err: "" });
    expect(pair.prepare([], {})).toMatchObject({ type: "usage-error", message: expect.stringContaining("expected 1 to 2 argument(s) besides flags, got 0; usage: meshctl pair A [B]") });
    expect(pair.prepare(["a", "b", "c"], {})).toMatchObject({ type: "usage-error", message: expect.stringContaining("got 3 (a b c)") });
    expect(echo.prepare(["--word", "x", "extra"], {})).toMatchObject({ type: "usage-error", message: expect.stringContaining("unexpected argument \"extra\": this command takes only flags") });
  });
});
