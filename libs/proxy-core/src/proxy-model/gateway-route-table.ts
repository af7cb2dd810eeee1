// The route tables of a gateway proxy (router mode): one per Gateway whose selector matches the
// proxy's labels, in any namespace (Istio's default), carrying the Gateway itself and the
// VirtualServices bound to it with the delegates they name. The proxy opens a listener per
// Gateway port and routes with them.
import type { MeshResource } from "@meshwork/config";
import { isExportedTo, labelsMatch } from "../compile-clusters.ts";
import { resolveGateway, resolveHost } from "../resolve-host.ts";
import { coversAny, referencedHosts, stripSource, withDelegates } from "./route-scope.ts";
import type { NamedResource } from "./proxy-resources.ts";

export interface GatewayRouteInputs {
  readonly gateways: readonly MeshResource<"Gateway">[];
  readonly virtualServices: readonly MeshResource<"VirtualService">[];
  /** DestinationRules without their `source`. */
  readonly destinationRules: readonly MeshResource<"DestinationRule">[];
}

/**
 * RouteTable resources of the gateway proxy with `labels` in namespace `ns`, sorted by Gateway
 * `namespace/name`. A VirtualService is bound to a Gateway it names in `gateways` (short names
 * resolve in the VirtualService's namespace) and must be exported to the proxy's namespace; the
 * delegates their routes name come with them (withDelegates). A Gateway with an empty selector
 * selects nothing.
 */
export function gatewayRouteTable(inputs: GatewayRouteInputs, labels: Readonly<Record<string, string>>, ns: string, domainSuffix: string): NamedResource<"routeTable">[] {
  const tables: NamedResource<"routeTable">[] = [];
  for (const gateway of inputs.gateways) {
    const selector = gateway.spec.selector ?? {};
    if (Object.keys(selector).length === 0 || !labelsMatch(selector, labels)) continue;
    const gatewayNs = gateway.metadata.namespace ?? ns;
    const name = `${gatewayNs}/${gateway.metadata.name}`;
    const withNs = inputs.virtualServices.map((vs) => (vs.metadata.namespace === undefined ? { ...vs, metadata: { ...vs.metadata, namespace: ns } } : vs));
    const bound = withNs.filter((vs) => {
      const vsNs = vs.metadata.namespace ?? ns;
      return isExportedTo(vs.spec.exportTo, vsNs, ns) && (vs.spec.gateways ?? []).some((g) => resolveGateway(g, vsNs) === name);
    });
    const virtualServices = withDelegates(bound, withNs).map(stripSource);
    const hosts = referencedHosts(virtualServices, ns, domainSuffix);
    const destinationRules = inputs.destinationRules.filter((dr) => (dr.spec.subsets?.length ?? 0) > 0 && coversAny(resolveHost(dr.spec.host, dr.metadata.namespace ?? ns, domainSuffix), hosts));
    tables.push({ name, body: { gateway: name, virtualServices, destinationRules, definition: stripSource({ ...gateway, metadata: { ...gateway.metadata, namespace: gatewayNs } }) } });
  }
  return tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
