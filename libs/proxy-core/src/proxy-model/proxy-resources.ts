// The resources the control plane pushes to one proxy over mesh.discovery.v1 (DESIGN.md §3.2,
// docs/design/config-push.md): five types, each a list of named JSON bodies. The bodies are data
// only (no RegExp, no Map, no functions), so they survive JSON; assembleProxyConfig() turns a full
// set back into the ProxyConfig the sidecar runs on.
import type { MeshResource } from "@meshwork/config";
import type { ClusterEndpoint, ClusterSpec, InboundPort, ServicePort } from "../proxy-config.ts";
import type { ResolvedTelemetry } from "../telemetry/resolve-telemetry.ts";
import type { EgressListenerSpec } from "./sidecar-egress-listeners.ts";

/** The five resource types, by their DiscoveryRequest/DiscoveryResponse `type_url`. */
export const typeUrls = {
  cluster: "type.meshwork.io/mesh.discovery.v1.Cluster",
  endpoints: "type.meshwork.io/mesh.discovery.v1.Endpoints",
  listener: "type.meshwork.io/mesh.discovery.v1.Listener",
  routeTable: "type.meshwork.io/mesh.discovery.v1.RouteTable",
  trustBundle: "type.meshwork.io/mesh.discovery.v1.TrustBundle",
} as const;

export type ResourceType = keyof typeof typeUrls;
export type TypeUrl = (typeof typeUrls)[ResourceType];

/** The order of a push (DESIGN.md §3.2): a route never names a cluster the proxy does not have yet. */
export const pushOrder: readonly ResourceType[] = ["cluster", "endpoints", "listener", "routeTable", "trustBundle"];

/** The resource type of a `type_url`; undefined for one Meshwork does not serve. */
export function resourceTypeOf(typeUrl: string): ResourceType | undefined {
  for (const type of pushOrder) if (typeUrls[type] === typeUrl) return type;
  return undefined;
}

/** The proxy a config is computed for: DiscoveryRequest.node, parsed. */
export interface ProxyNode {
  /** Unique per proxy instance. */
  readonly id: string;
  /** Its WorkloadEntry name or registry instance id: gives its inbound ports; "" when unknown. */
  readonly workload: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The proxy's software version (admin pages only). */
  readonly version: string;
  readonly kind: "sidecar" | "gateway";
}

/** Cluster body: the ClusterSpec without its endpoints (those are the Endpoints resource of the same name). */
export type ClusterBody = Omit<ClusterSpec, "endpoints">;

/** Endpoints body: the endpoints of one cluster (name = the cluster's name), already health-filtered and subset-filtered. */
export interface EndpointsBody {
  readonly cluster: string;
  readonly endpoints: readonly ClusterEndpoint[];
  /** Auto mTLS per endpoint (same order), for clusters without a DestinationRule `tls` (ProxyConfig.autoMtls). */
  readonly autoMtls?: readonly boolean[];
}

/**
 * The security policies of the proxy's namespace and of the root namespace, as validated resources
 * in config order (the sidecar resolves which select its workload, as in standalone mode).
 */
export interface ListenerSecurity {
  readonly peerAuthentications: readonly MeshResource<"PeerAuthentication">[];
  readonly requestAuthentications: readonly MeshResource<"RequestAuthentication">[];
  readonly authorizationPolicies: readonly MeshResource<"AuthorizationPolicy">[];
}

/**
 * Listener `inbound`: the ports the proxy serves for its workload, with the policies that guard
 * them. Listener `outbound`: the service ports it can call and what happens to other destinations.
 */
export type ListenerBody =
  | {
      readonly type: "inbound";
      readonly ports: readonly InboundPort[];
      /** Trust domain of the mesh's SPIFFE IDs. */
      readonly trustDomain: string;
      /** Istio's config root namespace (mesh-wide policies). */
      readonly rootNamespace: string;
      readonly security: ListenerSecurity;
      /** HTTPLocalRateLimitPolicies of the proxy's namespace. */
      readonly rateLimitPolicies: readonly MeshResource<"HTTPLocalRateLimitPolicy">[];
      /** The proxy's effective Telemetry (resolveTelemetry: mesh → namespace → workload); absent: no Telemetry applies. */
      readonly telemetry?: ResolvedTelemetry;
    }
  | {
      readonly type: "outbound";
      /** Every reachable service port (after Sidecar egress and exportTo scoping), in ServiceEntry order. */
      readonly services: readonly ServicePort[];
      /** Sidecar outboundTrafficPolicy.mode; Istio's default ALLOW_ANY. */
      readonly outboundTrafficPolicy: "ALLOW_ANY" | "REGISTRY_ONLY";
      /** Secure naming: by service host, the SANs a server of it may present (ProxyConfig.serviceIdentities). */
      readonly serviceIdentities: Readonly<Record<string, readonly string[]>>;
      /** Ports with a Sidecar egress listener of their own: hosts without a service port there are not routed on them (addDefaultRoutes). Absent: none. */
      readonly egressListenerPorts?: readonly number[];
      /** Sidecar egress listeners the proxy opens itself (captureMode NONE or bind; explicitEgressListeners). Absent: none. */
      readonly egressListeners?: readonly EgressListenerSpec[];
    };

/**
 * RouteTable `mesh` (a sidecar) or `<namespace>/<gateway>` (a gateway proxy, one per Gateway
 * selecting it): routes as data. Compiled regexes are not serialisable, so the table travels as
 * the VirtualServices visible to the proxy (exportTo and Sidecar egress applied, namespace filled
 * in, input order kept: the first VirtualService of a host wins) and the DestinationRules whose
 * subsets they name; the proxy compiles them (compileRouteTable, compileTcpRouteTable) and adds
 * Istio's default route for every service host of the outbound listener no VirtualService covers.
 */
export interface RouteTableBody {
  /** The gateway the routes are for: `mesh` for a sidecar, the Gateway's `namespace/name` for a gateway proxy. */
  readonly gateway: string;
  readonly virtualServices: readonly MeshResource<"VirtualService">[];
  readonly destinationRules: readonly MeshResource<"DestinationRule">[];
  /** For a gateway proxy: the Gateway resource (its servers become the proxy's listeners). */
  readonly definition?: MeshResource<"Gateway">;
}

/** TrustBundle `<trust domain>`: the roots the proxy verifies peers against. */
export interface TrustBundleBody {
  readonly trustDomain: string;
  /** PEM roots; during a rotation the old and the new. */
  readonly rootsPem: readonly string[];
}

export interface BodyByType {
  readonly cluster: ClusterBody;
  readonly endpoints: EndpointsBody;
  readonly listener: ListenerBody;
  readonly routeTable: RouteTableBody;
  readonly trustBundle: TrustBundleBody;
}

/** One named resource of a type. */
export interface NamedResource<T extends ResourceType = ResourceType> {
  readonly name: string;
  readonly body: BodyByType[T];
}

/** Everything one proxy runs on, per type, each list sorted by name (stable hashes and diffs). */
export type ProxyResources = { readonly [T in ResourceType]: readonly NamedResource<T>[] };
