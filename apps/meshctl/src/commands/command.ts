// What a meshctl command is: its flags (a SettingsSpec), its help text, and a run function that gets
// typed settings and all its I/O as arguments. defineCommand() wires the flags to readSettings.

import { defineSettings, formatHelp, readSettings, type Settings, type SettingsSpec } from "@meshwork/runtime";
import { LOG_LEVELS, type Logger, type LogLevel } from "@meshwork/telemetry";
import type { ReadBinaryFileResult, WriteBinaryFileResult } from "../adapters/binary-files.ts";
import type { ReadSourcesResult, ReadTextFileResult } from "../adapters/read-sources.ts";
import type { Terminal } from "../core/should-color.ts";

/** Everything a command may do to the outside world; main.ts provides the real ones. */
export interface CommandIo {
  readSources(paths: readonly string[]): Promise<ReadSourcesResult>;
  readTextFile(path: string): Promise<ReadTextFileResult>;
  /** A whole file as bytes (`registry snapshot restore|inspect`). */
  readBinaryFile(path: string): Promise<ReadBinaryFileResult>;
  /** Replaces `path` with `bytes` (`registry snapshot save`). */
  writeBinaryFile(path: string, bytes: Uint8Array): Promise<WriteBinaryFileResult>;
  /** The command's output (stdout). */
  writeOut(text: string): void;
  /** Messages for the user that are not output, such as usage errors (stderr). */
  writeErr(text: string): void;
  readonly terminal: Terminal;
  /** The current time (`meshctl token issue` stamps iat/nbf/exp with it). */
  now(): Date;
  /** WebCrypto for signing and random ids. */
  readonly crypto: Crypto;
  /** HTTP requests (the CA admin API of `meshctl ca ...`). */
  fetch(url: string, init: RequestInit): Promise<Response>;
  /** Waits `ms` (polling with `--wait`); resolves early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface CommandContext {
  readonly io: CommandIo;
  /** JSON diagnostics (stderr). */
  readonly logger: Logger;
  /** Aborted on SIGTERM/SIGINT. */
  readonly signal: AbortSignal;
  /**
   * Work to finish before meshctl exits on SIGTERM/SIGINT (it exits once the hooks ran, without
   * waiting for the command): `meshctl up` stops its processes here. Hooks run last-added first.
   */
  onStop(name: string, hook: () => Promise<void> | void): void;
}

/** The outcome of reading a command line: something to run, help to print, or a usage error. */
export type Invocation =
  | { readonly type: "run"; readonly command: string; readonly logLevel: LogLevel; run(context: CommandContext): Promise<number> }
  | { readonly type: "help"; readonly text: string }
  | { readonly type: "usage-error"; readonly message: string };

export interface Command {
  readonly name: string;
  /** One line for `meshctl --help`. */
  readonly summary: string;
  /** Reads this command's flags and env vars; pure. */
  prepare(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Invocation;
}

/** Settings every command has. */
const commonSettings = defineSettings({
  logLevel: {
    type: "string",
    choices: LOG_LEVELS,
    default: "warn",
    env: "MESHWORK_LOG_LEVEL",
    valueName: "LEVEL",
    description: "Diagnostic log level; logs are JSON lines on stderr.",
  },
});

export interface CommandDefinition<S extends SettingsSpec> {
  readonly name: string;
  readonly summary: string;
  /** The usage line without "Usage: ". */
  readonly usage: string;
  /** A paragraph for --help. */
  readonly description: string;
  /** Examples and exit codes for --help. */
  readonly footer: string;
  /** This command's own settings; --log-level is added to every command. */
  readonly settings: S;
  /** Arguments that are not flags (`meshctl get KIND NAME`): how many are allowed; default none. */
  readonly positionals?: { readonly min: number; readonly max: number };
  run(settings: Settings<S & typeof commonSettings>, context: CommandContext, args: readonly string[]): Promise<number>;
}

export function defineCommand<const S extends SettingsSpec>(definition: CommandDefinition<S>): Command {
  const spec: S & typeof commonSettings = { ...definition.settings, ...commonSettings };
  return {
    name: definition.name,
    summary: definition.summary,
    prepare: (argv, env) => {
      const positionals = definition.positionals ?? { min: 0, max: 0 };
      const result = readSettings(spec, { argv, env, allowPositionals: positionals.max > 0 });
      switch (result.type) {
        case "help": {
          const { usage, description, footer } = definition;
          return { type: "help", text: formatHelp(spec, { usage, summary: description, footer }) };
        }
        case "invalid": {
          const message = `${result.error.message}\nRun "meshctl ${definition.name} --help" for usage.`;
          return { type: "usage-error", message: formatUsageError(definition.name, message) };
        }
        case "settings": {
          const { settings } = result;
          const count = result.positionals.length;
          if (count < positionals.min || count > positionals.max) {
            const expected = positionals.min === positionals.max ? `${positionals.min}` : `${positionals.min} to ${positionals.max}`;
            const message = `expected ${expected} argument(s) besides flags, got ${count}${count > 0 ? ` (${result.positionals.join(" ")})` : ""}; usage: ${definition.usage}\nRun "meshctl ${definition.name} --help" for usage.`;
            return { type: "usage-error", message: formatUsageError(definition.name, message) };
          }
          // The spec includes commonSettings, so logLevel is one of LOG_LEVELS; TypeScript cannot see through the generic.
          const { logLevel } = settings as unknown as Settings<typeof commonSettings>;
          return { type: "run", command: definition.name, logLevel, run: (context) => definition.run(settings, context, result.positionals) };
        }
      }
    },
  };
}

/** "meshctl validate: <message>\n", the shape of every message that goes with exit code 2. */
export function formatUsageError(command: string, message: string): string {
  return `meshctl ${command}: ${message}\n`;
}
