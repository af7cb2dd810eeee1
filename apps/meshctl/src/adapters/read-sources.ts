// Reads the mesh config files a command was pointed at: files as given, directories recursively
// (only .yaml, .yml and .json, sorted by name), and "-" as stdin. meshctl's only file-system code.

import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { SourceText } from "@meshwork/config";

/** The path issues show for text read from stdin. */
export const STDIN_PATH = "<stdin>";

const CONFIG_EXTENSIONS = [".yaml", ".yml", ".json"];

/** Why a path could not be read; `reason` is a short lower-case phrase ("no such file or directory"). */
export interface ReadFailure {
  readonly ok: false;
  readonly path: string;
  readonly reason: string;
}

export type ReadSourcesResult = { readonly ok: true; readonly sources: SourceText[] } | ReadFailure;

export type ReadTextFileResult = { readonly ok: true; readonly source: SourceText } | ReadFailure;

export interface ReadSourcesOptions {
  /** Reads all of stdin; called at most once. */
  readonly readStdin: () => Promise<string>;
}

/**
 * Reads every path in order. A file is read whatever its extension; a directory contributes its
 * .yaml/.yml/.json files, walked depth-first in code-unit order of names (symlinked directories
 * are not followed). Stops at the first path that cannot be read, or a directory with no such files.
 */
export async function readSources(paths: readonly string[], options: ReadSourcesOptions): Promise<ReadSourcesResult> {
  const sources: SourceText[] = [];
  let hasReadStdin = false;
  for (const path of paths) {
    if (path === "-") {
      if (hasReadStdin) return { ok: false, path, reason: "stdin can be read only once" };
      hasReadStdin = true;
      sources.push({ path: STDIN_PATH, text: await options.readStdin() });
      continue;
    }
    const listed = await listConfigFiles(path);
    if (!listed.ok) return listed;
    for (const file of listed.files) {
      const read = await readTextFile(file);
      if (!read.ok) return read;
      sources.push(read.source);
    }
  }
  return { ok: true, sources };
}

/** Reads one file as UTF-8 text. */
export async function readTextFile(path: string): Promise<ReadTextFileResult> {
  try {
    return { ok: true, source: { path, text: await readFile(path, "utf8") } };
  } catch (error) {
    return failure(path, error);
  }
}

async function listConfigFiles(path: string): Promise<{ readonly ok: true; readonly files: string[] } | ReadFailure> {
  try {
    if (!(await stat(path)).isDirectory()) return { ok: true, files: [path] };
    const files = await walk(path);
    if (files.length === 0) return { ok: false, path, reason: "the directory holds no .yaml, .yml or .json files" };
    return { ok: true, files };
  } catch (error) {
    return failure(path, error);
  }
}

async function walk(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (isConfigFile(entry.name) && (entry.isFile() || (entry.isSymbolicLink() && (await stat(path)).isFile()))) {
      files.push(path);
    }
  }
  return files;
}

function isConfigFile(name: string): boolean {
  return CONFIG_EXTENSIONS.some((extension) => name.endsWith(extension));
}

/** A failed file-system call as a ReadFailure: the path and a short reason. */
export function failure(path: string, error: unknown): ReadFailure {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reasons: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EPERM: "permission denied",
    EISDIR: "it is a directory",
    ENOTDIR: "a part of the path is not a directory",
  };
  const reason = (code === undefined ? undefined : reasons[code]) ?? (error instanceof Error ? error.message : String(error));
  return { ok: false, path, reason };
}
