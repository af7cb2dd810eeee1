// The checks every rendered deploy/k8s tree must pass, as functions returning problems (so a test
// can also show that each one catches what it is for): Kubernetes schemas (kubernetes-models),
// mesh resources against the rendered CRDs and @meshwork/config's loader (through the built
// `meshctl validate`, as the e2e project runs artifacts rather than importing libs), pinned images,
// resources, probes, hardening, and references between objects.
import * as models from "kubernetes-models";
import { stringify } from "yaml";
import { checkAgainstCrdSchema, type OpenApiSchema } from "./crd-schema-check.ts";
import { describeObject, type KubeObject } from "./render-kustomize.ts";
import { imageProblem, podTemplates, type ContainerSpec, type PodTemplate } from "./workload-pods.ts";

/** API groups whose resources are validated by @meshwork/config (and our CRDs), not kubernetes-models. */
export const meshGroups = new Set(["networking.istio.io", "security.istio.io", "policy.meshwork.io"]);

export function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
}

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: unknown) => Validatable;

/** The kubernetes-models class for apiVersion + kind (`rbac.authorization.k8s.io/v1` → models.rbacAuthorizationK8sIo.v1). */
export function kubernetesModel(apiVersion: string, kind: string): ModelClass | undefined {
  const group = groupOf(apiVersion);
  const version = apiVersion.slice(apiVersion.indexOf("/") + 1);
  const all = models as unknown as Record<string, Record<string, Record<string, unknown>> | undefined>;
  const versions: Record<string, unknown> | undefined =
    group === "" ? (all as unknown as Record<string, Record<string, unknown>>)[version] : all[group.replace(/\.([a-z0-9])/g, (_m, c: string) => c.toUpperCase())]?.[version];
  const model = versions?.[kind];
  return typeof model === "function" ? (model as ModelClass) : undefined;
}

