import { describe, expect, expectTypeOf, it } from "vitest";
import { readSettings } from "./read-settings.ts";
import { defineSettings } from "./settings-spec.ts";

const spec = defineSettings({
  filename: { type: "list", short: "f", env: "MESHWORK_FILENAME", description: "Files to read", required: true },
  output: { type: "string", short: "o", choices: ["human", "json"], default: "human", env: "MESHWORK_OUTPUT", description: "Output format" },
  logLevel: { type: "string", default: "warn", env: "MESHWORK_LOG_LEVEL", description: "Log level" },
  port: { type: "number", integer: true, default: 15000, env: "MESHWORK_PORT", description: "Admin port" },
  ratio: { type: "number", env: "MESHWORK_RATIO", description: "Sampling ratio" },
  watch: { type: "boolean", env: "MESHWORK_WATCH", description: "Keep watching" },
  services: { type: "string", description: "Catalog file" },
});

function read(argv: string[], env: Record<string, string> = {}) {
  return readSettings(spec, { argv, env });
}

function settingsOf(argv: string[], env: Record<string, string> = {}) {
  const result = read(argv, env);
  if (result.type !== "settings") throw new Error(`expected settings, got ${JSON.stringify(result)}`);
  return result.settings;
}

function errorOf(argv: string[], env: Record<string, string> = {}) {
  const result = read(argv, env);
  if (result.type !== "invalid") throw new Error(`expected an error, got ${JSON.stringify(result)}`);
  return result.error;
}

