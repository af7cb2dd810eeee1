// Reads a process's typed settings from command-line flags and environment variables, as declared
// in a SettingsSpec. Pure: argv and env are passed in, and problems come back as values.

import { parseArgs } from "node:util";
import { flagName, type SettingDeclaration, type Settings, type SettingsSpec } from "./settings-spec.ts";

/** Why settings could not be read; `message` names the flag or env var and says what is expected. */
export interface SettingsError {
  readonly code: "unknown-flag" | "missing-value" | "invalid-value" | "missing-setting" | "unexpected-argument";
  /** What the user wrote: the flag as typed ("--outptu", "-o"), the env var name, or the stray argument. */
  readonly source: string;
  readonly message: string;
}

export interface ReadSettingsInput {
  /** Arguments after the program (and command) name. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Accept arguments that are not flags, returned as `positionals`; default false (they are errors). */
  readonly allowPositionals?: boolean;
}

export type ReadSettingsResult<S extends SettingsSpec> =
  | { readonly type: "settings"; readonly settings: Settings<S>; readonly positionals: readonly string[] }
  | { readonly type: "help" }
  | { readonly type: "invalid"; readonly error: SettingsError };

/**
 * Resolves each setting from its flag, else its env var, else its default: flags win over env over
 * defaults. `-h`/`--help` anywhere gives `{ type: "help" }` (format it with formatHelp). An empty env
 * var counts as unset. For a list, all occurrences of the flag are joined; the env var is not added.
 */
export function readSettings<S extends SettingsSpec>(spec: S, input: ReadSettingsInput): ReadSettingsResult<S> {
  const declarations = new Map<string, Named>(
    Object.entries(spec).map(([name, declaration]) => [flagName(name), { name, declaration }]),
  );
  const flagged = readFlags(declarations, input);
  if (flagged.type !== "flags") return flagged;

  const settings: Record<string, unknown> = {};
  for (const [flag, { name, declaration }] of declarations) {
    let value = flagged.values.get(name);
    const envName = declaration.env;
    const envText = envName === undefined ? undefined : input.env[envName];
    if (value === undefined && envName !== undefined && envText !== undefined && envText !== "") {
      const parsed = parseValue(declaration, envText);
      if (!parsed.ok) return invalidValue(envName, envText, parsed.expected);
      value = parsed.value;
    }
    if (declaration.required === true && (value === undefined || (Array.isArray(value) && value.length === 0))) {
      return invalid("missing-setting", `--${flag}`, missingMessage(flag, declaration));
    }
    settings[name] = value ?? declaration.default ?? implicitDefault(declaration);
  }
  return { type: "settings", settings: settings as Settings<S>, positionals: flagged.positionals };
}

interface Named {
  readonly name: string;
  readonly declaration: SettingDeclaration;
}

type FlagsResult =
  | { readonly type: "flags"; readonly values: Map<string, unknown>; readonly positionals: string[] }
  | { readonly type: "help" }
  | { readonly type: "invalid"; readonly error: SettingsError };

function readFlags(declarations: ReadonlyMap<string, Named>, input: ReadSettingsInput): FlagsResult {
  const options: NonNullable<Parameters<typeof parseArgs>[0]>["options"] = { help: { type: "boolean", short: "h" } };
  for (const [flag, { declaration }] of declarations) {
    options[flag] = {
      type: declaration.type === "boolean" ? "boolean" : "string",
      multiple: declaration.type === "list",
      ...(declaration.short === undefined ? {} : { short: declaration.short }),
    };
  }
  // Non-strict parsing yields every token, so unknown flags and bad values get our own messages.
  const { tokens } = parseArgs({ args: [...input.argv], options, strict: false, allowPositionals: true, tokens: true });
  if (tokens.some((token) => token.kind === "option" && token.name === "help")) return { type: "help" };

  const values = new Map<string, unknown>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") {
      if (input.allowPositionals !== true) {
        return invalid("unexpected-argument", token.value, `unexpected argument "${token.value}": this command takes only flags`);
      }
      positionals.push(token.value);
      continue;
    }
    const known = declarations.get(token.name);
    const negated = token.name.startsWith("no-") ? declarations.get(token.name.slice(3)) : undefined;
    if (known === undefined && negated?.declaration.type === "boolean") {
      if (token.value !== undefined) return invalid("invalid-value", token.rawName, `flag ${token.rawName} takes no value`);
      values.set(negated.name, false);
      continue;
    }
    if (known === undefined) return invalid("unknown-flag", token.rawName, unknownFlagMessage(token.rawName, declarations));

    const { name, declaration } = known;
    if (declaration.type === "boolean") {
      const parsed = token.value === undefined ? { ok: true as const, value: true } : parseValue(declaration, token.value);
      if (!parsed.ok) return invalidValue(token.rawName, token.value ?? "", parsed.expected);
      values.set(name, parsed.value);
      continue;
    }
    // A following flag is not taken as the value: `-f --output json` means -f is missing its value.
    const isDashValue = token.inlineValue === false && token.value !== undefined && /^-./.test(token.value);
    if (token.value === undefined || isDashValue) {
      return invalid("missing-value", token.rawName, `flag ${token.rawName} needs a value: ${describeExpected(declaration)}`);
    }
    const parsed = parseValue(declaration, token.value);
    if (!parsed.ok) return invalidValue(token.rawName, token.value, parsed.expected);
    const previous = values.get(name);
    values.set(name, Array.isArray(previous) && Array.isArray(parsed.value) ? [...previous, ...parsed.value] : parsed.value);
  }
  return { type: "flags", values, positionals };
}

