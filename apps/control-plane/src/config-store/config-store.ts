// The control plane's view of the mesh: the config entries of every source (registry KV, a
// directory) admitted into one snapshot with a revision, and the registry catalog. No I/O: the
// adapters feed it; the push server reads `snapshot` and `catalog` and listens for changes.
import { analyzeResources, type ConfigIssue, type MeshCatalog as AnalysisCatalog } from "@meshwork/config";
import type { CatalogInstance, ConfigSnapshot, MeshCatalog, MeshSettings, TrustBundleBody } from "@meshwork/proxy-core";
import { admitConfig, admittedResources, emptyAdmission, type AdmissionState, type ConfigEntry, type ConfigSourceName, type Rejection } from "../core/admit-config.ts";

export interface ConfigStoreOptions {
  readonly mesh: MeshSettings;
  /** Namespace of resources that name none. */
  readonly defaultNamespace: string;
  /** Sources that must deliver once before the store is ready (the catalog is one when `needsCatalog`). */
  readonly sources: readonly ConfigSourceName[];
  readonly needsCatalog: boolean;
  readonly trustBundles?: readonly TrustBundleBody[];
}

/** Why the snapshot or catalog changed, for listeners (metrics, logs). */
export type StoreChange = { readonly type: "config"; readonly revision: string; readonly rejected: readonly Rejection[] } | { readonly type: "catalog"; readonly instances: number };

export class ConfigStore {
  readonly #options: ConfigStoreOptions;
  readonly #entries = new Map<ConfigSourceName, readonly ConfigEntry[]>();
  readonly #listeners: ((change: StoreChange) => void)[] = [];
  #admission: AdmissionState = emptyAdmission;
  #revision = 0;
  #snapshot: ConfigSnapshot;
  #catalog: MeshCatalog = { instances: [] };
  #catalogKey = "";
  #hasCatalog = false;
  #analysis: { revision: string; catalogKey: string; issues: ConfigIssue[] } | undefined;

  constructor(options: ConfigStoreOptions) {
    this.#options = options;
    this.#snapshot = { revision: "0", resources: [], mesh: options.mesh, trustBundles: options.trustBundles ?? [] };
  }

  /** True once every source delivered its first state (and the catalog, when needed). */
  get isReady(): boolean {
    return this.#options.sources.every((s) => this.#entries.has(s)) && (!this.#options.needsCatalog || this.#hasCatalog);
  }

  get snapshot(): ConfigSnapshot {
    return this.#snapshot;
  }

  get catalog(): MeshCatalog {
    return this.#catalog;
  }

  get admission(): AdmissionState {
    return this.#admission;
  }

  onChange(listener: (change: StoreChange) => void): void {
    this.#listeners.push(listener);
  }

  /** Replaces every entry of `source` (a source always delivers its whole state). */
  setEntries(source: ConfigSourceName, entries: readonly { readonly key: string; readonly text: string }[]): void {
    this.#entries.set(source, entries.map((e) => ({ source, key: e.key, text: e.text })));
    const next = admitConfig([...this.#entries.values()].flat(), this.#admission, this.#options.defaultNamespace);
    const changed = !sameAccepted(this.#admission, next);
    this.#admission = next;
    if (changed) {
      this.#revision += 1;
      this.#snapshot = { ...this.#snapshot, revision: String(this.#revision), resources: admittedResources(next, this.#options.defaultNamespace) };
    }
    if (changed || next.rejected.length > 0) this.#emit({ type: "config", revision: this.#snapshot.revision, rejected: next.rejected });
  }

  /**
   * Replaces the trust bundles pushed to proxies (a root rotation at the CA, a changed
   * --trust-bundle file): a new revision, so every proxy gets the new TrustBundle resource.
   */
  setTrustBundles(bundles: readonly TrustBundleBody[]): void {
    if (JSON.stringify(bundles) === JSON.stringify(this.#snapshot.trustBundles)) return;
    this.#revision += 1;
    this.#snapshot = { ...this.#snapshot, revision: String(this.#revision), trustBundles: bundles };
    this.#emit({ type: "config", revision: this.#snapshot.revision, rejected: this.#admission.rejected });
  }

  /** Replaces the catalog (the registry's whole state of services). */
  setCatalog(instances: readonly CatalogInstance[]): void {
    this.#hasCatalog = true;
    const key = JSON.stringify(instances);
    if (key === this.#catalogKey) return;
    this.#catalogKey = key;
    this.#catalog = { instances };
    this.#emit({ type: "catalog", instances: instances.length });
  }

  /** istioctl-analyze findings over the serving config and the catalog (computed once per revision and catalog). */
  analysis(): readonly ConfigIssue[] {
    const current = this.#analysis;
    if (current && current.revision === this.#snapshot.revision && current.catalogKey === this.#catalogKey) return current.issues;
    const issues = analyzeResources(this.#snapshot.resources, { catalog: this.analysisCatalog(), defaultNamespace: this.#options.defaultNamespace, domainSuffix: this.#options.mesh.domainSuffix });
    this.#analysis = { revision: this.#snapshot.revision, catalogKey: this.#catalogKey, issues };
    return issues;
  }

  /** The catalog as libs/config's analyzers take it (undefined before the registry answered: analyzers needing it are skipped). */
  analysisCatalog(): AnalysisCatalog | undefined {
    if (!this.#hasCatalog) return undefined;
    const services = new Map<string, AnalysisCatalog["services"][number]>();
    for (const i of this.#catalog.instances) {
      const namespace = i.meta.namespace || this.#options.defaultNamespace;
      const key = `${namespace}/${i.serviceName}`;
      let service = services.get(key);
      if (!service) {
        service = { name: i.serviceName, namespace, ports: [], instances: [] };
        services.set(key, service);
      }
      if (!service.ports?.some((p) => p.number === i.port)) service.ports?.push({ number: i.port, name: `${i.meta.protocol ?? "http"}-${i.port}` });
      service.instances?.push({ labels: { ...i.meta }, address: i.address || i.nodeAddress });
    }
    return { services: [...services.values()] };
  }

  #emit(change: StoreChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}

function sameAccepted(a: AdmissionState, b: AdmissionState): boolean {
  if (a.accepted.size !== b.accepted.size) return false;
  const left = [...a.accepted];
  const right = [...b.accepted];
  return left.every(([key, entry], i) => right[i]?.[0] === key && right[i]?.[1].text === entry.text);
}
