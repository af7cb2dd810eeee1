// Kubernetes as a config source and a service-discovery source for the control plane, through the
// real @kubernetes/client-node: one ListWatch (list, then watch from the list's resourceVersion)
// per mesh kind (Namespaces too, for their labels), plus Services, EndpointSlices and Pods (their labels). Each change delivers the whole state of its
// side (config entries, or catalog instances), like the registry and directory sources do.
//   - resourceVersion: watches resume from the last one seen (events and bookmarks); a watch
//     that ends is re-opened from there without a re-list.
//   - 410 Gone (an ERROR event or the HTTP status): the client forgets the resourceVersion and
//     re-lists; objects deleted meanwhile are dropped from the cache.
//   - other errors stop a ListWatch: it is restarted after retryMs, resuming the watch from its
//     resourceVersion (a 410 then re-lists), or listing again if it never listed.
//   - resync: every resyncMs the cached state is delivered again (client-go's resync: it heals a
//     consumer that missed a delivery; it does not re-list).
// Lists are paged (limit/continue) so large clusters are read in bounded responses.
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from "@kubernetes/client-node";
import type { CatalogInstance } from "@meshwork/proxy-core";
import type { Logger } from "@meshwork/telemetry";
import { endpointSlicesToCatalog, type EndpointSliceLike, type PodLike, type ServiceLike } from "./endpoint-slices-to-catalog.ts";
import { toConfigEntry, type ConfigEntryText, type KubernetesResource } from "./to-config-entry.ts";
import { endpointSlicesResource, meshResources, podsResource, servicesResource, type WatchedResource } from "./watched-resources.ts";

export interface KubernetesSourcesOptions {
  readonly kubeConfig: KubeConfig;
  /** The whole mesh config read from the CRDs, after every change (and at each resync). */
  readonly onConfig: (entries: readonly ConfigEntryText[]) => void;
  /** The whole catalog from Services + EndpointSlices (+ Pods' labels); omit to not watch them. */
  readonly onCatalog?: (instances: readonly CatalogInstance[]) => void;
  readonly logger?: Logger;
  /** Re-deliver the cached state this often (default 5 min; 0 turns it off). */
  readonly resyncMs?: number;
  /** Restart a ListWatch that failed after this long (default 1 s). */
  readonly retryMs?: number;
  /** Items per list page (default 500). */
  readonly pageSize?: number;
}

export interface KubernetesSources {
  /** Resolves once every collection was listed (its first state delivered). */
  readonly synced: Promise<void>;
  /** resourceVersion each collection last saw, by API path (for status pages and tests). */
  resourceVersions(): Record<string, string>;
  /** The cached objects of a watched collection by its API path, as the API server sent them (status and all); empty for one not watched. */
  objects(path: string): readonly KubernetesObject[];
  stop(): Promise<void>;
}

type ListPage = { readonly items?: unknown[]; readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string; readonly _continue?: string } };

