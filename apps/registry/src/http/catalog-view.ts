// Views over the catalog that RegistryReads does not index directly: a node's services and checks,
// all checks, filters by tag and node meta (pure, tested beside).
import type { CatalogNode, HealthStatus, RegistryReads, ServiceDefinition, ServiceInstance } from "../registry-contract.ts";

export type InstanceCheck = ServiceInstance["checks"][number];

export function allInstances(state: RegistryReads): ServiceInstance[] {
  return Object.keys(state.services()).flatMap((name) => state.serviceInstances(name));
}

export function instancesOfNode(state: RegistryReads, node: string): ServiceInstance[] {
  return allInstances(state).filter((instance) => instance.node.node === node);
}

/** Every check once (a node check shows up with each of the node's instances), with its service. */
export function uniqueChecks(instances: readonly ServiceInstance[]): { check: InstanceCheck; service: ServiceDefinition | undefined }[] {
  const seen = new Map<string, { check: InstanceCheck; service: ServiceDefinition | undefined }>();
  for (const instance of instances) {
    for (const check of instance.checks) {
      const key = `${check.node}\u0000${check.checkId}`;
      if (!seen.has(key)) seen.set(key, { check, service: check.serviceId === instance.service.id ? instance.service : undefined });
    }
  }
  return [...seen.values()];
}

export function hasTags(service: ServiceDefinition, tags: readonly string[]): boolean {
  return tags.every((tag) => service.tags.includes(tag));
}

export function matchesNodeMeta(node: CatalogNode, pairs: readonly (readonly [string, string])[]): boolean {
  return pairs.every(([key, value]) => node.meta[key] === value);
}

export function filterByState<T extends { check: InstanceCheck }>(checks: readonly T[], state: HealthStatus | "any"): T[] {
  return checks.filter((item) => state === "any" || item.check.status === state);
}

/** A node's checks with their services: all of them when the state offers nodeChecks, else those seen through its instances. */
export function checksOfNode(state: RegistryReads, node: string): { check: InstanceCheck; service: ServiceDefinition | undefined }[] {
  const instances = instancesOfNode(state, node);
  if (state.nodeChecks === undefined) return uniqueChecks(instances);
  const services = new Map(instances.map((instance) => [instance.service.id, instance.service]));
  return state.nodeChecks(node).map((check) => ({ check, service: check.serviceId === undefined ? undefined : services.get(check.serviceId) }));
}

/** Every check of every node. */
export function allChecks(state: RegistryReads): { check: InstanceCheck; service: ServiceDefinition | undefined }[] {
  if (state.nodeChecks === undefined) return uniqueChecks(allInstances(state));
  return state.nodes().flatMap((node) => checksOfNode(state, node.node));
}
