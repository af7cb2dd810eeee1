// Where mesh config lives in the registry KV: one resource per key,
// `meshwork/config/<Kind>/<namespace>/<name>`, the value its YAML or JSON as the user wrote it
// (docs/design/config-push.md). Namespace-less resources go to the control plane's default namespace.

/** The KV prefix the control plane watches. */
export const configPrefix = "meshwork/config/";

export interface ConfigId {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** The KV key of a resource. */
export function configKey(id: ConfigId): string {
  return `${configPrefix}${id.kind}/${id.namespace}/${id.name}`;
}

/** The resource a key names; undefined for a key outside the layout (`<prefix><Kind>/<namespace>/<name>`). */
export function parseConfigKey(key: string): ConfigId | undefined {
  if (!key.startsWith(configPrefix)) return undefined;
  const parts = key.slice(configPrefix.length).split("/");
  if (parts.length !== 3 || parts.some((p) => p === "")) return undefined;
  const [kind = "", namespace = "", name = ""] = parts;
  return { kind, namespace, name };
}
