// Gathers what planGatewayStatus reads from the running control plane: the Gateway API objects
// and Services as the Kubernetes watches cached them (with generation, resourceVersion and status,
// which config entries leave out), the conversion's decisions over the serving snapshot, the
// entries the store rejected, and the registry's services. The conversion runs again only when
// the snapshot's resources changed.
import { convertGatewayApi, isGatewayApiInput, type GatewayApiDecisions, type MeshResource } from "@meshwork/config";
import type { CatalogInstance } from "@meshwork/proxy-core";
import type { Rejection } from "../core/admit-config.ts";
import { gatewayAddresses, type GatewayServiceLike } from "./gateway-addresses.ts";
import { gatewayStatusKinds, statusObjectKey, type GatewayApiObject, type GatewayStatusInput } from "./plan-gateway-status.ts";
import { meshResources, servicesResource, type WatchedResource } from "./watched-resources.ts";

export interface GatewayStatusSources {
  /** The cached objects of a watched collection, by its API path. */
  objects(path: string): readonly unknown[];
}

export interface GatewayStatusStore {
  readonly snapshot: { readonly resources: readonly MeshResource[] };
  readonly admission: { readonly rejected: readonly Rejection[] };
  readonly catalog: { readonly instances: readonly CatalogInstance[] };
}

const gatewayApiGroup = "gateway.networking.k8s.io";

/** The watched collection of a Gateway API kind (as the API server names it: `Gateway`, `HTTPRoute`, ...). */
export function gatewayApiResource(kind: string): WatchedResource {
  const resource = meshResources().find((r) => r.group === gatewayApiGroup && r.kind === kind);
  if (resource === undefined) throw new Error(`no watched collection for ${gatewayApiGroup} ${kind}`);
  return resource;
}

/** A reader of the plan's input; it keeps the last conversion and reuses it while the snapshot's resources are the same array. */
export function gatewayStatusInputReader(sources: GatewayStatusSources, store: GatewayStatusStore, options: { readonly defaultNamespace: string; readonly domainSuffix: string }): () => Omit<GatewayStatusInput, "now"> {
  let last: { resources: readonly MeshResource[]; decisions: GatewayApiDecisions } | undefined;
  return () => {
    const resources = store.snapshot.resources;
    if (last?.resources !== resources) last = { resources, decisions: convertGatewayApi(resources.filter(isGatewayApiInput), options).decisions };
    // List items may come without kind (the API server leaves it to the list): the collection says it.
    const objects = gatewayStatusKinds.flatMap((kind) => sources.objects(gatewayApiResource(kind).path).map((o) => ({ ...(o as GatewayApiObject), kind })));
    const kubeServices = sources.objects(servicesResource.path) as GatewayServiceLike[];
    const services = new Set<string>(kubeServices.map((s) => `${s.metadata?.namespace ?? ""}/${s.metadata?.name ?? ""}`));
    for (const i of store.catalog.instances) services.add(`${i.meta["namespace"] || options.defaultNamespace}/${i.serviceName}`);
    const rejected = new Map<string, string>();
    for (const r of store.admission.rejected) {
      // Keys of Kubernetes entries: kubernetes/<group>/<Kind>/<namespace>/<name> (to-config-entry.ts).
      const [origin, group, kind, namespace, name] = r.key.split("/");
      if (origin !== "kubernetes" || group !== gatewayApiGroup || kind === undefined || name === undefined) continue;
      rejected.set(statusObjectKey(kind, namespace === "" ? undefined : namespace, name), r.issues.filter((i) => i.severity === "error").map((i) => i.message).join("; "));
    }
    const gateways = objects.filter((o) => o.kind === "Gateway") as (GatewayApiObject & { spec?: { addresses?: { type?: string; value: string }[] } })[];
    return { objects, decisions: last.decisions, rejected, services, addresses: gatewayAddresses(gateways, kubeServices) };
  };
}
