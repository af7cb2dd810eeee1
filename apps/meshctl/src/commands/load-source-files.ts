// The first step validate and analyze share: read the -f paths and load (parse and validate) the
// resources in them, or say which path could not be read and what to do about it.

import { loadResources, type LoadResult } from "@meshwork/config";
import type { CommandContext } from "./command.ts";

export type LoadSourceFilesResult =
  | { readonly ok: true; readonly loaded: LoadResult; readonly files: number }
  | { readonly ok: false; readonly message: string };

export async function loadSourceFiles(paths: readonly string[], { io, logger }: CommandContext): Promise<LoadSourceFilesResult> {
  logger.debug("reading sources", { paths });
  const read = await io.readSources(paths);
  if (!read.ok) {
    return { ok: false, message: `cannot read "${read.path}": ${read.reason}. Check the path given to -f.` };
  }
  const loaded = loadResources(read.sources);
  logger.debug("loaded sources", { files: read.sources.length, resources: loaded.resources.length, issues: loaded.issues.length });
  return { ok: true, loaded, files: read.sources.length };
}
