// The resource kinds Meshwork accepts (Istio's, the Kubernetes Gateway API's, Meshwork's own policy.meshwork.io kinds, and the
// core Namespace for its labels): API
// group, served versions, names for the CRD, the spec schema and the semantic rule. Adding a kind here is all load-resources and the CRD
// generator need.
import type { TSchema } from "@sinclair/typebox";
import type { SpecRule } from "./field-issue.ts";
import { VirtualServiceSpec } from "./schema/virtual-service.ts";
import { DestinationRuleSpec } from "./schema/destination-rule.ts";
import { GatewaySpec } from "./schema/gateway.ts";
import { ServiceEntrySpec } from "./schema/service-entry.ts";
import { SidecarSpec } from "./schema/sidecar.ts";
import { WorkloadEntrySpec } from "./schema/workload-entry.ts";
import { PeerAuthenticationSpec } from "./schema/peer-authentication.ts";
import { RequestAuthenticationSpec } from "./schema/request-authentication.ts";
import { AuthorizationPolicySpec } from "./schema/authorization-policy.ts";
import { HTTPLocalRateLimitPolicySpec } from "./schema/http-local-rate-limit-policy.ts";
import { TelemetrySpec } from "./schema/telemetry.ts";
import { checkVirtualService } from "./rules/virtual-service-rules.ts";
import { checkDestinationRule } from "./rules/destination-rule-rules.ts";
import { checkGateway } from "./rules/gateway-rules.ts";
import { checkServiceEntry } from "./rules/service-entry-rules.ts";
import { checkSidecar } from "./rules/sidecar-rules.ts";
import { checkWorkloadEntry } from "./rules/workload-entry-rules.ts";
import { checkPeerAuthentication } from "./rules/peer-authentication-rules.ts";
import { checkRequestAuthentication } from "./rules/request-authentication-rules.ts";
import { checkAuthorizationPolicy } from "./rules/authorization-policy-rules.ts";
import { checkHTTPLocalRateLimitPolicy } from "./rules/http-local-rate-limit-policy-rules.ts";
import { checkTelemetry } from "./rules/telemetry-rules.ts";
import { KubernetesGatewaySpec } from "./schema/kubernetes-gateway.ts";
import { HTTPRouteSpec } from "./schema/http-route.ts";
import { GRPCRouteSpec } from "./schema/grpc-route.ts";
import { TCPRouteSpec } from "./schema/tcp-route.ts";
import { TLSRouteSpec } from "./schema/tls-route.ts";
import { NamespaceSpec } from "./schema/namespace.ts";
import { ReferenceGrantSpec } from "./schema/reference-grant.ts";
import { GatewayClassSpec } from "./schema/gateway-class.ts";
import { checkKubernetesGateway } from "./rules/kubernetes-gateway-rules.ts";
import { checkHTTPRoute } from "./rules/http-route-rules.ts";
import { checkGRPCRoute } from "./rules/grpc-route-rules.ts";
import { checkTCPRoute } from "./rules/tcp-route-rules.ts";
import { checkTLSRoute } from "./rules/tls-route-rules.ts";
import { checkNamespace } from "./rules/namespace-rules.ts";
import { checkGatewayClass, checkReferenceGrant } from "./rules/reference-grant-rules.ts";

/** Decoded spec type of each kind (durations in milliseconds, documented defaults applied). */
export interface SpecByKind {
  VirtualService: VirtualServiceSpec;
  DestinationRule: DestinationRuleSpec;
  Gateway: GatewaySpec;
  ServiceEntry: ServiceEntrySpec;
  Sidecar: SidecarSpec;
  WorkloadEntry: WorkloadEntrySpec;
  PeerAuthentication: PeerAuthenticationSpec;
  RequestAuthentication: RequestAuthenticationSpec;
  AuthorizationPolicy: AuthorizationPolicySpec;
  HTTPLocalRateLimitPolicy: HTTPLocalRateLimitPolicySpec;
  Telemetry: TelemetrySpec;
  KubernetesGateway: KubernetesGatewaySpec;
  HTTPRoute: HTTPRouteSpec;
  GRPCRoute: GRPCRouteSpec;
  TCPRoute: TCPRouteSpec;
  TLSRoute: TLSRouteSpec;
  ReferenceGrant: ReferenceGrantSpec;
  GatewayClass: GatewayClassSpec;
  Namespace: NamespaceSpec;
}

export type KindName = keyof SpecByKind;