/** Built-in objects against the Kubernetes OpenAPI schemas; custom resources against their rendered CRD. */
export function checkSchemas(objects: readonly KubeObject[], crds: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const where = describeObject(object);
    const crd = crds.find((c) => {
      const spec = c["spec"] as { group: string; names: { kind: string } };
      return spec.group === groupOf(object.apiVersion) && spec.names.kind === object.kind;
    });
    if (crd) {
      const version = object.apiVersion.slice(object.apiVersion.indexOf("/") + 1);
      const served = (crd["spec"] as { versions: { name: string; served: boolean; schema: { openAPIV3Schema: OpenApiSchema } }[] }).versions.find((v) => v.name === version && v.served);
      if (!served) {
        problems.push(`${where}: ${object.apiVersion} is not a served version of CRD ${crd.metadata.name}`);
        continue;
      }
      problems.push(...checkAgainstCrdSchema(object, served.schema.openAPIV3Schema).map((p) => `${where}: ${p}`));
      continue;
    }
    if (meshGroups.has(groupOf(object.apiVersion))) {
      problems.push(`${where}: no CustomResourceDefinition for ${object.apiVersion} ${object.kind} in the render (include deploy/k8s/crds)`);
      continue;
    }
    const Model = kubernetesModel(object.apiVersion, object.kind);
    if (!Model) {
      problems.push(`${where}: no Kubernetes schema for apiVersion ${object.apiVersion} kind ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
    }
  }
  return problems;
}

/** What `meshctl validate -o json` reports (its issues carry more fields than read here). */
export interface ValidateReport {
  readonly issues: readonly { readonly severity: string; readonly code: string; readonly name: string; readonly message: string; readonly line?: number; readonly field?: string }[];
  readonly resources: number;
}

/**
 * Mesh resources through @meshwork/config's loader (schema + semantic rules), given `validate`
 * (multi-document YAML in, report out); errors and warnings are problems.
 */
export function checkMeshResources(objects: readonly KubeObject[], validate: (yamlText: string) => ValidateReport): string[] {
  const mesh = objects.filter((o) => meshGroups.has(groupOf(o.apiVersion)));
  if (mesh.length === 0) return [];
  const text = mesh.map((o) => `# ${describeObject(o)}\n${stringify(o)}`).join("---\n");
  const report = validate(text);
  const problems = report.issues.filter((i) => i.severity !== "info").map((i) => `line ${i.line ?? "?"}: ${i.severity} ${i.code} ${i.name}${i.field ? ` ${i.field}` : ""}: ${i.message}`);
  if (report.resources !== mesh.length) problems.push(`meshctl validate loaded ${report.resources} of ${mesh.length} mesh resources`);
  return problems;
}

/** Images pinned, resources, probes and hardening of every container. */
export function checkContainers(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  for (const pod of podTemplates(objects)) {
    const all: [ContainerSpec, boolean][] = [...pod.spec.containers.map((c): [ContainerSpec, boolean] => [c, false]), ...(pod.spec.initContainers ?? []).map((c): [ContainerSpec, boolean] => [c, true])];
    for (const [container, isInit] of all) {
      const where = `${describeObject(pod.owner)} container ${container.name}`;
      const image = imageProblem(container.image);
      if (image) problems.push(`${where}: ${image}`);
      if (!container.resources?.requests?.["cpu"] || !container.resources.requests["memory"]) problems.push(`${where}: set resources.requests.cpu and resources.requests.memory`);
      if (!container.resources?.limits?.["memory"]) problems.push(`${where}: set resources.limits.memory`);
      if (!isInit && !container.readinessProbe) problems.push(`${where}: add a readinessProbe`);
      if (!isInit && !container.livenessProbe) problems.push(`${where}: add a livenessProbe`);
      const security = container.securityContext;
      if (security?.readOnlyRootFilesystem !== true) problems.push(`${where}: set securityContext.readOnlyRootFilesystem: true`);
      if (security?.allowPrivilegeEscalation !== false) problems.push(`${where}: set securityContext.allowPrivilegeEscalation: false`);
      if (!security?.capabilities?.drop?.includes("ALL")) problems.push(`${where}: drop ALL capabilities`);
      if ((security?.capabilities?.add ?? []).length > 0) problems.push(`${where}: adds capabilities ${security?.capabilities?.add?.join(", ")}`);
      const nonRoot = security?.runAsNonRoot ?? pod.spec.securityContext?.runAsNonRoot;
      const user = security?.runAsUser ?? pod.spec.securityContext?.runAsUser;
      if (nonRoot !== true || user === 0) problems.push(`${where}: run as non-root (runAsNonRoot: true and a non-zero runAsUser)`);
    }
    if (pod.spec.securityContext?.seccompProfile?.type !== "RuntimeDefault") problems.push(`${describeObject(pod.owner)}: set securityContext.seccompProfile.type: RuntimeDefault`);
  }
  return problems;
}

/** References between objects: Service and PDB selectors, named target ports, service accounts, webhook services, RBAC subjects. */
export function checkReferences(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  const pods = podTemplates(objects);
  const namespaceOf = (o: KubeObject) => o.metadata.namespace ?? "default";
  const podsSelectedBy = (namespace: string, selector: Record<string, string>) =>
    pods.filter((p) => namespaceOf(p.owner) === namespace && Object.entries(selector).every(([k, v]) => p.labels[k] === v));
  const exists = (kind: string, namespace: string | undefined, name: string) =>
    objects.some((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || namespaceOf(o) === namespace));

  for (const object of objects) {
    const where = describeObject(object);
    if (object.kind === "Service") {
      const spec = object["spec"] as { selector?: Record<string, string>; ports: { name?: string; targetPort?: string | number; protocol?: string }[] };
      if (!spec.selector) continue;
      const selected = podsSelectedBy(namespaceOf(object), spec.selector);
      if (selected.length === 0) {
        problems.push(`${where}: selector ${JSON.stringify(spec.selector)} matches no pod template`);
        continue;
      }
      for (const port of spec.ports) {
        if (typeof port.targetPort !== "string") continue;
        for (const pod of selected) {
          const found = pod.spec.containers.some((c) => (c.ports ?? []).some((p) => p.name === port.targetPort && (p.protocol ?? "TCP") === (port.protocol ?? "TCP")));
          if (!found) problems.push(`${where}: port ${port.name ?? "?"} targets "${port.targetPort}", which ${describeObject(pod.owner)} does not name`);
        }
      }
    }
    if (object.kind === "PodDisruptionBudget") {
      const selector = (object["spec"] as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      if (podsSelectedBy(namespaceOf(object), selector).length === 0) problems.push(`${where}: selector matches no pod template`);
    }
    if (object.kind === "MutatingWebhookConfiguration" || object.kind === "ValidatingWebhookConfiguration") {
      for (const webhook of (object["webhooks"] as { name: string; clientConfig: { service?: { name: string; namespace: string; port?: number } } }[]) ?? []) {
        const service = webhook.clientConfig.service;
        if (!service) continue;
        const target = objects.find((o) => o.kind === "Service" && o.metadata.name === service.name && namespaceOf(o) === service.namespace);
        if (!target) problems.push(`${where} webhook ${webhook.name}: Service ${service.namespace}/${service.name} is not in the render`);
        else if (!(target["spec"] as { ports: { port: number }[] }).ports.some((p) => p.port === (service.port ?? 443))) problems.push(`${where} webhook ${webhook.name}: Service ${service.namespace}/${service.name} has no port ${service.port ?? 443}`);
      }
    }
    if (object.kind === "ClusterRoleBinding" || object.kind === "RoleBinding") {
      for (const subject of (object["subjects"] as { kind: string; name: string; namespace?: string }[]) ?? []) {
        if (subject.kind === "ServiceAccount" && !exists("ServiceAccount", subject.namespace ?? namespaceOf(object), subject.name)) problems.push(`${where}: subject ServiceAccount ${subject.namespace}/${subject.name} is not in the render`);
      }
      const role = object["roleRef"] as { kind: string; name: string };
      if (!exists(role.kind, role.kind === "Role" ? namespaceOf(object) : undefined, role.name)) problems.push(`${where}: roleRef ${role.kind} ${role.name} is not in the render`);
    }
    if (object.kind === "ClusterRole" || object.kind === "Role") {
      for (const rule of (object["rules"] as { apiGroups?: string[]; resources?: string[]; verbs: string[] }[]) ?? []) {
        if ([...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs].includes("*")) problems.push(`${where}: wildcard in a rule (least privilege: name groups, resources and verbs)`);
        if ((rule.resources ?? []).includes("secrets")) problems.push(`${where}: grants access to secrets`);
      }
    }
  }
  for (const pod of pods) {
    const account = pod.spec.serviceAccountName ?? "default";
    if (account !== "default" && !exists("ServiceAccount", namespaceOf(pod.owner), account)) problems.push(`${describeObject(pod.owner)}: serviceAccountName ${account} is not in the render`);
  }
  return problems;
}

export function findWorkload(objects: readonly KubeObject[], kind: string, name: string): (KubeObject & { spec: { replicas?: number } }) | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name) as (KubeObject & { spec: { replicas?: number } }) | undefined;
}

export type { PodTemplate };
