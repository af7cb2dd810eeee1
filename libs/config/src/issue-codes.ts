// Every issue libs/config can report, with its stable code, in one place. Codes never change
// meaning once released; tools and users may filter on them (`meshctl analyze -o json`).
// MW00xx: reading and validating one resource. MW01xx: analysis across resources.
// `istio` names the istioctl analyzer message that reports the same thing, where there is one.

export interface IssueCodeInfo {
  readonly code: string;
  readonly severity: "error" | "warning" | "info";
  readonly summary: string;
  readonly istio?: string;
}

export const issueCodes = {
  // --- reading and validation (a resource with an error is rejected whole) ---
  YamlSyntax: { code: "MW0001", severity: "error", summary: "The file is not valid YAML or JSON." },
  NotAResource: { code: "MW0002", severity: "error", summary: "A document is not a mapping with apiVersion, kind, metadata and spec." },
  UnknownKind: { code: "MW0003", severity: "error", summary: "apiVersion/kind is not a resource Meshwork understands." },
  InvalidMetadata: { code: "MW0004", severity: "error", summary: "metadata.name or metadata.namespace is missing or malformed." },
  DuplicateResource: { code: "MW0005", severity: "error", summary: "The same kind, namespace and name appear twice in the input." },
  UnknownField: { code: "MW0010", severity: "error", summary: "A field the Istio API does not define (Istio's webhook rejects these)." },
  MissingField: { code: "MW0011", severity: "error", summary: "A required field is missing or empty." },
  WrongType: { code: "MW0012", severity: "error", summary: "A field has the wrong type (e.g. a string where a list belongs)." },
  InvalidValue: { code: "MW0013", severity: "error", summary: "A value is out of range, not an allowed choice, or breaks an Istio validation rule." },
  ExclusiveFields: { code: "MW0014", severity: "error", summary: "Fields that exclude each other (a protobuf oneof) are set together." },
  InvalidDuration: { code: "MW0015", severity: "error", summary: "A duration is not of the form 250ms, 1.5s, 10s, 5m, 1h." },
  InvalidRegex: { code: "MW0016", severity: "error", summary: "A regular expression does not compile." },
  InvalidHost: { code: "MW0017", severity: "error", summary: "A host name or wildcard is malformed." },

  // --- analysis across resources (like istioctl analyze) ---
  UnknownSubset: { code: "MW0101", severity: "error", summary: "A route names a subset no DestinationRule defines for that host.", istio: "IST0101 ReferencedResourceNotFound" },
  HostNotFound: { code: "MW0102", severity: "error", summary: "A destination host is not a known service or ServiceEntry.", istio: "IST0101 ReferencedResourceNotFound" },
  UnknownGateway: { code: "MW0103", severity: "error", summary: "A VirtualService names a Gateway that does not exist.", istio: "IST0101 ReferencedResourceNotFound" },
  // Warning, not error: Istio's current validation takes weights as relative shares (any positive total).
  WeightsNotHundred: { code: "MW0104", severity: "warning", summary: "Weights of a route's destinations do not add up to 100." },
  ShadowedRoute: { code: "MW0105", severity: "warning", summary: "A route can never match because an earlier route matches everything it would." },
  DuplicateHost: { code: "MW0106", severity: "error", summary: "Two VirtualServices for the same gateway claim the same host.", istio: "IST0109 ConflictingMeshGatewayVirtualServiceHosts" },
  DuplicateDestinationRule: { code: "MW0107", severity: "warning", summary: "Several DestinationRules apply to the same host in one namespace.", istio: "IST0174 MultipleDestinationRulesForSameHost" },
  ConflictingPeerAuthentication: { code: "MW0108", severity: "error", summary: "Several PeerAuthentications of the same scope select the same workloads." },
  SelectorMatchesNothing: { code: "MW0109", severity: "warning", summary: "A workload selector matches no workload in the catalog.", istio: "IST0127 ReferencedResourceNotFound / NoMatchingWorkloadsFound" },
  // Reserved: checkRequestAuthentication already rejects a JWT rule without issuer and jwksUri
  // (MissingField), so no analyzer reports this code.
  JwtRuleWithoutIssuer: { code: "MW0110", severity: "error", summary: "A JWT rule has no issuer, so no token can ever match it." },
  MtlsConflict: { code: "MW0111", severity: "warning", summary: "A DestinationRule disables TLS towards workloads whose PeerAuthentication is STRICT.", istio: "IST0113 MTLSPolicyConflict" },
  UnknownDelegate: { code: "MW0112", severity: "error", summary: "A route delegates to a VirtualService that does not exist." },
  NamespaceNotFound: { code: "MW0113", severity: "warning", summary: "A policy names a namespace that has no services in the catalog." },
  UnreachablePolicy: { code: "MW0114", severity: "info", summary: "An AuthorizationPolicy relies on request principals but no RequestAuthentication applies." },
  PortNotFound: { code: "MW0115", severity: "error", summary: "A destination port is not one the service exposes.", istio: "IST0101 ReferencedResourceNotFound" },
  GatewayHostMismatch: { code: "MW0116", severity: "warning", summary: "A VirtualService is bound to a Gateway that exposes none of its hosts.", istio: "IST0132 VirtualServiceHostNotFoundInGateway" },
  ConflictingSidecar: { code: "MW0117", severity: "error", summary: "Several Sidecars apply to the same workloads (or several have no selector in one namespace).", istio: "IST0121 MultipleSidecarsWithoutWorkloadSelectors / IST0122 ConflictingSidecarWorkloadSelectors" },
  ConflictingGateway: { code: "MW0118", severity: "warning", summary: "Gateways with the same selector open the same port for the same host.", istio: "IST0145 ConflictingGateways" },
  SubsetSelectsNothing: { code: "MW0119", severity: "warning", summary: "A DestinationRule subset's labels match no instance of its service.", istio: "IST0173 DestinationRuleSubsetNotSelectPods" },
  UnusedDelegate: { code: "MW0120", severity: "warning", summary: "A VirtualService without hosts (a delegate) that no route delegates to has no effect." },
  PortRequired: { code: "MW0121", severity: "warning", summary: "A gateway route to a service with several ports does not say which port.", istio: "IST0112 VirtualServiceDestinationPortSelectorRequired" },
  ConflictingRateLimitPolicy: { code: "MW0122", severity: "warning", summary: "Several equally specific HTTPLocalRateLimitPolicies apply to the same workload, port and route; only one of them is enforced." },
  RouteNotAttached: { code: "MW0123", severity: "warning", summary: "A Gateway API route cannot attach to a parent it names (missing Gateway or listener, allowedRoutes, hostnames).", istio: "Route status Accepted=False (NotAllowedByListeners, NoMatchingParent, NoMatchingListenerHostname)" },
  ReferenceNotPermitted: { code: "MW0124", severity: "warning", summary: "A Gateway API reference to another namespace (a Service, a Secret) has no ReferenceGrant there.", istio: "Status ResolvedRefs=False (RefNotPermitted)" },
  UnsupportedGatewayApiFeature: { code: "MW0125", severity: "warning", summary: "A Gateway API feature Meshwork does not implement; the rule using it is left out." },
} as const satisfies Record<string, IssueCodeInfo>;

export type IssueName = keyof typeof issueCodes;
