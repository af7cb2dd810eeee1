// Public entry of @meshwork/proxy-core, the pure core of the sidecar: route tables compiled from
// VirtualServices and DestinationRules, per-request route matching and weighted picks, and the
// load balancers that choose an endpoint, and the outlier-detection and circuit-breaker state machines.
export { compileRouteTable } from "./compile-route-table.ts";
export type { CompileRouteTableOptions } from "./compile-route-table.ts";
export type {
  CompiledMatch,
  CompiledRoute,
  Cors,
  DelegateOrigin,
  DirectResponse,
  Fault,
  GatewayRoutes,
  HeaderOps,
  KeyedMatcher,
  Mirror,
  Redirect,
  Rewrite,
  RouteAction,
  RouteDestination,
  RouteTable,
  VirtualHost,
} from "./route-table.ts";
export { compileRe2, compileStringMatch, describeStringMatcher, testString } from "./compile-string-match.ts";
export type { StringMatcher, StringMatchSpec } from "./compile-string-match.ts";
export { compileRetryPolicy, defaultRetryOn, describeRetryOn, hasRetryOn, parseRetryOn, retryOnBit } from "./parse-retry-on.ts";
export type { RetryOnToken, RetryPolicy, RetrySpec } from "./parse-retry-on.ts";
export { domainAliases, resolveGateway, resolveHost } from "./resolve-host.ts";
export type { HostContext } from "./resolve-host.ts";
export { findRoute, findVirtualHost, matchesRequest, noRoute, noVirtualHost, queryParam } from "./find-route.ts";
export type { RouteDecision, RouteRequest } from "./find-route.ts";
export { pickWeighted } from "./pick-weighted.ts";
export { applyRewrite } from "./apply-rewrite.ts";
export { redirectPath } from "./redirect-path.ts";
export { describeRoute } from "./describe-route.ts";

// Load balancing over endpoints.
export { usableEndpoints } from "./endpoint.ts";
export type { Endpoint, LoadBalancer, Locality, Random } from "./endpoint.ts";
export { hashString } from "./hash-string.ts";
export { compileHashPolicy, cookieValue, requestHash } from "./hash-policy.ts";
export type { HashInput, HashPolicy } from "./hash-policy.ts";
export { createRoundRobinBalancer } from "./round-robin-balancer.ts";
export { createRandomBalancer, weightedSampler } from "./random-balancer.ts";
export { createLeastRequestBalancer } from "./least-request-balancer.ts";
export { createRingHashBalancer } from "./ring-hash-balancer.ts";
export type { RingHashOptions } from "./ring-hash-balancer.ts";
export { createMaglevBalancer } from "./maglev-balancer.ts";
export type { MaglevOptions } from "./maglev-balancer.ts";
export { assignLocalityPriorities, computePriorityLoad } from "./locality-priorities.ts";
export type { RegionFailover } from "./locality-priorities.ts";
export { createLocalityAwareBalancer } from "./locality-aware-balancer.ts";
export type { LocalityAwareOptions } from "./locality-aware-balancer.ts";
export { balancerKind, createLoadBalancer } from "./create-load-balancer.ts";
export type { BalancerDeps, BalancerKind, LoadBalancerSpec } from "./create-load-balancer.ts";

// Resilience state machines.
export { OutlierDetector, outlierSettings } from "./outlier-detector.ts";
export type { OutlierChanges, OutlierDetectionSpec, OutlierSettings } from "./outlier-detector.ts";
export { CircuitBreaker } from "./circuit-breaker.ts";
export type { BreakerDecision, BreakerResource, ConnectionPoolSpec } from "./circuit-breaker.ts";

// Proxy config: clusters from ServiceEntries/WorkloadEntries/DestinationRules, and the whole config of one proxy.
export type {
  ClusterEndpoint,
  ClusterProtocol,
  ClusterSpec,
  ClusterTls,
  EndpointDiscovery,
  InboundPort,
  LocalityLbSettings,
  ProxyConfig,
  ServicePort,
} from "./proxy-config.ts";
export { clusterName, compileClusters, isExportedTo, labelsMatch } from "./compile-clusters.ts";
export type { CompileClustersInput, CompileClustersOptions, CompiledClusters, MeshH2UpgradePolicy } from "./compile-clusters.ts";
export { mergeTrafficPolicy } from "./merge-traffic-policy.ts";
export type { EffectivePolicy, TrafficPolicySpec } from "./merge-traffic-policy.ts";
export { portProtocol } from "./port-protocol.ts";
export { clusterNameFor, createClusterResolver } from "./resolve-cluster.ts";
export type { ClusterResolver, DestinationRef } from "./resolve-cluster.ts";
export { buildProxyConfig } from "./build-proxy-config.ts";
export type { BuildProxyConfigOptions, BuildProxyConfigResult } from "./build-proxy-config.ts";
export { describeCluster } from "./describe-cluster.ts";

