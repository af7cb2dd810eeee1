// The local-dev config source: every *.yaml, *.yml and *.json under a directory (recursively),
// re-read whole when anything under it changes (100 ms quiet), one entry per file.
import { watch, type FSWatcher } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";

export interface DirectoryEntry {
  /** Path relative to the directory. */
  readonly key: string;
  readonly text: string;
}

const configFile = /\.(ya?ml|json)$/i;

/** The config files under `dir`, sorted by path. */
export async function readConfigDirectory(dir: string): Promise<DirectoryEntry[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const files = entries
    .filter((e) => e.isFile() && configFile.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
  return Promise.all(files.map(async (path) => ({ key: relative(dir, path), text: await readFile(path, "utf8") })));
}

/** Calls `onChange` with the whole directory after changes under it settle; returns the watcher to close. */
export function watchConfigDirectory(dir: string, onChange: (entries: DirectoryEntry[]) => void, onError: (error: Error) => void, quietMs = 100): FSWatcher {
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dir, { recursive: true }, () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      readConfigDirectory(dir).then(onChange, onError);
    }, quietMs);
  });
  watcher.on("error", onError);
  watcher.on("close", () => timer && clearTimeout(timer));
  return watcher;
}
