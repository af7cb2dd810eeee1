// The control plane's admin and config API (issue 8): health, readiness, Prometheus metrics, the
// istiod-style debug pages, and the config write API meshctl apply/get/delete will use.
import type { MeshResource } from "@meshwork/config";
import { formatIssue } from "@meshwork/config";
import type { ConfigStore } from "../config-store/config-store.ts";
import type { RegistryKv } from "../adapters/registry-kv.ts";
import { configKey } from "../core/config-key.ts";
import { describeProxyResources } from "../core/describe-proxy-resources.ts";
import { prepareApply } from "../core/prepare-apply.ts";
import type { DiscoveryServer } from "../push/discovery-server.ts";
import type { ControlPlaneMetrics } from "./control-plane-metrics.ts";
import { AdminRouter, type AdminReply, type AdminRequest } from "./admin-router.ts";

export interface AdminDeps {
  readonly store: ConfigStore;
  readonly discovery: DiscoveryServer;
  readonly metrics: ControlPlaneMetrics;
  /** Where applied config is written; undefined when the control plane runs on a directory only (writes refused). */
  readonly kv: RegistryKv | undefined;
  /** False from the moment a stop begins. */
  readonly isServing: () => boolean;
  readonly defaultNamespace: string;
  readonly controlPlaneId: string;
}

export function adminRoutes(deps: AdminDeps): AdminRouter {
  const router = new AdminRouter();
  const ready = (): AdminReply =>
    deps.store.isReady && deps.isServing() ? { status: 200, body: "ready\n" } : { status: 503, body: deps.isServing() ? "waiting for the first config and catalog from the registry\n" : "stopping\n" };
  router.add("GET", "/healthz", () => ({ status: 200, body: "ok\n" }));
  router.add("GET", "/ready", ready);
  router.add("GET", "/readyz", ready);
  router.add("GET", "/metrics", async () => ({ status: 200, body: await deps.metrics.registry.metrics(), contentType: deps.metrics.registry.contentType }));
  router.add("GET", "/debug/syncz", () => ({
    status: 200,
    body: deps.discovery.status().map((s) => ({
      proxy: s.node.id,
      namespace: s.node.namespace,
      workload: s.node.workload,
      kind: s.node.kind,
      controlPlane: s.controlPlaneId,
      revision: s.revision,
      state: s.state,
      types: s.types,
    })),
  }));
  router.add("GET", "/debug/push_status", () => {
    const admission = deps.store.admission;
    return {
      status: 200,
      body: {
        controlPlane: deps.controlPlaneId,
        ready: deps.store.isReady,
        revision: deps.store.snapshot.revision,
        resources: deps.store.snapshot.resources.length,
        catalogInstances: deps.store.catalog.instances.length,
        connectedProxies: deps.discovery.connectedProxies,
        proxies: countStates(deps.discovery.status().map((s) => s.state)),
        rejectedConfig: admission.rejected.map((r) => ({ source: r.source, key: r.key, keptLastGood: r.keptLastGood, errors: r.issues.map(formatIssue) })),
        analysis: deps.store.analysis().map(formatIssue),
      },
    };
  });
  router.add("GET", "/debug/config_dump", (request) => {
    const proxy = request.query.get("proxy");
    if (proxy === null || proxy === "") return { status: 400, body: { error: "missing ?proxy=ID (the node id of a proxy connected to this replica; /debug/syncz lists them)" } };
    const computed = deps.discovery.configOf(proxy);
    if (computed === undefined) return { status: 404, body: { error: `proxy "${proxy}" is not connected to this replica (${deps.controlPlaneId}); /debug/syncz lists the connected ones` } };
    if (request.query.get("format") === "text") return { status: 200, body: `${describeProxyResources(computed.resources).join("\n")}\n` };
    return { status: 200, body: { proxy, sidecar: computed.sidecar, issues: computed.issues, resources: computed.resources } };
  });

  // Config API: /api/v1/config[/<Kind>[/<namespace>[/<name>]]].
  const list = (request: AdminRequest): AdminReply => {
    const { kind, namespace, name } = request.params;
    const found = deps.store.snapshot.resources.filter(
      (r) => (kind === undefined || r.kind === kind) && (namespace === undefined || r.metadata.namespace === namespace) && (name === undefined || r.metadata.name === name),
    );
    if (name !== undefined && found.length === 0) return { status: 404, body: { error: `${kind}/${namespace}/${name} is not in the serving config (revision ${deps.store.snapshot.revision})` } };
    return { status: 200, body: { revision: deps.store.snapshot.revision, resources: found.map(withoutSource) } };
  };
  router.add("GET", "/api/v1/config", list);
  router.add("GET", "/api/v1/config/:kind", list);
  router.add("GET", "/api/v1/config/:kind/:namespace", list);
  router.add("GET", "/api/v1/config/:kind/:namespace/:name", list);
  const apply = async (request: AdminRequest): Promise<AdminReply> => {
    const prepared = prepareApply(request.body, { defaultNamespace: request.query.get("namespace") || deps.defaultNamespace, current: deps.store.snapshot.resources, catalog: deps.store.analysisCatalog(), path: "<request>" });
    if (!prepared.ok) return { status: 400, body: { error: "rejected: nothing was written", issues: prepared.issues, messages: prepared.issues.map(formatIssue) } };
    const dryRun = request.query.get("dryRun") === "true";
    if (!dryRun) {
      if (deps.kv === undefined) return { status: 409, body: { error: "this control plane reads config from a directory only; edit the files, or start it with --registry-http to apply through the API" } };
      for (const write of prepared.writes) await deps.kv.put(write.key, write.value);
    }
    return {
      status: 200,
      body: { dryRun, applied: prepared.writes.map((w) => ({ kind: w.kind, namespace: w.namespace, name: w.name, key: w.key })), warnings: prepared.warnings.map(formatIssue) },
    };
  };
  router.add("POST", "/api/v1/config", apply);
  router.add("PUT", "/api/v1/config", apply);
  router.add("DELETE", "/api/v1/config/:kind/:namespace/:name", async (request) => {
    const { kind = "", namespace = "", name = "" } = request.params;
    if (deps.kv === undefined) return { status: 409, body: { error: "this control plane reads config from a directory only; delete the file instead" } };
    const key = configKey({ kind, namespace, name });
    const deleted = await deps.kv.delete(key);
    return deleted ? { status: 200, body: { deleted: { kind, namespace, name, key } } } : { status: 404, body: { error: `${kind}/${namespace}/${name} is not in the registry (key ${key})` } };
  });
  return router;
}

function withoutSource(r: MeshResource): Omit<MeshResource, "source"> {
  const { source: _source, ...rest } = r;
  return rest;
}

function countStates(states: readonly string[]): Record<string, number> {
  const out: Record<string, number> = { SYNCED: 0, STALE: 0, NACKED: 0 };
  for (const s of states) out[s] = (out[s] ?? 0) + 1;
  return out;
}
