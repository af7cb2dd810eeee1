// Reads meshctl's command line: picks the command named by the first argument and lets it read its
// flags and env vars. Pure; main.ts runs the result.

import type { Command, Invocation } from "./commands/command.ts";

/**
 * `meshctl COMMAND [flags]`. `meshctl`, `meshctl -h` and `meshctl help` print the overview;
 * `meshctl help COMMAND` prints the command's help. No command, a flag before the command, or an
 * unknown command is a usage error whose message includes the overview.
 */
export function parseInvocation(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  commands: readonly Command[],
): Invocation {
  const [first, ...rest] = argv;
  const overview = formatOverview(commands);
  if (first === "-h" || first === "--help" || (first === "help" && rest.length === 0)) return { type: "help", text: overview };
  if (first === undefined) return { type: "usage-error", message: `meshctl: missing command\n\n${overview}` };
  const wanted = first === "help" ? rest[0] : first;
  const command = commands.find((candidate) => candidate.name === wanted);
  if (command !== undefined) return first === "help" ? command.prepare(["--help"], env) : command.prepare(rest, env);
  const problem = wanted?.startsWith("-") === true ? `expected a command before the flag "${wanted}"` : `unknown command "${wanted}"`;
  return { type: "usage-error", message: `meshctl: ${problem}\n\n${overview}` };
}

function formatOverview(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    "meshctl controls a Meshwork service mesh.",
    "",
    "Usage: meshctl COMMAND [flags]",
    "",
    "Commands:",
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    "",
    'Run "meshctl COMMAND --help" for the flags of a command.',
    "",
  ].join("\n");
}
