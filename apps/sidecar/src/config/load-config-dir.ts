// The standalone sidecar's config source (`sidecar --config DIR`): reads the Istio resources in one
// directory, validates them with @meshwork/config and builds the ProxyConfig with
// @meshwork/proxy-core. A bad file never throws: the result lists the errors (file:line:column,
// resource, field, hint) and the caller keeps running on its last good config.
import { configFromResources, type LoadConfigDirOptions, type LoadConfigDirResult } from "./config-from-resources.ts";
import { readConfigResources } from "./read-config-resources.ts";

export { configFileExtensions } from "./read-config-resources.ts";
export type { LoadConfigDirOptions, LoadConfigDirResult } from "./config-from-resources.ts";

/**
 * Loads the config in `dir`: every regular file (or symlink to one, as Kubernetes ConfigMap
 * volumes have) directly in `dir` whose name ends in .yaml, .yml or .json, in code-unit order of
 * names. Not recursive: subdirectories and names starting with "." (editor swap files, the
 * ConfigMap's `..data`) are skipped. Any error-severity issue — unreadable file, bad YAML, a
 * resource failing validation — fails the whole load: a half-applied config (a route without its
 * DestinationRule) is worse than the last good one.
 */
export async function loadConfigDir(dir: string, options: LoadConfigDirOptions): Promise<LoadConfigDirResult> {
  return configFromResources(await readConfigResources(dir, options.version), options);
}