describe("readSettings", () => {
  it("applies defaults, and implicit false/[] for booleans and lists", () => {
    expect(settingsOf(["-f", "a.yaml"])).toEqual({
      filename: ["a.yaml"],
      output: "human",
      logLevel: "warn",
      port: 15000,
      ratio: undefined,
      watch: false,
      services: undefined,
    });
  });

  it("types settings from the spec: choices become a union, no default means possibly undefined", () => {
    const settings = settingsOf(["-f", "a"]);
    expectTypeOf(settings.output).toEqualTypeOf<"human" | "json">();
    expectTypeOf(settings.port).toEqualTypeOf<number>();
    expectTypeOf(settings.ratio).toEqualTypeOf<number | undefined>();
    expectTypeOf(settings.filename).toEqualTypeOf<readonly string[]>();
    expectTypeOf(settings.watch).toEqualTypeOf<boolean>();
    expectTypeOf(settings.services).toEqualTypeOf<string | undefined>();
  });

  it("reads env vars over defaults, and flags over env vars", () => {
    const env = { MESHWORK_OUTPUT: "json", MESHWORK_LOG_LEVEL: "debug", MESHWORK_PORT: "9000", MESHWORK_FILENAME: "e.yaml" };
    expect(settingsOf([], env)).toMatchObject({ output: "json", logLevel: "debug", port: 9000, filename: ["e.yaml"] });
    expect(settingsOf(["--output=human", "--log-level", "error", "-f", "x.yaml"], env)).toMatchObject({
      output: "human",
      logLevel: "error",
      port: 9000,
      filename: ["x.yaml"],
    });
  });

  it("treats an empty env var as unset", () => {
    expect(settingsOf(["-f", "a"], { MESHWORK_OUTPUT: "", MESHWORK_PORT: "" })).toMatchObject({ output: "human", port: 15000 });
  });

  it("joins repeated list flags and splits their values and the env var on commas", () => {
    expect(settingsOf(["-f", "a.yaml", "--filename=b.yaml,c.yaml", "-f", "-"]).filename).toEqual(["a.yaml", "b.yaml", "c.yaml", "-"]);
    expect(settingsOf([], { MESHWORK_FILENAME: "a.yaml, b.yaml," }).filename).toEqual(["a.yaml", "b.yaml"]);
  });

  it("lets the last occurrence of a single-valued flag win", () => {
    expect(settingsOf(["-f", "a", "-o", "json", "-o", "human"]).output).toBe("human");
  });

  it("reads booleans from --flag, --no-flag, --flag=false and env 1/0/true/false", () => {
    expect(settingsOf(["-f", "a", "--watch"]).watch).toBe(true);
    expect(settingsOf(["-f", "a", "--watch=false"]).watch).toBe(false);
    expect(settingsOf(["-f", "a", "--no-watch"], { MESHWORK_WATCH: "1" }).watch).toBe(false);
    expect(settingsOf(["-f", "a"], { MESHWORK_WATCH: "TRUE" }).watch).toBe(true);
    expect(settingsOf(["-f", "a"], { MESHWORK_WATCH: "0" }).watch).toBe(false);
  });

  it("returns help for -h or --help, even next to other mistakes", () => {
    expect(read(["--help"])).toEqual({ type: "help" });
    expect(read(["--bogus", "-h"])).toEqual({ type: "help" });
  });

  it("rejects an unknown flag, suggesting a close one", () => {
    expect(errorOf(["-f", "a", "--outptu", "json"])).toEqual({
      code: "unknown-flag",
      source: "--outptu",
      message: "unknown flag --outptu: did you mean --output?",
    });
    expect(errorOf(["-f", "a", "--frobnicate"]).message).toBe("unknown flag --frobnicate: see --help for the flags this command takes");
    expect(errorOf(["-x"]).message).toBe("unknown flag -x: see --help for the flags this command takes");
  });

  it("rejects a bad flag value, naming the flag as typed and what is expected", () => {
    expect(errorOf(["-f", "a", "-o", "xml"])).toEqual({
      code: "invalid-value",
      source: "-o",
      message: 'invalid value "xml" for -o: expected one of human, json',
    });
    expect(errorOf(["-f", "a", "--port", "80.5"]).message).toBe('invalid value "80.5" for --port: expected an integer');
    expect(errorOf(["-f", "a", "--ratio", "lots"]).message).toBe('invalid value "lots" for --ratio: expected a number');
    expect(errorOf(["-f", "a", "--watch=maybe"]).message).toBe('invalid value "maybe" for --watch: expected true or false (or 1 or 0)');
  });

  it("rejects a bad env value, naming the env var and what is expected", () => {
    expect(errorOf(["-f", "a"], { MESHWORK_PORT: "http" })).toEqual({
      code: "invalid-value",
      source: "MESHWORK_PORT",
      message: 'invalid value "http" in MESHWORK_PORT: expected an integer',
    });
    expect(errorOf(["-f", "a"], { MESHWORK_OUTPUT: "yaml" }).message).toBe('invalid value "yaml" in MESHWORK_OUTPUT: expected one of human, json');
  });

  it("does not read an env var whose flag was given, so a bad env value is then harmless", () => {
    expect(settingsOf(["-f", "a", "--port", "1"], { MESHWORK_PORT: "http" }).port).toBe(1);
  });

  it("rejects a flag missing its value, and does not take the next flag as the value", () => {
    expect(errorOf(["-f", "a", "--output"])).toEqual({
      code: "missing-value",
      source: "--output",
      message: "flag --output needs a value: one of human, json",
    });
    expect(errorOf(["-f", "--output", "json"]).message).toBe(
      "flag -f needs a value: one or more values (repeat the flag or separate with commas)",
    );
  });

  it("rejects a missing required setting, saying which flag or env var provides it", () => {
    expect(errorOf(["-o", "json"])).toEqual({
      code: "missing-setting",
      source: "--filename",
      message: "missing --filename (-f): Files to read; pass --filename or set MESHWORK_FILENAME",
    });
  });

  it("rejects positional arguments unless allowed, and returns them when allowed", () => {
    expect(errorOf(["-f", "a", "stray.yaml"])).toEqual({
      code: "unexpected-argument",
      source: "stray.yaml",
      message: 'unexpected argument "stray.yaml": this command takes only flags',
    });
    const allowed = readSettings(spec, { argv: ["one", "-f", "a", "--", "--two"], env: {}, allowPositionals: true });
    expect(allowed.type === "settings" && allowed.positionals).toEqual(["one", "--two"]);
  });
});