export interface ResourceKind<K extends KindName = KindName> {
  /** Meshwork's name of the kind: unique across groups (resource.kind, config keys). */
  readonly kind: K;
  /**
   * The kind as users write it, when another group's kind has the same name: the Gateway API's
   * `Gateway` is `KubernetesGateway` inside (as in Istio), `Gateway` in YAML.
   */
  readonly yamlKind?: string;
  /** The API group; "" is Kubernetes' core group (Namespace). */
  readonly group: "networking.istio.io" | "security.istio.io" | "telemetry.istio.io" | "policy.meshwork.io" | "gateway.networking.k8s.io" | "";
  /** Where the CRDs come from when Meshwork does not generate them (the Gateway API's upstream release). */
  readonly upstreamCrds?: string;
  /**
   * A kind Kubernetes itself serves (core/v1 Namespace): no CRD exists or is generated, the API
   * server always has it, and Meshwork reads only its metadata.
   */
  readonly builtIn?: true;
  /** Served versions, newest first; the first is the storage version. */
  readonly versions: readonly string[];
  readonly plural: string;
  readonly shortNames: readonly string[];
  readonly spec: TSchema;
  readonly check: SpecRule<SpecByKind[K]>;
  /** Extra `kubectl get` columns: name and JSON path into the resource. */
  readonly printerColumns: readonly { name: string; jsonPath: string; type: "string" | "integer" }[];
}

/** Any one kind, keeping the link between its spec type and its rule. */
export type AnyResourceKind = { [K in KindName]: ResourceKind<K> }[KindName];

const networkingVersions = ["v1", "v1beta1", "v1alpha3"] as const;
const securityVersions = ["v1", "v1beta1"] as const;
const telemetryVersions = ["v1", "v1alpha1"] as const;
const meshworkPolicyVersions = ["v1alpha1"] as const;
const gatewayApiCrds = "https://github.com/kubernetes-sigs/gateway-api/releases (standard-install.yaml)";
const gatewayApiExperimentalCrds = "https://github.com/kubernetes-sigs/gateway-api/releases (experimental-install.yaml)";

function kind<K extends KindName>(definition: ResourceKind<K>): ResourceKind<K> {
  return definition;
}

