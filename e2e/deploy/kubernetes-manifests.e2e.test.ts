// deploy/k8s as `kubectl apply -k` would see it: every overlay renders with the real
// `kubectl kustomize`, every object validates against the Kubernetes schemas (kubernetes-models)
// or, for mesh resources, against the rendered CRDs and @meshwork/config's loader (the built
// `meshctl validate`, run from source); images are
// pinned; every container has resources, probes and a hardened security context; objects that
// point at each other find each other. What this does not prove: that a real API server admits
// the objects (admission plugins, Pod Security, quotas) or that the pods become ready.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkContainers, checkMeshResources, checkReferences, checkSchemas, findWorkload, groupOf, meshGroups, type ValidateReport } from "./manifest-checks.ts";
import { checkEnvNames } from "./declared-env.ts";
import { podTemplates } from "./workload-pods.ts";
import { renderKustomization, repoRoot, requireKubectl, type KubeObject } from "./render-kustomize.ts";

const targets = ["deploy/k8s", "deploy/k8s/base", "deploy/k8s/overlays/dev", "deploy/k8s/overlays/prod", "deploy/k8s/samples/bookinfo"] as const;
const rendered = new Map<string, KubeObject[]>();
let crds: KubeObject[] = [];
let scratch = "";
let validated = 0;

/**
 * meshctl's `validate -o json` (@meshwork/config's loadResources) on one YAML text. Run from source
 * (tsx, @meshwork/source) rather than dist/, so it cannot race the other e2e suite's build of meshctl.
 */
