// Turns the registry's catalog (Consul-style service instances) into the Istio inputs the proxy
// compiler already understands: one ServiceEntry per service and one WorkloadEntry per routable
// instance, so registry services and ServiceEntries/WorkloadEntries from config compile alike.
import type { MeshResource } from "@meshwork/config";

/** One registered instance, as mesh.registry.v1 ServiceInstance carries it. */
export interface CatalogInstance {
  readonly node: string;
  readonly nodeAddress: string;
  /** Unique on its node; the WorkloadEntry's name (a proxy names it as its `workload`). */
  readonly serviceId: string;
  readonly serviceName: string;
  /** "" means the node's address. */
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  /** Labels (app, version, ...) plus the reserved keys of `catalogMetaKeys`. */
  readonly meta: Readonly<Record<string, string>>;
  /** Consul's aggregate: "passing", "warning" or "critical". */
  readonly health: string;
}

/** The registry's services at one moment. */
export interface MeshCatalog {
  readonly instances: readonly CatalogInstance[];
}

/**
 * Instance meta keys with a meaning (not copied into labels): the Kubernetes-style namespace
 * (default `default`), the port protocol (`http`, `http2`, `grpc`, `tcp`, `tls`; default `http`),
 * the service account, the locality (`region/zone/subzone`), an explicit host name (default
 * `<service>.<namespace>.svc.<domainSuffix>`) and the service's virtual addresses (a Kubernetes
 * Service's cluster IPs, comma-separated; they become the ServiceEntry's `addresses`, which the
 * sidecar's DNS proxy answers and its TCP routing attributes to the service).
 */
export const catalogMetaKeys = {
  namespace: "namespace",
  protocol: "protocol",
  serviceAccount: "service-account",
  locality: "locality",
  hostname: "hostname",
  clusterIp: "cluster-ip",
} as const;

/** The label every catalog WorkloadEntry carries and its ServiceEntry selects on. */
export const catalogServiceLabel = "meshwork.io/service";

export interface CatalogResources {
  readonly serviceEntries: MeshResource<"ServiceEntry">[];
  readonly workloadEntries: MeshResource<"WorkloadEntry">[];
  /** By `namespace/service`: the instances' content and what they became (reused by the next call, see `previous`). */
  readonly byService?: ReadonlyMap<string, CatalogService>;
}

/** One service's part of CatalogResources, with the content of the instances it was made from. */
export interface CatalogService {
  readonly key: string;
  readonly serviceEntry: MeshResource<"ServiceEntry">;
  readonly workloadEntries: readonly MeshResource<"WorkloadEntry">[];
}

const istioProtocols: Readonly<Record<string, string>> = { http: "HTTP", http2: "HTTP2", grpc: "GRPC", tcp: "TCP", tls: "TLS", https: "HTTPS" };
const reservedMeta: ReadonlySet<string> = new Set(Object.values(catalogMetaKeys));

/**
 * The ServiceEntries (sorted by namespace and service name) and WorkloadEntries (by namespace and
 * instance id) of the catalog. Each ServiceEntry lists its instances inline (`endpoints`) and also
 * selects them by `meshwork.io/service` (for the inbound ports of a proxy of the service); the
 * WorkloadEntries name the instances (a proxy's `workload`). A service's ports are the distinct ports of its instances; only
 * passing and warning instances become WorkloadEntries (critical ones are not routed to, as Consul
 * DNS does), but a service whose instances are all critical keeps its ServiceEntry, so callers get
 * 503 "no healthy upstream" rather than "no route". Pure.
 */
