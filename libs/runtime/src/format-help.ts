// Generates a command's --help text from its SettingsSpec, so the help can never disagree with
// the flags and env vars the command actually reads.

import { describeExpected } from "./read-settings.ts";
import { flagName, type SettingDeclaration, type SettingsSpec } from "./settings-spec.ts";

export interface HelpOptions {
  /** The usage line after "Usage: ", e.g. "meshctl validate -f FILE|DIR ... [flags]". */
  readonly usage: string;
  /** What the command does, one short paragraph. */
  readonly summary?: string;
  /** Printed verbatim after the flags: examples, exit codes. */
  readonly footer?: string;
}

/**
 * One line per flag, in spec order, then `-h, --help`: the flag, its value placeholder, the
 * description and, in brackets, required/choices/default/env var. Ends with a newline.
 */
export function formatHelp(spec: SettingsSpec, options: HelpOptions): string {
  const rows = Object.entries(spec).map(([name, declaration]) => [flagColumn(name, declaration), describe(declaration)] as const);
  rows.push(["-h, --help", "Show this help."]);
  const width = Math.max(...rows.map(([left]) => left.length));
  const flags = rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`.trimEnd());
  const sections = [`Usage: ${options.usage}`];
  if (options.summary !== undefined) sections.push(options.summary);
  sections.push(["Flags:", ...flags].join("\n"));
  if (options.footer !== undefined) sections.push(options.footer.trimEnd());
  return `${sections.join("\n\n")}\n`;
}

function flagColumn(name: string, declaration: SettingDeclaration): string {
  const short = declaration.short === undefined ? "    " : `-${declaration.short}, `;
  const value = declaration.type === "boolean" ? "" : ` ${declaration.valueName ?? declaration.type}`;
  return `${short}--${flagName(name)}${value}`;
}

function describe(declaration: SettingDeclaration): string {
  const notes: string[] = [];
  if (declaration.required === true) notes.push("required");
  if (declaration.type === "string" && declaration.choices !== undefined) notes.push(describeExpected(declaration));
  if (declaration.type === "list") notes.push("repeatable, comma-separated");
  const shown = defaultText(declaration);
  if (shown !== undefined) notes.push(`default: ${shown}`);
  if (declaration.env !== undefined) notes.push(`env: ${declaration.env}`);
  return notes.length === 0 ? declaration.description : `${declaration.description} [${notes.join("; ")}]`;
}

function defaultText(declaration: SettingDeclaration): string | undefined {
  switch (declaration.type) {
    case "boolean":
      return declaration.default === true ? "true" : undefined;
    case "list":
      return declaration.default === undefined || declaration.default.length === 0 ? undefined : declaration.default.join(",");
    case "number":
      return declaration.default === undefined ? undefined : String(declaration.default);
    case "string":
      return declaration.default;
  }
}