function meshctlValidate(yamlText: string): ValidateReport {
  const file = join(scratch, `resources-${++validated}.yaml`);
  writeFileSync(file, yamlText);
  const result = spawnSync(process.execPath, ["--import", "tsx", "--conditions=@meshwork/source", "apps/meshctl/src/main.ts", "validate", "-f", file, "-o", "json"], { encoding: "utf8", cwd: repoRoot });
  if (result.status !== 0 && result.status !== 1) throw new Error(`meshctl validate failed (exit ${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout) as ValidateReport;
}

beforeAll(() => {
  requireKubectl();
  scratch = mkdtempSync(join(tmpdir(), "meshwork-k8s-"));
  for (const target of targets) rendered.set(target, renderKustomization(target));
  crds = renderKustomization("deploy/k8s/crds");
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function objectsOf(target: string): KubeObject[] {
  const objects = rendered.get(target);
  if (!objects) throw new Error(`${target} was not rendered`);
  return objects;
}

describe.each(targets)("kubectl kustomize %s", (target) => {
  it("renders objects", () => {
    expect(objectsOf(target).length).toBeGreaterThan(5);
  });

  it("validates every object against the Kubernetes schemas or our CRDs", () => {
    expect(checkSchemas(objectsOf(target), crds)).toEqual([]);
  });

  it("loads every mesh resource with @meshwork/config (meshctl validate) without errors or warnings", () => {
    expect(checkMeshResources(objectsOf(target), meshctlValidate)).toEqual([]);
  });

  it("pins every image and gives every container resources, probes and a hardened security context", () => {
    expect(checkContainers(objectsOf(target))).toEqual([]);
  });

  it("has no dangling references (selectors, named ports, service accounts, webhook service, RBAC)", () => {
    expect(checkReferences(objectsOf(target))).toEqual([]);
  });

  it("sets only settings the apps declare (or documented placeholders)", () => {
    const problems = podTemplates(objectsOf(target)).flatMap((pod) =>
      [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].flatMap((c) => checkEnvNames(`${pod.owner.metadata.name}/${c.name}`, c.image ?? "", (c.env ?? []).map((e) => e.name))),
    );
    expect(problems).toEqual([]);
  });

  it("never mentions the latest tag anywhere", () => {
    for (const object of objectsOf(target)) expect(JSON.stringify(object), object.metadata.name).not.toMatch(/:latest"/);
  });
});

describe("the mesh's control side (base)", () => {
  const base = () => objectsOf("deploy/k8s/base");

  it("puts every namespaced object in mesh-system and includes every generated CRD", () => {
    const crdNames = crds.map((c) => c.metadata.name).sort();
    expect(crdNames.length).toBeGreaterThanOrEqual(10);
    expect(base().filter((o) => o.kind === "CustomResourceDefinition").map((o) => o.metadata.name).sort()).toEqual(crdNames);
    const clusterScoped = new Set(["Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration"]);
    for (const object of base().filter((o) => !clusterScoped.has(o.kind))) expect(object.metadata.namespace, object.metadata.name).toBe("mesh-system");
  });

  it("runs the registry as 3 Raft servers with volumes, anti-affinity, a disruption budget and Raft-aware readiness", () => {
    const registry = findWorkload(base(), "StatefulSet", "registry") as KubeObject & {
      spec: { replicas: number; serviceName: string; volumeClaimTemplates: unknown[]; template: { spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution?: unknown[] } }; containers: { readinessProbe: { httpGet: { path: string } }; env: { name: string; value?: string }[] }[] } } };
    };
    expect(registry.spec.replicas).toBe(3);
    expect(registry.spec.volumeClaimTemplates).toHaveLength(1);
    expect(registry.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
    const [container] = registry.spec.template.spec.containers;
    if (!container) throw new Error("the registry StatefulSet has no container");
    expect(container.readinessProbe.httpGet.path).toBe("/readyz");
    const peers = container.env.find((e) => e.name === "MESHWORK_REGISTRY_PEERS")?.value ?? "";
    expect(peers.split(",")).toEqual([0, 1, 2].map((i) => `registry-${i}=registry-${i}.${registry.spec.serviceName}.mesh-system.svc.cluster.local:8300`));
    const headless = findWorkload(base(), "Service", registry.spec.serviceName) as KubeObject & { spec: { clusterIP: string; publishNotReadyAddresses: boolean } };
    expect(headless.spec).toMatchObject({ clusterIP: "None", publishNotReadyAddresses: true });
    const budget = findWorkload(base(), "PodDisruptionBudget", "registry") as KubeObject & { spec: { maxUnavailable: number } };
    expect(budget.spec.maxUnavailable).toBe(1);
  });

  it("runs 2 control-plane replicas and points the injector webhook at them for labelled namespaces", () => {
    expect(findWorkload(base(), "Deployment", "control-plane")?.spec.replicas).toBe(2);
    const webhook = base().find((o) => o.kind === "MutatingWebhookConfiguration") as KubeObject & { webhooks: { namespaceSelector: unknown; clientConfig: { service: { name: string; path: string } }; rules: { resources: string[]; operations: string[] }[] }[] };
    expect(webhook.webhooks[0]).toMatchObject({
      namespaceSelector: { matchLabels: { "meshwork-injection": "enabled" } },
      clientConfig: { service: { name: "control-plane", path: "/inject" } },
      rules: [{ resources: ["pods"], operations: ["CREATE"] }],
    });
  });

  it("grants the control plane read-only access and the CA only TokenReview", () => {
    const role = (name: string) => (findWorkload(base(), "ClusterRole", name) as unknown as { rules: { verbs: string[]; resources: string[] }[] }).rules;
    for (const rule of role("meshwork-control-plane")) expect(rule.verbs).toEqual(["get", "list", "watch"]);
    expect(role("meshwork-ca")).toEqual([{ apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] }]);
  });
});

describe("overlays", () => {
  it("dev runs one control plane and lets registry servers share a node", () => {
    const dev = objectsOf("deploy/k8s/overlays/dev");
    expect(findWorkload(dev, "Deployment", "control-plane")?.spec.replicas).toBe(1);
    const registry = findWorkload(dev, "StatefulSet", "registry") as unknown as { spec: { replicas: number; template: { spec: { affinity: { podAntiAffinity: Record<string, unknown> } } } } };
    expect(registry.spec.replicas).toBe(3);
    expect(Object.keys(registry.spec.template.spec.affinity.podAntiAffinity)).toEqual(["preferredDuringSchedulingIgnoredDuringExecution"]);
  });

  it("prod runs three control planes and gateways, with a gateway disruption budget", () => {
    const prod = objectsOf("deploy/k8s/overlays/prod");
    expect(findWorkload(prod, "Deployment", "control-plane")?.spec.replicas).toBe(3);
    expect(findWorkload(prod, "Deployment", "ingress-gateway")?.spec.replicas).toBe(3);
    expect(findWorkload(prod, "PodDisruptionBudget", "ingress-gateway")).toBeDefined();
  });
});

describe("samples/bookinfo", () => {
  it("labels its namespace for injection and has the four services and six workloads", () => {
    const bookinfo = objectsOf("deploy/k8s/samples/bookinfo");
    expect(findWorkload(bookinfo, "Namespace", "bookinfo")?.metadata.labels).toMatchObject({ "meshwork-injection": "enabled" });
    expect(bookinfo.filter((o) => o.kind === "Service").map((o) => o.metadata.name).sort()).toEqual(["details", "productpage", "ratings", "reviews"]);
    expect(bookinfo.filter((o) => o.kind === "Deployment").map((o) => o.metadata.name).sort()).toEqual(["details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3"]);
    expect(bookinfo.filter((o) => meshGroups.has(groupOf(o.apiVersion))).map((o) => o.kind).sort()).toEqual(["DestinationRule", "DestinationRule", "DestinationRule", "DestinationRule", "Gateway", "VirtualService"]);
  });
});

// Each check must be able to fail: one broken object per kind of mistake.
describe("the checks catch what they are for", () => {
  const brokenDeployment: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "broken", namespace: "x" },
    spec: {
      selector: { matchLabels: { app: "broken" } },
      template: { metadata: { labels: { app: "broken" } }, spec: { serviceAccountName: "ghost", containers: [{ name: "app", image: "ghcr.io/meshwork/app:latest", ports: [{ containerPort: "80" }] }] } },
    },
  };

  it("reports a schema violation, an unknown kind and a mesh kind without CRD", () => {
    const problems = checkSchemas([brokenDeployment, { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } }], crds);
    expect(problems.join("\n")).toMatch(/containerPort must be integer/);
    expect(problems.join("\n")).toMatch(/no Kubernetes schema for apiVersion example.com\/v1 kind Widget/);
    expect(checkSchemas([{ apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata: { name: "v" } }], [])[0]).toMatch(/no CustomResourceDefinition/);
  });

  it("reports unknown fields and bad values of a mesh resource against its CRD and the loader", () => {
    const virtualService: KubeObject = { apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata: { name: "v", namespace: "x" }, spec: { hosts: ["r"], http: [{ route: [{ destination: { host: "r" }, weight: "x" }], tiemout: "1s" }] } };
    expect(checkSchemas([virtualService], crds).join("\n")).toMatch(/spec\.http\[0\]\.tiemout: unknown field/);
    const twoMatches: KubeObject = { ...virtualService, spec: { hosts: ["r"], http: [{ match: [{ uri: { exact: "/a", prefix: "/b" } }], route: [{ destination: { host: "r" } }] }] } };
    expect(checkSchemas([twoMatches], crds).join("\n")).toMatch(/spec\.http\[0\]\.match\[0\]\.uri: must match exactly one of the allowed forms/);
    expect(checkMeshResources([virtualService], meshctlValidate).join("\n")).toMatch(/tiemout/);
  });

  it("reports latest, missing resources, probes and hardening", () => {
    const problems = checkContainers([brokenDeployment]).join("\n");
    for (const expected of [/uses the latest tag/, /resources\.requests/, /readinessProbe/, /livenessProbe/, /readOnlyRootFilesystem/, /non-root/, /seccompProfile/]) expect(problems).toMatch(expected);
  });

  it("reports a Service selecting nothing and a missing service account", () => {
    const service: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "s", namespace: "x" }, spec: { selector: { app: "nobody" }, ports: [{ port: 80 }] } };
    const problems = checkReferences([brokenDeployment, service]).join("\n");
    expect(problems).toMatch(/matches no pod template/);
    expect(problems).toMatch(/serviceAccountName ghost/);
  });
});
