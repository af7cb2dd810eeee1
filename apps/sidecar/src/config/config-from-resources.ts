// The second half of loading a standalone config directory: the ProxyConfig built from the
// resources read-config-resources.ts read. Imports no value of @meshwork/config, so the sidecar
// can take resources read in a worker (load-config-in-worker.ts) without loading the schemas.
import type { MeshResource } from "@meshwork/config";
import { buildProxyConfig, type BuildProxyConfigOptions, type ProxyConfig } from "@meshwork/proxy-core";
import { shareEqualStrings } from "./share-equal-strings.ts";

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

/** The resources of a config directory, validated (readConfigResources): plain data, structured-cloneable. */
export type ConfigResourcesResult =
  | {
      readonly ok: true;
      readonly resources: readonly MeshResource[];
      /** The config's version: the one asked for, or the hash of the files. */
      readonly version: string;
      readonly warnings: readonly string[];
      readonly files: readonly string[];
    }
  | Extract<LoadConfigDirResult, { ok: false }>;

/**
 * Builds the ProxyConfig of read resources; a failed read passes through as it is. Equal strings of
 * the resources become one first (share-equal-strings.ts): the model keeps many of them.
 */
export function configFromResources(read: ConfigResourcesResult, options: LoadConfigDirOptions): LoadConfigDirResult {
  if (!read.ok) return read;
  const built = buildProxyConfig(shareEqualStrings(read.resources), { ...options, version: read.version });
  return { ok: true, config: built.config, warnings: [...read.warnings, ...built.issues], files: read.files };
}

/** Loads a config directory: reads its resources (in a worker, or in this thread) and builds the ProxyConfig here. */
export type ConfigDirLoader = (dir: string, options: LoadConfigDirOptions) => Promise<LoadConfigDirResult>;