// Local rate limiting (HTTPLocalRateLimitPolicy) and load shedding: token buckets and the overload decision.
export { TokenBucket } from "./token-bucket.ts";
export type { TokenBucketOptions } from "./token-bucket.ts";
export { compileRateLimits, defaultMaxIdentityBuckets, rateLimitedReply } from "./compile-rate-limits.ts";
export type { CompileRateLimitsOptions, Limiter, RateLimitKind, RateLimitTable, RateLimitVerdict } from "./compile-rate-limits.ts";
export { defaultLoadShedderSettings, LoadShedder, overloadedReply } from "./load-shedder.ts";
export type { LoadMeasurements, LoadShedderSettings, OverloadSignal, ShedThreshold } from "./load-shedder.ts";

// Raw TCP and unterminated TLS: VirtualService `tcp`/`tls` routes compiled per host, per-connection matching and weighted picks.
export { compileTcpRouteTable, coversHost } from "./compile-tcp-route-table.ts";
export type { CompileTcpRouteTableOptions } from "./compile-tcp-route-table.ts";
export { findTcpRoute, matchesConnection, pickTcpDestination, tcpClusterName } from "./find-tcp-route.ts";
export type { TcpRouteDecision, TcpRouteRequest } from "./find-tcp-route.ts";
export type { TcpDestination, TcpHost, TcpMatch, TcpRoute, TcpRouteTable } from "./tcp-route-table.ts";
export { cidrContains, formatIp, parseCidr, parseIp } from "./parse-cidr.ts";
export type { Cidr } from "./parse-cidr.ts";
export { addressesByHost } from "./addresses-by-host.ts";

// DNS proxying (Istio's "smart DNS proxy"): services' virtual addresses, auto-allocated ones, and the
// name table a sidecar answers from.
export { allocateAddresses, autoAllocateServiceAddresses, autoAllocationRanges, autoAllocationSlots, fnv1a32, slotAddresses } from "./dns/auto-allocate-addresses.ts";
export type { AddressAllocation, AllocatedAddresses } from "./dns/auto-allocate-addresses.ts";
export { buildNameTable, podHostnameLabel } from "./dns/build-name-table.ts";
export type { BuildNameTableOptions, NameEntry, NameTable } from "./dns/build-name-table.ts";
export { lookupName } from "./dns/lookup-name.ts";
export type { NameLookup } from "./dns/lookup-name.ts";

// Retry decisions shared by the HTTP/1.1 and HTTP/2 data paths.
export { retriesFailure, retriesStatus, retryBackoffMs } from "./retry-decision.ts";
export { applyCors } from "./apply-cors.ts";
export type { CorsOutcome } from "./apply-cors.ts";

// Peer authentication (mutual TLS, issue 7): the effective PeerAuthentication mode per workload port,
// secure naming (the identities that may serve a service) and the auto-mTLS decision per endpoint.
export { mtlsModeForPort, resolvePeerAuthentication } from "./peer-authentication/resolve-peer-authentication.ts";
export type { EffectivePeerAuthentication, MtlsMode, PeerAuthenticationTarget } from "./peer-authentication/resolve-peer-authentication.ts";
export { autoMtlsEndpoints, hasSidecar, serviceIdentities, tlsModeLabel, workloadSpiffeId } from "./peer-authentication/service-identities.ts";

