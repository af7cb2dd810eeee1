// Validation before a write (meshctl apply → POST /api/v1/config): the submitted YAML is loaded
// and validated with libs/config, then analyzed together with the config already serving; any
// error rejects the whole request (nothing is written). On success, the KV writes to make. Pure.
import { analyzeResources, findResourceKind, loadResources, type ConfigIssue, type MeshCatalog, type MeshResource } from "@meshwork/config";
import { parseAllDocuments } from "yaml";
import { configKey } from "./config-key.ts";

export interface ApplyWrite {
  readonly key: string;
  /** JSON of the resource as submitted, namespace filled in. */
  readonly value: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export type PreparedApply =
  | { readonly ok: true; readonly writes: readonly ApplyWrite[]; readonly warnings: readonly ConfigIssue[] }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

export interface PrepareApplyOptions {
  /** Namespace of resources that name none. */
  readonly defaultNamespace: string;
  /** What already serves; a submitted resource replaces the one with the same kind/namespace/name. */
  readonly current: readonly MeshResource[];
  readonly catalog?: MeshCatalog | undefined;
  /** Shown in issues, e.g. "<request>". */
  readonly path: string;
}

export function prepareApply(text: string, options: PrepareApplyOptions): PreparedApply {
  const loaded = loadResources([{ path: options.path, text }]);
  const errors = loaded.issues.filter((i) => i.severity === "error");
  if (errors.length > 0) return { ok: false, issues: errors };
  if (loaded.resources.length === 0) {
    return { ok: false, issues: [{ code: "MW0002", name: "NotAResource", severity: "error", message: "the request holds no resource", hint: "send one or more YAML documents with apiVersion, kind, metadata and spec", file: options.path }] };
  }
  const ns = (r: MeshResource): string => r.metadata.namespace ?? options.defaultNamespace;
  const ids = new Set(loaded.resources.map((r) => `${r.kind}/${ns(r)}/${r.metadata.name}`));
  const merged = [...options.current.filter((r) => !ids.has(`${r.kind}/${ns(r)}/${r.metadata.name}`)), ...loaded.resources];
  const findings = analyzeResources(merged, { catalog: options.catalog, defaultNamespace: options.defaultNamespace });
  const concerns = (i: ConfigIssue): boolean => i.resource !== undefined && ids.has(`${i.resource.kind}/${i.resource.namespace ?? options.defaultNamespace}/${i.resource.name ?? ""}`);
  const mine = findings.filter(concerns);
  const analysisErrors = mine.filter((i) => i.severity === "error");
  if (analysisErrors.length > 0) return { ok: false, issues: analysisErrors };
  const writes: ApplyWrite[] = [];
  for (const doc of parseAllDocuments(text)) {
    const value: unknown = doc.toJS();
    const items = isRecord(value) && value.kind === "List" && Array.isArray(value.items) ? value.items : [value];
    for (const item of items) {
      if (!isRecord(item) || !isRecord(item.metadata)) continue;
      const metadata: Record<string, unknown> & { namespace: string } = {
        ...item.metadata,
        namespace: typeof item.metadata.namespace === "string" ? item.metadata.namespace : options.defaultNamespace,
      };
      // The key names Meshwork's kind: the Gateway API's Gateway is KubernetesGateway, apart from Istio's Gateway.
      const apiVersion = String(item.apiVersion);
      const kind = findResourceKind(apiVersion.slice(0, Math.max(apiVersion.lastIndexOf("/"), 0)), String(item.kind))?.kind ?? String(item.kind);
      const name = String(metadata.name);
      writes.push({ key: configKey({ kind, namespace: metadata.namespace, name }), value: JSON.stringify({ ...item, metadata }), kind, namespace: metadata.namespace, name });
    }
  }
  return { ok: true, writes, warnings: mine.filter((i) => i.severity !== "error") };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
