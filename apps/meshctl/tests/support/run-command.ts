// Runs a meshctl command in-process against in-memory files, capturing stdout and stderr: the fake
// CommandIo the commands' unit tests share.

import type { SourceText } from "@meshwork/config";
import { createLogger } from "@meshwork/telemetry";
import type { Command, CommandContext } from "../../src/commands/command.ts";

export interface RunCommandOptions {
  /** The files the fake file system holds; -f and --services name them by path. */
  readonly files?: readonly SourceText[];
  readonly env?: Readonly<Record<string, string>>;
  /** Whether the fake stdout is a terminal. */
  readonly isTty?: boolean;
  /** What io.now() returns (default 2026-11-22T10:00:00Z). */
  readonly now?: Date;
  /** What io.crypto is (default the real WebCrypto). */
  readonly crypto?: Crypto;
  /** Binary files by path (readBinaryFile reads them, writeBinaryFile sets them). */
  readonly binaryFiles?: Map<string, Uint8Array>;
}

export interface CommandRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Prepares and runs `command` with `argv`; throws if the command line is not runnable. */
export async function runCommand(command: Command, argv: readonly string[], options: RunCommandOptions = {}): Promise<CommandRun> {
  const files = options.files ?? [];
  const out: string[] = [];
  const err: string[] = [];
  const invocation = command.prepare(argv, options.env ?? {});
  if (invocation.type !== "run") throw new Error(`expected a runnable command line, got ${JSON.stringify(invocation)}`);
  const find = (path: string) => files.find((file) => file.path === path);
  const context: CommandContext = {
    io: {
      readSources: async (paths) => {
        const missing = paths.find((path) => find(path) === undefined);
        if (missing !== undefined) return { ok: false, path: missing, reason: "no such file or directory" };
        return { ok: true, sources: paths.flatMap((path) => find(path) ?? []) };
      },
      readTextFile: async (path) => {
        const source = find(path);
        return source === undefined ? { ok: false, path, reason: "no such file or directory" } : { ok: true, source };
      },
      readBinaryFile: async (path) => {
        const bytes = options.binaryFiles?.get(path);
        return bytes === undefined ? { ok: false, path, reason: "no such file or directory" } : { ok: true, bytes };
      },
      writeBinaryFile: async (path, bytes) => {
        if (options.binaryFiles === undefined) return { ok: false, path, reason: "read-only file system" };
        options.binaryFiles.set(path, bytes);
        return { ok: true };
      },
      writeOut: (text) => void out.push(text),
      writeErr: (text) => void err.push(text),
      terminal: { isTty: options.isTty ?? false, hasNoColor: false },
      now: () => options.now ?? new Date("2026-11-22T10:00:00Z"),
      crypto: options.crypto ?? globalThis.crypto,
      fetch: (url, init) => fetch(url, init),
      sleep: (ms, signal) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          signal.addEventListener(
            "abort",
            () => {
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        }),
    },
    logger: createLogger({ name: "meshctl", write: () => undefined }),
    signal: new AbortController().signal,
    onStop: () => undefined,
  };
  const code = await invocation.run(context);
  return { code, out: out.join(""), err: err.join("") };
}
