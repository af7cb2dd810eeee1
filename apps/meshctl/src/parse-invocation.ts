// Reads meshctl's command line: picks the command named by the first argument and lets it read its
// flags and env vars. Pure; main.ts runs the result.

import type { Command, Invocation } from "./commands/command.ts";

/**
 * `meshctl COMMAND [flags]`, where COMMAND may be several words (`token issue`). `meshctl`,
 * `meshctl -h` and `meshctl help` print the overview; `meshctl help COMMAND` prints the command's
 * help. No command, a flag before the command, or an unknown command is a usage error whose
 * message includes the overview.
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
  const words = first === "help" ? rest : argv;
  const command = commands.find((candidate) => candidate.name.split(" ").every((word, index) => words[index] === word));
  if (command !== undefined) {
    return first === "help" ? command.prepare(["--help"], env) : command.prepare(words.slice(command.name.split(" ").length), env);
  }
  const wanted = words[0];
  const subcommands = commands.filter((candidate) => candidate.name.startsWith(`${wanted} `)).map((candidate) => `"${candidate.name}"`);
  const problem =
    wanted?.startsWith("-") === true
      ? `expected a command before the flag "${wanted}"`
      : subcommands.length > 0
        ? `unknown command "${words.slice(0, 2).join(" ")}"; did you mean ${subcommands.join(" or ")}?`
        : `unknown command "${wanted}"`;
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