// Proxy model: the resources the control plane pushes over mesh.discovery.v1 (computeProxyConfig)
// and the proxy's way back to a ProxyConfig (assembleProxyConfig). docs/design/config-push.md.
export { pushOrder, resourceTypeOf, typeUrls } from "./proxy-model/proxy-resources.ts";
export type {
  BodyByType,
  ClusterBody,
  EndpointsBody,
  ListenerBody,
  ListenerSecurity,
  NamedResource,
  ProxyNode,
  ProxyResources,
  ResourceType,
  RouteTableBody,
  TrustBundleBody,
  TypeUrl,
} from "./proxy-model/proxy-resources.ts";
export { catalogMetaKeys, catalogResources, catalogServiceLabel } from "./proxy-model/catalog-resources.ts";
export type { CatalogInstance, CatalogResources, MeshCatalog } from "./proxy-model/catalog-resources.ts";
export { egressHosts, egressScope, isImported, isImportedOnPort, scopeServiceEntry, selectSidecar } from "./proxy-model/select-sidecar.ts";
export type { EgressHost, EgressScope } from "./proxy-model/select-sidecar.ts";
export { parseDefaultEndpoint, sidecarInboundPorts } from "./proxy-model/sidecar-inbound-ports.ts";
export { egressListenerRoutes, egressListenersFor, explicitEgressListeners } from "./proxy-model/sidecar-egress-listeners.ts";
export type { EgressListener, EgressListenerSpec } from "./proxy-model/sidecar-egress-listeners.ts";
export { computeProxyConfig, createProxyCompiler, ProxyCompiler } from "./proxy-model/compute-proxy-config.ts";
export type { ComputedProxyConfig, ConfigSnapshot, MeshSettings } from "./proxy-model/compute-proxy-config.ts";
export { assembleProxyConfig } from "./proxy-model/assemble-proxy-config.ts";
export type { AssembleProxyConfigOptions, AssembledProxyConfig } from "./proxy-model/assemble-proxy-config.ts";
export { addDefaultRoutes } from "./proxy-model/add-default-routes.ts";
export { decodeResourceBody, encodeResourceBody } from "./proxy-model/encode-resources.ts";

// Request authentication (RequestAuthentication): the jwtRules that apply to a workload and where a request carries its tokens.
export { compileRequestAuthentication, defaultJwksTimeoutMs, defaultSpaceDelimitedClaims } from "./request-authn/compile-request-authentication.ts";
export type {
  AuthnWorkload,
  CompiledJwtRule,
  CompileRequestAuthenticationOptions,
  JwksSpec,
  RequestAuthnConfig,
  TokenLocation,
} from "./request-authn/compile-request-authentication.ts";
export { findTokens } from "./request-authn/find-tokens.ts";
export type { AuthnRequest, FoundToken } from "./request-authn/find-tokens.ts";

// Router mode (ingress gateway): the ports a gateway proxy listens on, from the Gateways selecting it.
export { clusterOfSni, gatewayListeners, gatewaySelects, serverAdmitsHost, serverForSni } from "./gateway/gateway-listeners.ts";
export type { GatewayCertificateFiles, GatewayListener, GatewayListenerMode, GatewayListenersResult, GatewayServer, GatewayServerTls, TlsVersionName } from "./gateway/gateway-listeners.ts";
export { compileGatewayTcpRoutes, findGatewayTcpRoute } from "./gateway/gateway-tcp-routes.ts";
export type { GatewayConnection } from "./gateway/gateway-tcp-routes.ts";

// Authorization (AuthorizationPolicy): compiled once per config, asked per request — checkCustom (CUSTOM), then evaluate (DENY → ALLOW, AUDIT, dry-run).
export { compileAuthorization } from "./authz/compile-authorization.ts";
export type { AppliedPolicy, AuthorizationEngine, CompileAuthorizationOptions } from "./authz/compile-authorization.ts";
export type { AuthzHeaders, AuthzRequest, AuthzRequestAuth } from "./authz/authz-request.ts";
export {
  externalAuthzDeniedFlag,
  rbacDeniedBody,
  rbacDeniedGrpcStatus,
  rbacDeniedReply,
  rbacDeniedStatus,
} from "./authz/authz-decision.ts";
export type { AllowDecision, AuthzDecision, CustomDecision, DenyDecision, DryRunResult } from "./authz/authz-decision.ts";
export { gatewayNameLabel, policyApplies } from "./authz/policy-applies.ts";
export type { AuthzWorkload } from "./authz/policy-applies.ts";
export type { HostPortStripping } from "./authz/compile-rule.ts";
export { normalizeAuthzPath } from "./authz/normalize-authz-path.ts";
export type { NormalizedPath, PathNormalization } from "./authz/normalize-authz-path.ts";
export { noTelemetry, reportedMetrics, resolveTelemetry, sideTelemetry, telemetryModes } from "./telemetry/resolve-telemetry.ts";
export type {
  AccessLogPolicy,
  CustomTagSource,
  MetricOverride,
  ReportedMetric,
  ResolvedTelemetry,
  SideTelemetry,
  TagChange,
  TelemetryMode,
  TelemetryResolution,
  TelemetryWorkload,
  TracingPolicy,
} from "./telemetry/resolve-telemetry.ts";
export { compileLogFilter } from "./telemetry/compile-log-filter.ts";
export type { CompileLogFilterResult, LogFilter, LogFilterInput } from "./telemetry/compile-log-filter.ts";
