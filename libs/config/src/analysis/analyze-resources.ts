// Semantic analysis across resources, like `istioctl analyze`: each analyzer looks for one kind of
// mistake that single-resource validation cannot see (a subset no DestinationRule defines, two
// VirtualServices claiming a host, a policy selecting nothing, ...). Pure and deterministic: the same
// resources and context give the same findings in the same order.
import { sortIssues, type ConfigIssue } from "../config-issue.ts";
import type { MeshResource } from "../load-resources.ts";
import { findConflictingGateways } from "./conflicting-gateway-analyzer.ts";
import { findConflictingPeerAuthentications } from "./conflicting-peer-authentication-analyzer.ts";
import { findConflictingRateLimitPolicies } from "./conflicting-rate-limit-policy-analyzer.ts";
import { findConflictingSidecars } from "./conflicting-sidecar-analyzer.ts";
import { findDuplicateDestinationRules } from "./duplicate-destination-rule-analyzer.ts";
import { findDuplicateHosts } from "./duplicate-host-analyzer.ts";
import { findGatewayApiProblems } from "./gateway-api-analyzer.ts";
import { findGatewayHostMismatches } from "./gateway-host-mismatch-analyzer.ts";
import { findUnknownHosts } from "./host-not-found-analyzer.ts";
import { buildMeshIndex, type MeshIndex } from "./mesh-index.ts";
import { findMtlsConflicts } from "./mtls-conflict-analyzer.ts";
import { findUnknownNamespaces } from "./namespace-not-found-analyzer.ts";
import { findUnknownPorts } from "./port-not-found-analyzer.ts";
import { findMissingPorts } from "./port-required-analyzer.ts";
import { findSelectorsMatchingNothing } from "./selector-matches-nothing-analyzer.ts";
import { findShadowedRoutes } from "./shadowed-route-analyzer.ts";
import { findEmptySubsets } from "./subset-selects-nothing-analyzer.ts";
import { findUnknownDelegates } from "./unknown-delegate-analyzer.ts";
import { findUnknownGateways } from "./unknown-gateway-analyzer.ts";
import { findUnknownSubsets } from "./unknown-subset-analyzer.ts";
import { findUnreachablePolicies } from "./unreachable-policy-analyzer.ts";
import { findUnusedDelegates } from "./unused-delegate-analyzer.ts";
import { findWeightsNotHundred } from "./weights-not-hundred-analyzer.ts";

/** A service of the registry (e.g. a Kubernetes Service) with its ports and running instances. */
export interface CatalogService {
  name: string;
  namespace: string;
  /** The name clients use; `<name>.<namespace>.svc.<domainSuffix>` when unset. */
  hostname?: string;
  ports?: { number: number; name?: string; protocol?: string }[];
  /** Running instances (pods, VMs) with their labels; selectors are matched against these. */
  instances?: { labels: Record<string, string>; address?: string }[];
}

/** What the registry holds besides the resources: the services and their instances. */
export interface MeshCatalog {
  services: CatalogService[];
}

export interface AnalysisContext {
  /** The service registry. Analyzers that need it (HostNotFound, SelectorMatchesNothing, ...) are skipped without it. */
  catalog?: MeshCatalog;
  /** Namespace of resources without metadata.namespace; "default". */
  defaultNamespace?: string;
  /** Cluster DNS suffix of short service names; "cluster.local". */
  domainSuffix?: string;
}

/** An analyzer: the findings of one kind of mistake, given the indexed mesh. */
export type Analyzer = (index: MeshIndex) => ConfigIssue[];

/** Every analyzer, in the order they run. */
export const analyzers: readonly Analyzer[] = [
  findUnknownSubsets,
  findUnknownHosts,
  findUnknownGateways,
  findWeightsNotHundred,
  findShadowedRoutes,
  findDuplicateHosts,
  findDuplicateDestinationRules,
  findConflictingPeerAuthentications,
  findSelectorsMatchingNothing,
  findMtlsConflicts,
  findUnknownDelegates,
  findUnusedDelegates,
  findUnreachablePolicies,
  findUnknownPorts,
  findMissingPorts,
  findGatewayHostMismatches,
  findConflictingSidecars,
  findConflictingGateways,
  findEmptySubsets,
  findUnknownNamespaces,
  findConflictingRateLimitPolicies,
  findGatewayApiProblems,
];

/**
 * Analyzes `resources` (as returned by loadResources) together. Findings are ordered by file, line,
 * column, severity and code (sortIssues); each names the resource and field and, for resources
 * read by loadResources, the line. Resources without metadata.namespace are in
 * `context.defaultNamespace`. Runs in time linear in the size of the mesh (plus the findings).
 */
export function analyzeResources(resources: readonly MeshResource[], context: AnalysisContext = {}): ConfigIssue[] {
  const index = buildMeshIndex(resources, context);
  return sortIssues(analyzers.flatMap((analyze) => analyze(index)));
}
