// The pod templates inside rendered workloads, and the containers inside pods: what the
// image/resources/probes/security checks walk.
import type { KubeObject } from "./render-kustomize.ts";

export interface ContainerSpec {
  readonly name: string;
  readonly image?: string;
  readonly env?: readonly { readonly name: string; readonly value?: string }[];
  readonly resources?: { readonly requests?: Record<string, string>; readonly limits?: Record<string, string> };
  readonly livenessProbe?: unknown;
  readonly readinessProbe?: unknown;
  readonly startupProbe?: unknown;
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number; readonly protocol?: string }[];
  readonly securityContext?: {
    readonly runAsNonRoot?: boolean;
    readonly runAsUser?: number;
    readonly readOnlyRootFilesystem?: boolean;
    readonly allowPrivilegeEscalation?: boolean;
    readonly capabilities?: { readonly drop?: readonly string[]; readonly add?: readonly string[] };
  };
}

export interface PodSpec {
  readonly containers: readonly ContainerSpec[];
  readonly initContainers?: readonly ContainerSpec[];
  readonly serviceAccountName?: string;
  readonly securityContext?: { readonly runAsNonRoot?: boolean; readonly runAsUser?: number; readonly seccompProfile?: { readonly type: string } };
}

export interface PodTemplate {
  readonly owner: KubeObject;
  readonly labels: Record<string, string>;
  readonly spec: PodSpec;
}

const workloadKinds = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"]);

/** Every pod template of the rendered objects (Deployments, StatefulSets, ... and bare Pods). */
export function podTemplates(objects: readonly KubeObject[]): PodTemplate[] {
  const templates: PodTemplate[] = [];
  for (const object of objects) {
    if (object.kind === "Pod") {
      templates.push({ owner: object, labels: object.metadata.labels ?? {}, spec: object["spec"] as PodSpec });
    } else if (workloadKinds.has(object.kind)) {
      const template = (object["spec"] as { template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } }).template;
      templates.push({ owner: object, labels: template.metadata?.labels ?? {}, spec: template.spec });
    }
  }
  return templates;
}

/** Image reference problems: no tag, `latest`, or nothing pinned. */
export function imageProblem(image: string | undefined): string | undefined {
  if (image === undefined || image === "") return "has no image";
  if (image.includes("@sha256:")) return undefined;
  const lastSegment = image.slice(image.lastIndexOf("/") + 1);
  const colon = lastSegment.indexOf(":");
  if (colon < 0) return `image "${image}" has no tag (it would pull latest): pin a version tag`;
  const tag = lastSegment.slice(colon + 1);
  if (tag === "latest") return `image "${image}" uses the latest tag: pin a version tag`;
  return undefined;
}