/** Starts listing and watching; call stop() to end every watch and timer. */
export function startKubernetesSources(options: KubernetesSourcesOptions): KubernetesSources {
  const { kubeConfig, logger } = options;
  const retryMs = options.retryMs ?? 1000;
  const pageSize = options.pageSize ?? 500;
  const watch = new Watch(kubeConfig);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
  let stopped = false;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  /** Optional collections (CRD not installed) found missing by their last list. */
  const absent = new Set<string>();
  const announced = new Set<string>();

  const mesh = meshResources().map((resource) => ({
    resource,
    informer: makeListWatch(resource, async (cont) => {
      // Kubernetes' own kind among the mesh kinds (core Namespace, for its labels) is not a custom resource.
      if (resource.group === "") {
        if (resource.plural !== "namespaces") throw new Error(`no core list call for ${resource.path}`);
        return (await core.listNamespace({ limit: pageSize, _continue: cont })) as ListPage;
      }
      try {
        return (await custom.listClusterCustomObject({ group: resource.group, version: resource.version, plural: resource.plural, limit: pageSize, _continue: cont })) as ListPage;
      } catch (error) {
        // The Gateway API's CRDs may not be installed: their collections are empty, re-checked slowly.
        if (resource.optional === true && (error as { code?: unknown }).code === 404) {
          if (!announced.has(resource.path)) logger?.info("collection not installed; treated as empty", { path: resource.path });
          announced.add(resource.path);
          absent.add(resource.path);
          return { items: [], metadata: { resourceVersion: "0" } };
        }
        throw error;
      }
    }),
  }));
  const discoveryInformers = options.onCatalog
    ? {
        services: makeListWatch(servicesResource, (cont) => core.listServiceForAllNamespaces({ limit: pageSize, _continue: cont }) as Promise<ListPage>),
        slices: makeListWatch(endpointSlicesResource, (cont) => discovery.listEndpointSliceForAllNamespaces({ limit: pageSize, _continue: cont }) as Promise<ListPage>),
        pods: makeListWatch(podsResource, (cont) => core.listPodForAllNamespaces({ limit: pageSize, _continue: cont }) as Promise<ListPage>),
      }
    : undefined;
  const all = [...mesh.map((m) => m.informer), ...(discoveryInformers ? [discoveryInformers.services, discoveryInformers.slices, discoveryInformers.pods] : [])];
  const paths = [...mesh.map((m) => m.resource.path), ...(discoveryInformers ? [servicesResource.path, endpointSlicesResource.path, podsResource.path] : [])];
  const pathOf = (index: number): string | undefined => paths[index];

  let configDirty = false;
  let catalogDirty = false;
  let flushScheduled = false;
  let ready = false;
  let markSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));

  function deliverConfig(): void {
    const entries = mesh.flatMap(({ resource, informer }) =>
      informer.list().map((object) => toConfigEntry(object as KubernetesResource, { apiVersion: resource.group === "" ? resource.version : `${resource.group}/${resource.version}`, kind: resource.kind })),
    );
    options.onConfig(entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)));
  }

  function deliverCatalog(): void {
    if (!discoveryInformers || !options.onCatalog) return;
    options.onCatalog(endpointSlicesToCatalog(discoveryInformers.services.list() as ServiceLike[], discoveryInformers.slices.list() as EndpointSliceLike[], discoveryInformers.pods.list() as PodLike[]));
  }

  // A re-list or a burst of events delivers once, after the current I/O callbacks.
  function scheduleFlush(): void {
    if (flushScheduled || !ready) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      if (stopped) return;
      if (configDirty) deliverConfig();
      if (catalogDirty) deliverCatalog();
      configDirty = false;
      catalogDirty = false;
    });
  }

  function makeListWatch(resource: WatchedResource, page: (cont: string | undefined) => Promise<ListPage>): ListWatch<KubernetesObject> {
    const listAll = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const items: KubernetesObject[] = [];
      let resourceVersion: string | undefined;
      let cont: string | undefined;
      do {
        const result = await page(cont);
        items.push(...((result.items ?? []) as KubernetesObject[]));
        resourceVersion ??= result.metadata?.resourceVersion;
        cont = result.metadata?.continue ?? result.metadata?._continue;
        if (cont === "") cont = undefined;
      } while (cont !== undefined);
      logger?.debug("listed", { path: resource.path, items: items.length, resourceVersion });
      return { apiVersion: "v1", kind: "List", metadata: { resourceVersion }, items };
    };
    const informer = new ListWatch<KubernetesObject>(resource.path, watch, listAll, false);
    const isMesh = resource !== servicesResource && resource !== endpointSlicesResource && resource !== podsResource;
    informer.on("change", () => {
      if (isMesh) configDirty = true;
      else catalogDirty = true;
      scheduleFlush();
    });
    informer.on("error", (error?: unknown) => {
      if (stopped) return;
      const missing = absent.has(resource.path);
      if (!missing) logger?.warn("list/watch failed; restarting", { path: resource.path, err: error, retryMs });
      absent.delete(resource.path);
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!stopped) void informer.start();
      }, missing ? Math.max(retryMs, 30_000) : retryMs);
      timers.add(timer);
    });
    return informer;
  }

  void (async () => {
    await Promise.all(all.map((informer) => informer.start()));
    // A collection whose first list failed is retried by its error handler; wait for all of them.
    while (!stopped && all.some((informer) => informer.latestResourceVersion() === "")) await new Promise((resolve) => setTimeout(resolve, Math.min(retryMs, 50)));
    if (stopped) return;
    ready = true;
    deliverConfig();
    deliverCatalog();
    configDirty = false;
    catalogDirty = false;
    logger?.info("kubernetes sources synced", { collections: all.length });
    markSynced();
  })();

  const resyncMs = options.resyncMs ?? 300_000;
  const resync = resyncMs > 0 ? setInterval(() => {
    if (!ready || stopped) return;
    deliverConfig();
    deliverCatalog();
  }, resyncMs) : undefined;

  return {
    synced,
    resourceVersions: () => Object.fromEntries([...mesh.map((m) => [m.resource.path, m.informer] as const), ...(discoveryInformers ? [[servicesResource.path, discoveryInformers.services] as const, [endpointSlicesResource.path, discoveryInformers.slices] as const, [podsResource.path, discoveryInformers.pods] as const] : [])].map(([path, informer]) => [path, informer.latestResourceVersion()])),
    objects: (path) => all.find((_, i) => pathOf(i) === path)?.list() ?? [],
    stop: async () => {
      stopped = true;
      if (resync) clearInterval(resync);
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(all.map((informer) => informer.stop()));
    },
  };
}
