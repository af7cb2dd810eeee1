// A custom resource read from the API server as a config entry for the ConfigStore (the same
// {key, text} the registry KV and directory sources deliver): the user's resource (apiVersion,
// kind, name, namespace, labels, annotations, spec) as JSON, without server-side bookkeeping
// (resourceVersion, managedFields, status, kubectl's last-applied copy). Pure.

export interface KubernetesResource {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: unknown;
}

export interface ConfigEntryText {
  readonly key: string;
  readonly text: string;
}

const droppedAnnotations = new Set(["kubectl.kubernetes.io/last-applied-configuration"]);

/** `kubernetes/<group>/<Kind>/<namespace>/<name>` → JSON text of the resource. */
export function toConfigEntry(resource: KubernetesResource, fallback: { readonly apiVersion: string; readonly kind: string }): ConfigEntryText {
  const apiVersion = resource.apiVersion ?? fallback.apiVersion;
  const kind = resource.kind ?? fallback.kind;
  const name = resource.metadata?.name ?? "";
  const namespace = resource.metadata?.namespace ?? "";
  const annotations = Object.entries(resource.metadata?.annotations ?? {}).filter(([key]) => !droppedAnnotations.has(key));
  const metadata = {
    name,
    ...(namespace === "" ? {} : { namespace }),
    ...(resource.metadata?.labels && Object.keys(resource.metadata.labels).length > 0 ? { labels: resource.metadata.labels } : {}),
    ...(annotations.length > 0 ? { annotations: Object.fromEntries(annotations) } : {}),
  };
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "core";
  return { key: `kubernetes/${group}/${kind}/${namespace}/${name}`, text: JSON.stringify({ apiVersion, kind, metadata, spec: resource.spec ?? {} }) };
}
