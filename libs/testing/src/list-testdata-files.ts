// Lists the data-driven files of a testdata directory, so a suite can run one test per file.

import { readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * The files under `dir` (recursively) whose names end with `suffix` (default: any), as absolute
 * or `dir`-relative paths as `dir` is, sorted. Names starting with "." are skipped. Throws when none
 * match, because a suite over an empty directory would pass without testing anything.
 */
export function listTestdataFiles(dir: string, suffix = ""): string[] {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.startsWith(".") && entry.name.endsWith(suffix))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  if (files.length === 0) throw new Error(`no testdata files ending in "${suffix}" under ${dir}`);
  return files;
}