/** Every kind, in the order resources are listed and generated. */
export const resourceKinds = [
  kind({
    kind: "VirtualService",
    group: "networking.istio.io",
    versions: networkingVersions,
    plural: "virtualservices",
    shortNames: ["vs"],
    spec: VirtualServiceSpec,
    check: checkVirtualService,
    printerColumns: [
      { name: "Gateways", jsonPath: ".spec.gateways", type: "string" },
      { name: "Hosts", jsonPath: ".spec.hosts", type: "string" },
    ],
  }),
  kind({
    kind: "DestinationRule",
    group: "networking.istio.io",
    versions: networkingVersions,
    plural: "destinationrules",
    shortNames: ["dr"],
    spec: DestinationRuleSpec,
    check: checkDestinationRule,
    printerColumns: [{ name: "Host", jsonPath: ".spec.host", type: "string" }],
  }),
  kind({
    kind: "Gateway",
    group: "networking.istio.io",
    versions: networkingVersions,
    plural: "gateways",
    shortNames: ["gw"],
    spec: GatewaySpec,
    check: checkGateway,
    printerColumns: [],
  }),
  kind({
    kind: "ServiceEntry",
    group: "networking.istio.io",
    versions: networkingVersions,
    plural: "serviceentries",
    shortNames: ["se"],
    spec: ServiceEntrySpec,
    check: checkServiceEntry,
    printerColumns: [
      { name: "Hosts", jsonPath: ".spec.hosts", type: "string" },
      { name: "Location", jsonPath: ".spec.location", type: "string" },
      { name: "Resolution", jsonPath: ".spec.resolution", type: "string" },
    ],
  }),
  kind({
    kind: "Sidecar",
    group: "networking.istio.io",
    versions: networkingVersions,
    plural: "sidecars",
    shortNames: [],
    spec: SidecarSpec,
    check: checkSidecar,
    printerColumns: [],
  }),
  kind({
    kind: "WorkloadEntry",
    group: "networking.istio.io",
    versions: networkingVersions,
    plural: "workloadentries",
    shortNames: ["we"],
    spec: WorkloadEntrySpec,
    check: checkWorkloadEntry,
    printerColumns: [{ name: "Address", jsonPath: ".spec.address", type: "string" }],
  }),
  kind({
    kind: "PeerAuthentication",
    group: "security.istio.io",
    versions: securityVersions,
    plural: "peerauthentications",
    shortNames: ["pa"],
    spec: PeerAuthenticationSpec,
    check: checkPeerAuthentication,
    printerColumns: [{ name: "Mode", jsonPath: ".spec.mtls.mode", type: "string" }],
  }),
  kind({
    kind: "RequestAuthentication",
    group: "security.istio.io",
    versions: securityVersions,
    plural: "requestauthentications",
    shortNames: ["ra"],
    spec: RequestAuthenticationSpec,
    check: checkRequestAuthentication,
    printerColumns: [],
  }),
  kind({
    kind: "AuthorizationPolicy",
    group: "security.istio.io",
    versions: securityVersions,
    plural: "authorizationpolicies",
    shortNames: ["ap"],
    spec: AuthorizationPolicySpec,
    check: checkAuthorizationPolicy,
    printerColumns: [{ name: "Action", jsonPath: ".spec.action", type: "string" }],
  }),
  kind({
    kind: "Telemetry",
    group: "telemetry.istio.io",
    versions: telemetryVersions,
    plural: "telemetries",
    shortNames: ["telemetry"],
    spec: TelemetrySpec,
    check: checkTelemetry,
    printerColumns: [],
  }),
  kind({
    kind: "HTTPLocalRateLimitPolicy",
    group: "policy.meshwork.io",
    versions: meshworkPolicyVersions,
    plural: "httplocalratelimitpolicies",
    shortNames: [],
    spec: HTTPLocalRateLimitPolicySpec,
    check: checkHTTPLocalRateLimitPolicy,
    printerColumns: [
      { name: "Total", jsonPath: ".spec.total.requestsPerSecond", type: "integer" },
      { name: "Identity", jsonPath: ".spec.identity.requestsPerSecond", type: "integer" },
    ],
  }),
  kind({
    kind: "KubernetesGateway",
    yamlKind: "Gateway",
    group: "gateway.networking.k8s.io",
    versions: ["v1", "v1beta1"],
    plural: "gateways",
    shortNames: ["gtw"],
    spec: KubernetesGatewaySpec,
    check: checkKubernetesGateway,
    printerColumns: [{ name: "Class", jsonPath: ".spec.gatewayClassName", type: "string" }],
    upstreamCrds: gatewayApiCrds,
  }),
  kind({
    kind: "HTTPRoute",
    group: "gateway.networking.k8s.io",
    versions: ["v1", "v1beta1"],
    plural: "httproutes",
    shortNames: [],
    spec: HTTPRouteSpec,
    check: checkHTTPRoute,
    printerColumns: [{ name: "Hostnames", jsonPath: ".spec.hostnames", type: "string" }],
    upstreamCrds: gatewayApiCrds,
  }),
  kind({
    kind: "GRPCRoute",
    group: "gateway.networking.k8s.io",
    versions: ["v1"],
    plural: "grpcroutes",
    shortNames: [],
    spec: GRPCRouteSpec,
    check: checkGRPCRoute,
    printerColumns: [{ name: "Hostnames", jsonPath: ".spec.hostnames", type: "string" }],
    upstreamCrds: gatewayApiCrds,
  }),
  kind({
    kind: "TCPRoute",
    group: "gateway.networking.k8s.io",
    versions: ["v1alpha2"],
    plural: "tcproutes",
    shortNames: [],
    spec: TCPRouteSpec,
    check: checkTCPRoute,
    printerColumns: [],
    upstreamCrds: gatewayApiExperimentalCrds,
  }),
  kind({
    kind: "TLSRoute",
    group: "gateway.networking.k8s.io",
    // v1alpha2 first: the version every Gateway API release with TLSRoute serves, so the control plane watches it.
    versions: ["v1alpha2", "v1alpha3"],
    plural: "tlsroutes",
    shortNames: [],
    spec: TLSRouteSpec,
    check: checkTLSRoute,
    printerColumns: [{ name: "Hostnames", jsonPath: ".spec.hostnames", type: "string" }],
    upstreamCrds: gatewayApiExperimentalCrds,
  }),
  kind({
    kind: "ReferenceGrant",
    group: "gateway.networking.k8s.io",
    versions: ["v1beta1", "v1"],
    plural: "referencegrants",
    shortNames: ["refgrant"],
    spec: ReferenceGrantSpec,
    check: checkReferenceGrant,
    printerColumns: [],
    upstreamCrds: gatewayApiCrds,
  }),
  kind({
    kind: "GatewayClass",
    group: "gateway.networking.k8s.io",
    versions: ["v1", "v1beta1"],
    plural: "gatewayclasses",
    shortNames: ["gc"],
    spec: GatewayClassSpec,
    check: checkGatewayClass,
    printerColumns: [{ name: "Controller", jsonPath: ".spec.controllerName", type: "string" }],
    upstreamCrds: gatewayApiCrds,
  }),
  kind({
    kind: "Namespace",
    group: "",
    versions: ["v1"],
    plural: "namespaces",
    shortNames: ["ns"],
    spec: NamespaceSpec,
    check: checkNamespace,
    printerColumns: [],
    builtIn: true,
  }),
] as const satisfies readonly AnyResourceKind[];

// By the kind users write and by Meshwork's own name (what re-serialised resources carry).
const byGroupKind = new Map<string, AnyResourceKind>(resourceKinds.flatMap((k): [string, AnyResourceKind][] => [[`${k.group}/${k.kind}`, k], ...("yamlKind" in k ? [[`${k.group}/${k.yamlKind}`, k] as [string, AnyResourceKind]] : [])]));

/** The kind as users write it in YAML (`Gateway` for the Gateway API's KubernetesGateway). */
export function yamlKindOf(kind: AnyResourceKind): string {
  return kind.yamlKind ?? kind.kind;
}

/** The kind for `group` + `kind`, if Meshwork accepts it. */
export function findResourceKind(group: string, kindName: string): AnyResourceKind | undefined {
  return byGroupKind.get(`${group}/${kindName}`);
}
