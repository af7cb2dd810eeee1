// Renders a kustomization with the real `kubectl kustomize` and parses the objects, for the
// deploy/ checks. A missing kubectl is an error that says what to install, never a skip.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

export const repoRoot = join(import.meta.dirname, "../..");

/** One rendered Kubernetes object (only the fields the checks read are typed). */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** Throws with the fix when kubectl cannot be run. */
export function requireKubectl(): void {
  const probe = spawnSync("kubectl", ["version", "--client", "-o", "json"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `kubectl is required to render deploy/k8s (kubectl kustomize) but could not be run: ${probe.error?.message ?? probe.stderr}. ` +
        "Install kubectl >= 1.27 (it bundles kustomize v5), e.g. https://kubernetes.io/docs/tasks/tools/, and make sure it is on PATH.",
    );
  }
}

/** `kubectl kustomize <dir>` (dir relative to the repo root), parsed into objects. */
export function renderKustomization(dir: string): KubeObject[] {
  const result = spawnSync("kubectl", ["kustomize", join(repoRoot, dir)], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`kubectl kustomize ${dir} could not run: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed (exit ${result.status}):\n${result.stderr}`);
  return parseObjects(result.stdout, dir);
}

/** Parses multi-document YAML into objects; a syntax error names the source. */
export function parseObjects(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`${source}: ${document.errors.map((e) => e.message).join("; ")}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    objects.push(value as KubeObject);
  }
  return objects;
}

/** `Kind/namespace/name`, for messages. */
export function describeObject(object: KubeObject): string {
  return `${object.kind}/${object.metadata.namespace ? `${object.metadata.namespace}/` : ""}${object.metadata.name}`;
}
