// Running a resolved prepared query against the catalog (Consul's PreparedQuery.Execute in one
// datacenter): the service's instances (name without case), minus those with a critical check —
// or any check not passing with OnlyPassing — not counting IgnoreCheckIDs, filtered by NodeMeta,
// ServiceMeta and Tags; shuffled when given randomness; the "near" node moved first; cut to the
// limit. Failover has no other datacenter to go to here, so Failovers is always 0.
import type { PreparedQueryDefinition, RegistryReads, ServiceInstance } from "../registry-contract.ts";
import { matchesQueryTags } from "./matches-query-tags.ts";

export interface ExecuteOptions {
  /** This agent's node: what "_agent" stands for. */
  readonly agentNode: string;
  /** `?near=` of the request; the query's Service.Near when absent. "_ip" sorts nothing (no source address here). */
  readonly near?: string | undefined;
  /** `?limit=`: at most this many instances (0: all). */
  readonly limit?: number;
  /** Shuffles the instances first (Consul does, to spread load); absent: catalog order (DNS keeps it, as for services). */
  readonly random?: () => number;
}

export interface QueryExecution {
  readonly service: string;
  readonly instances: readonly ServiceInstance[];
  readonly failovers: number;
}

/** The instances `query` selects in `reads`, in answer order. */
export function executePreparedQuery(reads: RegistryReads, query: PreparedQueryDefinition, options: ExecuteOptions): QueryExecution {
  const { service } = query;
  const wanted = service.service.toLowerCase();
  const names = Object.keys(reads.services()).filter((name) => name.toLowerCase() === wanted);
  const ignored = new Set(service.ignoreCheckIds);
  const instances = names
    .flatMap((name) => reads.serviceInstances(name))
    .filter((instance) => instance.checks.every((check) => ignored.has(check.checkId) || (service.onlyPassing ? check.status === "passing" : check.status !== "critical")))
    .filter((instance) => satisfiesMeta(instance.node.meta, service.nodeMeta) && satisfiesMeta(instance.service.meta, service.serviceMeta))
    .filter((instance) => matchesQueryTags(instance.service.tags, service.tags));
  if (options.random !== undefined) shuffle(instances, options.random);
  const near = options.near !== undefined && options.near !== "" ? options.near : service.near;
  const source = near === "_agent" ? options.agentNode : near === "_ip" ? "" : near;
  if (source !== "") {
    // As Consul: without coordinates there is no distance sort, but the source node goes first
    // when it is among the first ten (where a distance sort would have put it).
    const at = instances.slice(0, 10).findIndex((instance) => instance.node.node === source);
    if (at > 0) [instances[0], instances[at]] = [instances[at] as ServiceInstance, instances[0] as ServiceInstance];
  }
  const limit = options.limit ?? 0;
  return { service: service.service, instances: limit > 0 ? instances.slice(0, limit) : instances, failovers: 0 };
}

/** Consul's SatisfiesMetaFilters: every filter key present with the same value. */
function satisfiesMeta(meta: Readonly<Record<string, string>>, filters: Readonly<Record<string, string>>): boolean {
  return Object.entries(filters).every(([key, value]) => Object.hasOwn(meta, key) && meta[key] === value);
}

/** Fisher–Yates with the given randomness. */
function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}
