// The clusters of one proxy scope, compiled per ServiceEntry and merged, so that a change to one
// service (an endpoint registered, a health flip) recompiles that service's piece only: the other
// pieces, and the very resource objects in them, are reused (ProxyCompiler keeps them by the
// ServiceEntry's identity). The merge gives exactly what compileClusters + serviceIdentities +
// autoMtlsEndpoints give over the whole list (buildProxyConfig's outbound half): the first
// ServiceEntry defining a host:port wins, DestinationRules that apply to no service are reported.
import type { MeshResource } from "@meshwork/config";
import { compileClusters, isExportedTo, type MeshH2UpgradePolicy } from "../compile-clusters.ts";
import { autoMtlsEndpoints, serviceIdentities } from "../peer-authentication/service-identities.ts";
import type { ServicePort } from "../proxy-config.ts";
import type { ClusterBody, NamedResource } from "./proxy-resources.ts";

type ServiceEntry = MeshResource<"ServiceEntry">;

/** One service port of a piece: the port, its clusters (service then subsets) and their endpoints. */
export interface ClusterPiecePort {
  readonly service: ServicePort;
  readonly cluster: readonly NamedResource<"cluster">[];
  readonly endpoints: readonly NamedResource<"endpoints">[];
}

/** What one ServiceEntry gives a proxy scope. */
export interface ClusterPiece {
  /** By `host:port`, in compile order. */
  readonly ports: ReadonlyMap<string, ClusterPiecePort>;
  /** Secure naming of its hosts (empty when it is not exported to the scope's namespace). */
  readonly identities: ReadonlyMap<string, readonly string[]>;
  /** DestinationRule findings "applies to no service" as if this entry were the only one (intersected by the merge). */
  readonly unusedRules: readonly string[];
  /** Whether it was compiled from WorkloadEntries (a selector without inline endpoints): then it is only as fresh as they are. */
  readonly usesWorkloadEntries: boolean;
}

export interface PieceContext {
  /** The proxy's namespace. */
  readonly namespace: string;
  readonly domainSuffix: string;
  /** Only matched against DestinationRule workloadSelectors. */
  readonly proxyLabels: Readonly<Record<string, string>>;
  readonly rootNamespace: string;
  /** MeshConfig `h2UpgradePolicy` (DO_NOT_UPGRADE when unset). */
  readonly h2UpgradePolicy?: MeshH2UpgradePolicy | undefined;
  readonly trustDomain: string;
  readonly workloadEntries: readonly MeshResource<"WorkloadEntry">[];
  readonly destinationRules: readonly MeshResource<"DestinationRule">[];
  /** Every PeerAuthentication (auto mTLS follows the destination's policy, whatever its namespace). */
  readonly peerAuthentications: readonly MeshResource<"PeerAuthentication">[];
}

const unusedRulePrefix = "DestinationRule \"";

/** Whether a ServiceEntry's endpoints come from WorkloadEntries (its workloadSelector, no inline endpoints). */
export function usesWorkloadEntries(se: ServiceEntry): boolean {
  return se.spec.endpoints === undefined && se.spec.workloadSelector?.labels !== undefined;
}

export function compileClusterPiece(se: ServiceEntry, context: PieceContext): ClusterPiece {
  const compiled = compileClusters(
    { serviceEntries: [se], workloadEntries: context.workloadEntries, destinationRules: context.destinationRules },
    { namespace: context.namespace, domainSuffix: context.domainSuffix, proxyLabels: context.proxyLabels, rootNamespace: context.rootNamespace, h2UpgradePolicy: context.h2UpgradePolicy },
  );
  const autoMtls = autoMtlsEndpoints(compiled.clusters, compiled.services, context.peerAuthentications, context.rootNamespace);
  const ports = new Map<string, { service: ServicePort; cluster: NamedResource<"cluster">[]; endpoints: NamedResource<"endpoints">[] }>();
  for (const service of compiled.services) ports.set(`${service.host}:${service.port}`, { service, cluster: [], endpoints: [] });
  for (const spec of compiled.clusters.values()) {
    const port = ports.get(`${spec.host}:${spec.port}`);
    if (port === undefined) continue;
    const { endpoints: list, ...body } = spec;
    port.cluster.push({ name: spec.name, body: body satisfies ClusterBody });
    const mtls = autoMtls.get(spec.name);
    port.endpoints.push({ name: spec.name, body: { cluster: spec.name, endpoints: list, ...(mtls === undefined ? {} : { autoMtls: mtls }) } });
  }
  const exported = isExportedTo(se.spec.exportTo, se.metadata.namespace ?? context.namespace, context.namespace);
  return {
    ports,
    identities: exported ? serviceIdentities([se], context.workloadEntries, { namespace: context.namespace, trustDomain: context.trustDomain }) : new Map(),
    unusedRules: compiled.issues.filter((i) => i.startsWith(unusedRulePrefix)),
    usesWorkloadEntries: usesWorkloadEntries(se),
  };
}

