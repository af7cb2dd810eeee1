// The first half of loading a standalone config directory: list and read its files, parse and
// validate the Istio resources with @meshwork/config. Its result is plain data (resources as
// decoded, errors and warnings as lines), so it can run in a short-lived child process
// (config-worker.ts) and reach the sidecar by structured clone: the sidecar's own process then
// never loads the schemas and the YAML parsers, and keeps no slice of the YAML text.
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { formatIssue, loadResources, sortIssues, type SourceText } from "@meshwork/config";
import type { ConfigResourcesResult } from "./config-from-resources.ts";

/** File name endings read from the directory. */
export const configFileExtensions: readonly string[] = [".yaml", ".yml", ".json"];

/**
 * Reads the resources in `dir` (see loadConfigDir for which files). `version` is the config's
 * version when given; by default `sha256:<first 16 hex digits>` of the file names and contents.
 */
export async function readConfigResources(dir: string, version: string | undefined): Promise<ConfigResourcesResult> {
  const listed = await listConfigFiles(dir);
  if (!listed.ok) return { ok: false, errors: [listed.error], warnings: [], files: [] };
  const sources: SourceText[] = [];
  const errors: string[] = [];
  for (const file of listed.files) {
    try {
      sources.push({ path: file, text: await readFile(file, "utf8") });
    } catch (error) {
      errors.push(`${file}: error: cannot read the file: ${reason(error)} (hint: check that it exists and is readable by the sidecar)`);
    }
  }
  const files = listed.files;
  const loaded = loadResources(sources);
  const issues = sortIssues(loaded.issues);
  errors.push(...issues.filter((i) => i.severity === "error").map(formatIssue));
  const warnings = issues.filter((i) => i.severity !== "error").map(formatIssue);
  if (errors.length > 0) return { ok: false, errors, warnings, files };
  if (files.length === 0) warnings.push(`${dir}: no .yaml, .yml or .json files; the proxy has no routes and no clusters`);
  return { ok: true, resources: loaded.resources, version: version ?? contentVersion(sources), warnings, files };
}

type ListResult = { readonly ok: true; readonly files: string[] } | { readonly ok: false; readonly error: string };

async function listConfigFiles(dir: string): Promise<ListResult> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    return { ok: false, error: `${dir}: error: cannot read the config directory: ${reason(error)} (hint: pass an existing directory with --config)` };
  }
  const files: string[] = [];
  for (const name of names.sort()) {
    if (name.startsWith(".") || !configFileExtensions.some((ext) => name.endsWith(ext))) continue;
    const path = join(dir, name);
    try {
      if ((await stat(path)).isFile()) files.push(path);
    } catch {
      // Deleted between readdir and stat, or a dangling symlink: the next change event reloads.
    }
  }
  return { ok: true, files };
}

function contentVersion(sources: readonly SourceText[]): string {
  const hash = createHash("sha256");
  for (const s of sources) hash.update(s.path).update("\0").update(s.text).update("\0");
  return `sha256:${hash.digest("hex").slice(0, 16)}`;
}

function reason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
      return "permission denied";
    case "ENOTDIR":
      return "not a directory";
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