type Parsed = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly expected: string };

function parseValue(declaration: SettingDeclaration, text: string): Parsed {
  switch (declaration.type) {
    case "string":
      if (declaration.choices !== undefined && !declaration.choices.includes(text)) {
        return { ok: false, expected: describeExpected(declaration) };
      }
      return { ok: true, value: text };
    case "number": {
      const value = text.trim() === "" ? Number.NaN : Number(text);
      if (!Number.isFinite(value) || (declaration.integer === true && !Number.isInteger(value))) {
        return { ok: false, expected: describeExpected(declaration) };
      }
      return { ok: true, value };
    }
    case "boolean": {
      const lower = text.toLowerCase();
      if (lower === "true" || lower === "1") return { ok: true, value: true };
      if (lower === "false" || lower === "0") return { ok: true, value: false };
      return { ok: false, expected: describeExpected(declaration) };
    }
    case "list":
      return { ok: true, value: splitList(text) };
  }
}

/** What a value must look like, for messages and --help: "one of human, json", "an integer". */
export function describeExpected(declaration: SettingDeclaration): string {
  switch (declaration.type) {
    case "string":
      return declaration.choices === undefined ? "a text value" : `one of ${declaration.choices.join(", ")}`;
    case "number":
      return declaration.integer === true ? "an integer" : "a number";
    case "boolean":
      return "true or false (or 1 or 0)";
    case "list":
      return "one or more values (repeat the flag or separate with commas)";
  }
}

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function implicitDefault(declaration: SettingDeclaration): unknown {
  if (declaration.type === "boolean") return false;
  if (declaration.type === "list") return [];
  return undefined;
}

function missingMessage(flag: string, declaration: SettingDeclaration): string {
  const short = declaration.short === undefined ? "" : ` (-${declaration.short})`;
  const env = declaration.env === undefined ? "" : ` or set ${declaration.env}`;
  return `missing --${flag}${short}: ${declaration.description}; pass --${flag}${env}`;
}

function unknownFlagMessage(rawName: string, declarations: ReadonlyMap<string, Named>): string {
  const typed = rawName.replace(/^-+/, "");
  const suggestion = rawName.startsWith("--")
    ? [...declarations.keys(), "help"].find((flag) => editDistance(typed, flag) <= 2)
    : undefined;
  return suggestion === undefined
    ? `unknown flag ${rawName}: see --help for the flags this command takes`
    : `unknown flag ${rawName}: did you mean --${suggestion}?`;
}

/** Levenshtein distance, small inputs only (flag names). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** `source` is a flag as typed ("-o") or an env var name. */
function invalidValue(source: string, text: string, expected: string): { type: "invalid"; error: SettingsError } {
  const preposition = source.startsWith("-") ? "for" : "in";
  return invalid("invalid-value", source, `invalid value "${text}" ${preposition} ${source}: expected ${expected}`);
}

function invalid(code: SettingsError["code"], source: string, message: string): { type: "invalid"; error: SettingsError } {
  return { type: "invalid", error: { code, source, message } };
}
