// Service discovery from Kubernetes: Services and their EndpointSlices as catalog instances (the
// shape the registry's catalog has, so the ConfigStore and the push need nothing new). One
// instance per endpoint address and slice port; ready endpoints are passing, others critical.
// The protocol comes from the port's appProtocol or Istio's port-name prefix (http-, grpc-, ...);
// an endpoint backed by a known Pod carries that pod's labels (version=v2: DestinationRule
// subsets) and service account; every instance carries its Service's cluster IPs (meta
// `cluster-ip`: the service's addresses, which the sidecar's DNS proxy answers); an endpoint's
// `hostname` (a pod with `spec.hostname` under its headless Service) becomes the
// `meshwork.io/pod-hostname` label, which the DNS proxy answers as `<hostname>.<service host>`. Pure.
import { podHostnameLabel, type CatalogInstance } from "@meshwork/proxy-core";

export interface ServiceLike {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly spec?: {
    readonly ports?: readonly { readonly name?: string; readonly port: number; readonly appProtocol?: string }[];
    /** "None" for a headless Service. */
    readonly clusterIP?: string;
    /** Dual-stack: both families' cluster IPs, clusterIP first. */
    readonly clusterIPs?: readonly string[];
  };
}

export interface EndpointSliceLike {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly addressType?: string;
  readonly endpoints?: readonly {
    readonly addresses: readonly string[];
    /** Set by Kubernetes for a pod with `spec.hostname` whose `spec.subdomain` is the Service's name. */
    readonly hostname?: string;
    readonly conditions?: { readonly ready?: boolean; readonly serving?: boolean; readonly terminating?: boolean };
    readonly nodeName?: string;
    readonly zone?: string;
    readonly targetRef?: { readonly kind?: string; readonly name?: string };
  }[];
  readonly ports?: readonly { readonly name?: string; readonly port?: number; readonly protocol?: string; readonly appProtocol?: string }[];
}

export interface PodLike {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: { readonly serviceAccountName?: string };
}

/** Pod labels that say nothing about the workload and would only split equal instances. */
const ignoredPodLabels = new Set(["pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name", "pod-template-generation"]);

/** The label EndpointSlices carry naming their Service. */
export const serviceNameLabel = "kubernetes.io/service-name";

const knownProtocols = new Set(["http", "http2", "grpc", "tcp", "tls", "https"]);

/** Catalog instances of every Service with EndpointSlices (sorted, so equal states compare equal). */
export function endpointSlicesToCatalog(services: readonly ServiceLike[], slices: readonly EndpointSliceLike[], pods: readonly PodLike[] = []): CatalogInstance[] {
  const podsByKey = new Map<string, PodLike>();
  for (const pod of pods) podsByKey.set(`${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`, pod);
  const servicePorts = new Map<string, NonNullable<NonNullable<ServiceLike["spec"]>["ports"]>>();
  const clusterIps = new Map<string, string>();
  for (const service of services) {
    const key = `${service.metadata?.namespace ?? ""}/${service.metadata?.name ?? ""}`;
    servicePorts.set(key, service.spec?.ports ?? []);
    const ips = (service.spec?.clusterIPs ?? (service.spec?.clusterIP === undefined ? [] : [service.spec.clusterIP])).filter((ip) => ip !== "" && ip !== "None");
    if (ips.length > 0) clusterIps.set(key, ips.join(","));
  }
  const instances: CatalogInstance[] = [];
  for (const slice of slices) {
    const namespace = slice.metadata?.namespace ?? "default";
    const serviceName = slice.metadata?.labels?.[serviceNameLabel];
    if (serviceName === undefined || (slice.addressType !== undefined && slice.addressType !== "IPv4")) continue;
    const ports = servicePorts.get(`${namespace}/${serviceName}`);
    if (ports === undefined) continue; // a slice whose Service is gone (or not yet seen)
    const clusterIp = clusterIps.get(`${namespace}/${serviceName}`);
    for (const endpoint of slice.endpoints ?? []) {
      const ready = endpoint.conditions?.ready !== false;
      const pod = endpoint.targetRef?.kind === "Pod" ? podsByKey.get(`${namespace}/${endpoint.targetRef.name ?? ""}`) : undefined;
      const podMeta: Record<string, string> = {};
      for (const [key, value] of Object.entries(pod?.metadata?.labels ?? {})) if (!ignoredPodLabels.has(key)) podMeta[key] = value;
      if (pod?.spec?.serviceAccountName) podMeta["service-account"] = pod.spec.serviceAccountName;
      if (endpoint.hostname) podMeta[podHostnameLabel] = endpoint.hostname;
      for (const address of endpoint.addresses) {
        for (const port of slice.ports ?? []) {
          if (port.port === undefined || (port.protocol ?? "TCP") !== "TCP") continue;
          const servicePort = ports.find((p) => (p.name ?? "") === (port.name ?? ""));
          const protocol = protocolOf(port.appProtocol ?? servicePort?.appProtocol, port.name ?? servicePort?.name);
          instances.push({
            node: endpoint.nodeName ?? "",
            nodeAddress: address,
            serviceId: `${namespace}/${endpoint.targetRef?.name ?? address}/${port.port}`,
            serviceName,
            address,
            port: port.port,
            tags: [],
            meta: { ...podMeta, namespace, ...(protocol ? { protocol } : {}), ...(clusterIp === undefined ? {} : { "cluster-ip": clusterIp }) },
            health: ready ? "passing" : "critical",
          });
        }
      }
    }
  }
  return instances.sort((a, b) => (a.serviceId < b.serviceId ? -1 : a.serviceId > b.serviceId ? 1 : 0));
}

function protocolOf(appProtocol: string | undefined, portName: string | undefined): string | undefined {
  if (appProtocol !== undefined) {
    const normalised = appProtocol.toLowerCase().replace(/^kubernetes\.io\//, "");
    if (normalised === "h2c") return "http2";
    if (knownProtocols.has(normalised)) return normalised;
  }
  const prefix = (portName ?? "").split("-")[0]?.toLowerCase() ?? "";
  return knownProtocols.has(prefix) ? prefix : undefined;
}