export function catalogResources(catalog: MeshCatalog, options: { readonly domainSuffix: string }, previous?: CatalogResources): CatalogResources {
  const services = new Map<string, { name: string; namespace: string; instances: CatalogInstance[] }>();
  for (const instance of catalog.instances) {
    const namespace = instance.meta[catalogMetaKeys.namespace] || "default";
    const key = `${namespace}/${instance.serviceName}`;
    let service = services.get(key);
    if (!service) {
      service = { name: instance.serviceName, namespace, instances: [] };
      services.set(key, service);
    }
    service.instances.push(instance);
  }
  const serviceEntries: MeshResource<"ServiceEntry">[] = [];
  const workloadEntries: MeshResource<"WorkloadEntry">[] = [];
  const byService = new Map<string, CatalogService>();
  for (const key of [...services.keys()].sort()) {
    const service = services.get(key);
    if (!service) continue;
    const instances = [...service.instances].sort((a, b) => compare(a.serviceId, b.serviceId) || compare(a.node, b.node));
    // An unchanged service keeps its very objects, so the compilers' identity caches keep what was built from them.
    const content = `${options.domainSuffix}\0${JSON.stringify(instances)}`;
    const earlier = previous?.byService?.get(key);
    if (earlier !== undefined && earlier.key === content) {
      byService.set(key, earlier);
      serviceEntries.push(earlier.serviceEntry);
      workloadEntries.push(...earlier.workloadEntries);
      continue;
    }
    const first = instances[0];
    const protocol = (first?.meta[catalogMetaKeys.protocol] ?? "http").toLowerCase();
    const istioProtocol = istioProtocols[protocol] ?? "HTTP";
    const portName = (port: number): string => `${istioProtocol.toLowerCase()}-${port}`;
    const ports = [...new Set(instances.map((i) => i.port))].sort((a, b) => a - b);
    const host = (first?.meta[catalogMetaKeys.hostname] || `${service.name}.${service.namespace}.svc.${options.domainSuffix}`).toLowerCase();
    const addresses = (first?.meta[catalogMetaKeys.clusterIp] ?? "").split(",").map((a) => a.trim()).filter((a) => a !== "");
    const names = new Set<string>();
    const serviceWorkloads: MeshResource<"WorkloadEntry">[] = [];
    for (const instance of instances) {
      if (instance.health === "critical") continue;
      const name = names.has(instance.serviceId) ? `${instance.serviceId}.${instance.node}` : instance.serviceId;
      names.add(name);
      const labels: Record<string, string> = {};
      for (const k of Object.keys(instance.meta).sort()) if (!reservedMeta.has(k)) labels[k] = instance.meta[k] ?? "";
      labels[catalogServiceLabel] = service.name;
      const serviceAccount = instance.meta[catalogMetaKeys.serviceAccount];
      const locality = instance.meta[catalogMetaKeys.locality];
      const workload = {
        apiVersion: "networking.istio.io/v1",
        kind: "WorkloadEntry",
        metadata: { name, namespace: service.namespace },
        spec: {
          address: instance.address || instance.nodeAddress,
          ports: { [portName(instance.port)]: instance.port },
          labels,
          ...(serviceAccount ? { serviceAccount } : {}),
          ...(locality ? { locality } : {}),
        },
      } as MeshResource<"WorkloadEntry">;
      serviceWorkloads.push(workload);
      workloadEntries.push(workload);
    }
    const serviceEntry = {
      apiVersion: "networking.istio.io/v1",
      kind: "ServiceEntry",
      metadata: { name: `catalog.${service.name}`, namespace: service.namespace },
      spec: {
        hosts: [host],
        ...(addresses.length > 0 ? { addresses } : {}),
        ports: ports.map((number) => ({ number, name: portName(number), protocol: istioProtocol })),
        location: "MESH_INTERNAL",
        resolution: "STATIC",
        // Inline endpoints (the same specs as the WorkloadEntries) so compiling clusters does not match
        // every WorkloadEntry against every service; the selector still gives the inbound ports.
        endpoints: serviceWorkloads.map((we) => we.spec),
        workloadSelector: { labels: { [catalogServiceLabel]: service.name } },
      },
    } as MeshResource<"ServiceEntry">;
    serviceEntries.push(serviceEntry);
    byService.set(key, { key: content, serviceEntry, workloadEntries: serviceWorkloads });
  }
  return { serviceEntries, workloadEntries, byService };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
