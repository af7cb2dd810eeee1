// Publishes the mesh root into every namespace as the ConfigMap `meshwork-ca-root-cert` (Istio's
// namespace controller and istio-ca-root-cert), through the real @kubernetes/client-node, and keeps
// it so: injected sidecars mount it to trust the CA before they have an SVID.
//   - a ListWatch on namespaces enqueues every namespace (added, or changed);
//   - a ListWatch on the ConfigMaps of that name (fieldSelector metadata.name) enqueues the
//     namespace of one that was edited or deleted, so the root is put back;
//   - setRoot() (root rotation) and every resyncMs enqueue all namespaces;
//   - one worker reconciles a namespace at a time: GET, then create (404) or replace with the
//     read resourceVersion (a 409 from a concurrent writer is retried at once, other errors after
//     retryMs). kube-system, kube-public, kube-node-lease and terminating namespaces are skipped.
// Needs RBAC: namespaces get/list/watch; configmaps get/list/watch/create/update (cluster-wide).
import { ApiException, CoreV1Api, ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1ConfigMap } from "@kubernetes/client-node";
import type { Logger } from "@meshwork/telemetry";
import { caRootConfigMapName, planCaRootConfigMap, type ConfigMapLike } from "./plan-ca-root-config-map.ts";

/** Namespaces Istio never publishes into. */
export const defaultExcludedNamespaces: readonly string[] = ["kube-system", "kube-public", "kube-node-lease"];

export interface CaRootPublisherOptions {
  readonly kubeConfig: KubeConfig;
  /** The mesh root(s), PEM: what the CA's trust bundle holds (both roots during a rotation). */
  readonly rootCertPem: string;
  readonly configMapName?: string;
  readonly excludedNamespaces?: readonly string[];
  readonly logger?: Logger;
  /** Retry a failed namespace (and restart a failed ListWatch) after this long (default 1 s). */
  readonly retryMs?: number;
  /** Reconcile every namespace this often (default 5 min; 0 turns it off). */
  readonly resyncMs?: number;
}

export interface CaRootPublisher {
  /** Resolves once every namespace present at start holds the root. */
  readonly synced: Promise<void>;
  /** Publishes a new root (rotation) to every namespace. */
  setRoot(rootCertPem: string): void;
  stop(): Promise<void>;
}

interface NamespaceLike extends KubernetesObject {
  readonly status?: { readonly phase?: string };
}

/** Starts publishing; call stop() to end the watches, the worker's retries and the resync. */
export function startCaRootPublisher(options: CaRootPublisherOptions): CaRootPublisher {
  const { kubeConfig, logger } = options;
  const name = options.configMapName ?? caRootConfigMapName;
  const excluded = new Set(options.excludedNamespaces ?? defaultExcludedNamespaces);
  const retryMs = options.retryMs ?? 1000;
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const watch = new Watch(kubeConfig);
  let rootCertPem = options.rootCertPem;
  let stopped = false;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, run: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) run();
    }, ms);
    timers.add(timer);
  };

  const namespaces = new ListWatch<NamespaceLike>("/api/v1/namespaces", watch, () => core.listNamespace() as Promise<KubernetesListObject<NamespaceLike>>, false);
  const configMaps = new ListWatch<KubernetesObject>(
    "/api/v1/configmaps",
    watch,
    () => core.listConfigMapForAllNamespaces({ fieldSelector: `metadata.name=${name}` }) as Promise<KubernetesListObject<KubernetesObject>>,
    false,
    undefined,
    `metadata.name=${name}`,
  );
  for (const informer of [namespaces, configMaps] as ListWatch<KubernetesObject>[]) {
    informer.on("error", (error?: unknown) => {
      if (stopped) return;
      logger?.warn("list/watch for the mesh root ConfigMaps failed; restarting", { err: error, retryMs });
      later(retryMs, () => void informer.start());
    });
  }
  const enqueueObject = (object: KubernetesObject): void => enqueue(object.metadata?.namespace === undefined ? object.metadata?.name : object.metadata.namespace);
  namespaces.on("add", enqueueObject);
  namespaces.on("update", enqueueObject);
  configMaps.on("update", enqueueObject);
  configMaps.on("delete", enqueueObject);

  // The work queue: a namespace is in `pending` at most once; one reconcile runs at a time.
  const pending = new Set<string>();
  let working = false;
  let started = false;
  let waitingForSync: Set<string> | undefined;
  let markSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));

  function enqueue(namespace: string | undefined): void {
    if (namespace === undefined || excluded.has(namespace) || stopped) return;
    pending.add(namespace);
    if (started) void work();
  }

  function enqueueAll(): void {
    for (const namespace of namespaces.list()) enqueue(namespace.metadata?.name);
  }

  async function work(): Promise<void> {
    if (working) return;
    working = true;
    try {
      while (!stopped && pending.size > 0) {
        const namespace = pending.values().next().value as string;
        pending.delete(namespace);
        const outcome = await reconcile(namespace).catch((error: unknown) => {
          logger?.warn("publishing the mesh root failed; retrying", { namespace, configMap: name, err: error, retryMs });
          later(retryMs, () => enqueue(namespace));
          return "failed" as const;
        });
        if (outcome === "conflict") pending.add(namespace);
        if (outcome === "done" && waitingForSync?.delete(namespace) && waitingForSync.size === 0) markSynced();
      }
    } finally {
      working = false;
    }
  }

  async function reconcile(namespace: string): Promise<"done" | "conflict"> {
    const current = namespaces.get(namespace);
    if (current === undefined || current.status?.phase === "Terminating") return "done"; // gone or going: nothing to keep there
    let existing: ConfigMapLike | undefined;
    try {
      existing = (await core.readNamespacedConfigMap({ name, namespace })) as ConfigMapLike;
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 404)) throw error;
    }
    const plan = planCaRootConfigMap(existing, { namespace, name, rootCertPem });
    try {
      if (plan.type === "create") await core.createNamespacedConfigMap({ namespace, body: plan.body as V1ConfigMap });
      else if (plan.type === "replace") await core.replaceNamespacedConfigMap({ name, namespace, body: plan.body as V1ConfigMap });
    } catch (error) {
      // Someone created or changed it between our read and write: read again.
      if (error instanceof ApiException && error.code === 409) return "conflict";
      throw error;
    }
    if (plan.type !== "none") logger?.info(plan.type === "create" ? "published the mesh root" : "updated the mesh root", { namespace, configMap: name });
    return "done";
  }

  void (async () => {
    await Promise.all([namespaces.start(), configMaps.start()]);
    // A ListWatch whose first list failed is restarted by its error handler; wait for both.
    while (!stopped && (namespaces.latestResourceVersion() === "" || configMaps.latestResourceVersion() === "")) await new Promise((resolve) => setTimeout(resolve, Math.min(retryMs, 50)));
    if (stopped) return;
    waitingForSync = new Set(namespaces.list().map((n) => n.metadata?.name ?? "").filter((n) => n !== "" && !excluded.has(n)));
    if (waitingForSync.size === 0) markSynced();
    started = true;
    enqueueAll();
    void work();
  })();

  const resyncMs = options.resyncMs ?? 300_000;
  const resync = resyncMs > 0 ? setInterval(() => started && enqueueAll(), resyncMs) : undefined;

  return {
    synced,
    setRoot(pem) {
      if (pem === rootCertPem) return;
      rootCertPem = pem;
      if (started) enqueueAll();
    },
    stop: async () => {
      stopped = true;
      if (resync) clearInterval(resync);
      for (const timer of timers) clearTimeout(timer);
      await Promise.all([namespaces.stop(), configMaps.stop()]);
    },
  };
}
