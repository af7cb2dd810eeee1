// Admission of mesh config (DESIGN.md §3.1): every entry of every source (a registry KV key, a
// file) is loaded and validated on its own with libs/config; an entry with an error is rejected
// whole and, if an earlier version of it was good, that version keeps serving. Pure.
import { displayKind, loadResources, makeIssue, type ConfigIssue, type MeshResource } from "@meshwork/config";
import { parseConfigKey } from "./config-key.ts";

export type ConfigSourceName = "registry" | "kubernetes" | "directory";

/** One unit of config as a source holds it. */
export interface ConfigEntry {
  readonly source: ConfigSourceName;
  /** The KV key or the file path. */
  readonly key: string;
  readonly text: string;
}

export interface AdmittedEntry {
  readonly source: ConfigSourceName;
  readonly key: string;
  readonly text: string;
  readonly resources: readonly MeshResource[];
}

export interface Rejection {
  readonly source: ConfigSourceName;
  readonly key: string;
  readonly issues: readonly ConfigIssue[];
  /** Whether an earlier good version of the entry still serves. */
  readonly keptLastGood: boolean;
}

/** The admitted state: what serves (by `source:key`) and what was refused. */
export interface AdmissionState {
  readonly accepted: ReadonlyMap<string, AdmittedEntry>;
  readonly rejected: readonly Rejection[];
}

export const emptyAdmission: AdmissionState = { accepted: new Map(), rejected: [] };

const sourceOrder: Record<ConfigSourceName, number> = { registry: 0, kubernetes: 1, directory: 2 };

/**
 * Admits the current `entries` of every source against the `previous` state. Entries are taken in
 * source order (registry, then Kubernetes, then files) and key order; a resource (kind/namespace/name) defined by two
 * entries is kept from the first and the second is rejected. A registry key must name the
 * resource it holds (config-key.ts). Entries no source holds any more are dropped.
 */
export function admitConfig(entries: readonly ConfigEntry[], previous: AdmissionState, defaultNamespace: string): AdmissionState {
  const sorted = [...entries].sort((a, b) => sourceOrder[a.source] - sourceOrder[b.source] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const accepted = new Map<string, AdmittedEntry>();
  const rejected: Rejection[] = [];
  const definedBy = new Map<string, string>();
  for (const entry of sorted) {
    const id = `${entry.source}:${entry.key}`;
    const before = previous.accepted.get(id);
    const reject = (issues: ConfigIssue[]): void => {
      const keep = before !== undefined && claim(before.resources, id, definedBy, defaultNamespace).length === 0;
      if (keep) accepted.set(id, before);
      rejected.push({ source: entry.source, key: entry.key, issues, keptLastGood: keep });
    };
    if (before !== undefined && before.text === entry.text) {
      // Unchanged: already validated. Still subject to the duplicate check (an earlier entry may be new).
      const clash = claim(before.resources, id, definedBy, defaultNamespace);
      if (clash.length === 0) accepted.set(id, before);
      else rejected.push({ source: entry.source, key: entry.key, issues: clash, keptLastGood: false });
      continue;
    }
    const loaded = loadResources([{ path: id, text: entry.text }]);
    const errors = loaded.issues.filter((i) => i.severity === "error");
    if (errors.length > 0) {
      reject(errors);
      continue;
    }
    const keyIssues = entry.source === "registry" ? checkKey(entry.key, loaded.resources, defaultNamespace) : [];
    if (keyIssues.length > 0) {
      reject(keyIssues);
      continue;
    }
    const clash = claim(loaded.resources, id, definedBy, defaultNamespace);
    if (clash.length > 0) {
      rejected.push({ source: entry.source, key: entry.key, issues: clash, keptLastGood: false });
      continue;
    }
    accepted.set(id, { source: entry.source, key: entry.key, text: entry.text, resources: loaded.resources });
  }
  return { accepted, rejected };
}

/** Every accepted resource, in admission order, namespaces filled in. */
export function admittedResources(state: AdmissionState, defaultNamespace: string): MeshResource[] {
  const out: MeshResource[] = [];
  for (const entry of state.accepted.values()) {
    for (const r of entry.resources) out.push(r.metadata.namespace === undefined ? ({ ...r, metadata: { ...r.metadata, namespace: defaultNamespace } } as MeshResource) : r);
  }
  return out;
}

function resourceId(r: MeshResource, defaultNamespace: string): string {
  return `${r.kind}/${r.metadata.namespace ?? defaultNamespace}/${r.metadata.name}`;
}

/** Records `resources` as defined by `id`; issues for those another entry defined first (nothing recorded then). */
function claim(resources: readonly MeshResource[], id: string, definedBy: Map<string, string>, defaultNamespace: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const r of resources) {
    const rid = resourceId(r, defaultNamespace);
    const owner = definedBy.get(rid);
    if (owner !== undefined && owner !== id) {
      issues.push(
        makeIssue("DuplicateResource", {
          // As users write the kind: Gateway (gateway.networking.k8s.io), not Meshwork's KubernetesGateway.
          message: `${displayKind(r.kind)}/${r.metadata.namespace ?? defaultNamespace}/${r.metadata.name} is already defined by ${owner}`,
          hint: "remove one of the two definitions (the registry's wins over a file's)",
          file: id,
          resource: { kind: r.kind, namespace: r.metadata.namespace ?? defaultNamespace, name: r.metadata.name },
        }),
      );
    }
  }
  if (issues.length === 0) for (const r of resources) definedBy.set(resourceId(r, defaultNamespace), id);
  return issues;
}

function checkKey(key: string, resources: readonly MeshResource[], defaultNamespace: string): ConfigIssue[] {
  const id = parseConfigKey(key);
  const only = resources.length === 1 ? resources[0] : undefined;
  if (id !== undefined && only !== undefined && only.kind === id.kind && (only.metadata.namespace ?? id.namespace) === id.namespace && only.metadata.name === id.name) return [];
  const holds = resources.map((r) => resourceId(r, defaultNamespace)).join(", ") || "no resource";
  return [
    makeIssue("InvalidMetadata", {
      message: `registry key "${key}" holds ${holds}; a key holds exactly the resource it names`,
      hint: "write each resource to meshwork/config/<Kind>/<namespace>/<name> (meshctl apply and the control plane's /api/v1/config do)",
      file: `registry:${key}`,
    }),
  ];
}
