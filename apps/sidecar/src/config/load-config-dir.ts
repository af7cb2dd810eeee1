// The standalone sidecar's config source (`sidecar --config DIR`): reads the Istio resources in one
// directory, validates them with @meshwork/config and builds the ProxyConfig with
// @meshwork/proxy-core. A bad file never throws: the result lists the errors (file:line:column,
// resource, field, hint) and the caller keeps running on its last good config.
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { formatIssue, loadResources, sortIssues, type SourceText } from "@meshwork/config";
import { buildProxyConfig, type BuildProxyConfigOptions, type ProxyConfig } from "@meshwork/proxy-core";

/** File name endings read from the directory. */
export const configFileExtensions: readonly string[] = [".yaml", ".yml", ".json"];

export interface LoadConfigDirOptions extends Omit<BuildProxyConfigOptions, "version"> {
  /** ProxyConfig.version; by default `sha256:<first 16 hex digits>` of the file names and contents, so equal directories give equal versions. */
  readonly version?: string | undefined;
}

export type LoadConfigDirResult =
  | {
      readonly ok: true;
      readonly config: ProxyConfig;
      /** Problems that leave the config usable (validation warnings, undefined subsets, destinations without a cluster), one line each. */
      readonly warnings: readonly string[];
      /** The files read, in the order read. */
      readonly files: readonly string[];
    }
  | {
      readonly ok: false;
      /** One line each: `file:line:column: error MW0010 UnknownField VirtualService default/x spec.http[0]...: ... (hint: ...)`. */
      readonly errors: readonly string[];
      readonly warnings: readonly string[];
      readonly files: readonly string[];
    };

/**
 * Loads the config in `dir`: every regular file (or symlink to one, as Kubernetes ConfigMap
 * volumes have) directly in `dir` whose name ends in .yaml, .yml or .json, in code-unit order of
 * names. Not recursive: subdirectories and names starting with "." (editor swap files, the
 * ConfigMap's `..data`) are skipped. Any error-severity issue — unreadable file, bad YAML, a
 * resource failing validation — fails the whole load: a half-applied config (a route without its
 * DestinationRule) is worse than the last good one.
 */
export async function loadConfigDir(dir: string, options: LoadConfigDirOptions): Promise<LoadConfigDirResult> {
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
  const built = buildProxyConfig(loaded.resources, { ...options, version: options.version ?? contentVersion(sources) });
  warnings.push(...built.issues);
  return { ok: true, config: built.config, warnings, files };
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
