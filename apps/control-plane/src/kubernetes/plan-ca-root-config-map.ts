// What the mesh-root ConfigMap of one namespace needs (pure): Istio's istio-ca-root-cert, here
// `meshwork-ca-root-cert` with the mesh root as `root-cert.pem` (the name the injected sidecars
// mount, docs/design/kubernetes.md). Keys and labels others added are kept; only ours are set.

/** The ConfigMap's name in every namespace (InjectionTemplate.caRootConfigMap). */
export const caRootConfigMapName = "meshwork-ca-root-cert";
/** The key holding the PEM roots (Istio's constants.CACertNamespaceConfigMapDataName). */
export const caRootConfigMapKey = "root-cert.pem";
/** The label marking it as the mesh's (Istio: istio.io/config: "true"). */
export const caRootConfigMapLabels: Readonly<Record<string, string>> = { "meshwork.io/config": "true" };

/** The fields of a ConfigMap the plan reads. */
export interface ConfigMapLike {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly resourceVersion?: string; readonly labels?: Record<string, string>; readonly [field: string]: unknown };
  readonly data?: Record<string, string>;
  readonly [field: string]: unknown;
}

export type CaRootConfigMapPlan =
  | { readonly type: "create"; readonly body: ConfigMapLike }
  | { readonly type: "replace"; readonly body: ConfigMapLike }
  | { readonly type: "none" };

/**
 * Create when `existing` is undefined; replace (carrying its resourceVersion, so a concurrent
 * change fails with 409 instead of being overwritten) when the root or our label differ; else none.
 */
export function planCaRootConfigMap(existing: ConfigMapLike | undefined, desired: { readonly namespace: string; readonly name: string; readonly rootCertPem: string }): CaRootConfigMapPlan {
  if (existing === undefined) {
    return { type: "create", body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: desired.name, namespace: desired.namespace, labels: { ...caRootConfigMapLabels } }, data: { [caRootConfigMapKey]: desired.rootCertPem } } };
  }
  const labels = existing.metadata?.labels ?? {};
  const upToDate = existing.data?.[caRootConfigMapKey] === desired.rootCertPem && Object.entries(caRootConfigMapLabels).every(([k, v]) => labels[k] === v);
  if (upToDate) return { type: "none" };
  return {
    type: "replace",
    body: {
      ...existing,
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { ...existing.metadata, name: desired.name, namespace: desired.namespace, labels: { ...labels, ...caRootConfigMapLabels } },
      data: { ...existing.data, [caRootConfigMapKey]: desired.rootCertPem },
    },
  };
}