/**
 * `piece` with the parts equal in content to `before`'s (the piece of the same ServiceEntry before
 * a change) replaced by `before`'s very objects: the service ports, clusters, endpoints and secure
 * naming an endpoint change did not touch keep their identity, so what callers built or encoded
 * from them is reused (ProxyCompiler's merged lists, encoded bodies).
 */
export function adoptUnchanged(piece: ClusterPiece, before: ClusterPiece): ClusterPiece {
  const same = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);
  const adoptList = <T extends NamedResource>(list: readonly T[], old: readonly T[]): T[] => list.map((r) => old.find((o) => o.name === r.name && same(o.body, r.body)) ?? r);
  const ports = new Map<string, ClusterPiecePort>();
  for (const [key, part] of piece.ports) {
    const old = before.ports.get(key);
    ports.set(
      key,
      old === undefined
        ? part
        : { service: same(part.service, old.service) ? old.service : part.service, cluster: adoptList(part.cluster, old.cluster), endpoints: adoptList(part.endpoints, old.endpoints) },
    );
  }
  const identities = same([...piece.identities], [...before.identities]) ? before.identities : piece.identities;
  return { ...piece, ports, identities };
}

export interface MergedClusters {
  readonly cluster: NamedResource<"cluster">[];
  readonly endpoints: NamedResource<"endpoints">[];
  readonly services: ServicePort[];
  readonly serviceIdentities: Map<string, string[]>;
  readonly issues: string[];
}

/**
 * Merges the pieces of `entries` (same order, one piece each) as compileClusters would have
 * compiled the list. `unusedRulesAlone` gives the findings for no ServiceEntry at all (every
 * visible rule), used when the list is empty.
 */
export function mergeClusterPieces(entries: readonly ServiceEntry[], pieces: readonly ClusterPiece[], namespace: string, unusedRulesAlone: () => readonly string[]): MergedClusters {
  const cluster: NamedResource<"cluster">[] = [];
  const endpoints: NamedResource<"endpoints">[] = [];
  const services: ServicePort[] = [];
  const identities = new Map<string, string[]>();
  const issues: string[] = [];
  const definedBy = new Map<string, string>();
  const unusedCount = new Map<string, number>();
  entries.forEach((se, i) => {
    const piece = pieces[i];
    if (piece === undefined) throw new Error(`mergeClusterPieces: no piece for ServiceEntry #${i}`);
    for (const u of piece.unusedRules) unusedCount.set(u, (unusedCount.get(u) ?? 0) + 1);
    for (const [host, ids] of piece.identities) {
      const list = identities.get(host) ?? [];
      for (const id of ids) if (!list.includes(id)) list.push(id);
      identities.set(host, list);
    }
    const seNs = se.metadata.namespace ?? namespace;
    if (!isExportedTo(se.spec.exportTo, seNs, namespace)) return;
    const seName = `${seNs}/${se.metadata.name}`;
    for (const rawHost of se.spec.hosts) {
      const host = rawHost.toLowerCase();
      for (const port of se.spec.ports ?? []) {
        const key = `${host}:${port.number}`;
        const earlier = definedBy.get(key);
        if (earlier !== undefined) {
          issues.push(`ServiceEntry "${seName}": ${key} is already defined by ServiceEntry "${earlier}"; ignored (the first definition wins)`);
          continue;
        }
        definedBy.set(key, seName);
        const part = piece.ports.get(key);
        if (part === undefined) continue;
        services.push(part.service);
        cluster.push(...part.cluster);
        endpoints.push(...part.endpoints);
      }
    }
  });
  const first = pieces[0];
  const unused = first === undefined ? unusedRulesAlone() : first.unusedRules.filter((u) => unusedCount.get(u) === pieces.length);
  issues.push(...unused);
  return { cluster, endpoints, services, serviceIdentities: identities, issues };
}
