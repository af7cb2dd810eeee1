// The DNS server's view of the state: `services()`, `nodes()` and `serviceInstances(name)` memoized
// until the state changes (its applied index moves, or a snapshot install replaces it). The state
// builds these lists by scanning every node, which DNS would otherwise repeat on each query.
import type { RegistryReads } from "../registry-contract.ts";

/** Most service names remembered per index (a flood of random names cannot grow it further). */
const MAX_CACHED_SERVICES = 4096;

/** A RegistryReads over `current()` whose catalog lists are computed once per applied index. */
export function cachedReads(current: () => RegistryReads): RegistryReads {
  let state: RegistryReads | undefined;
  let index = -1;
  let services: ReturnType<RegistryReads["services"]> | undefined;
  let nodes: ReturnType<RegistryReads["nodes"]> | undefined;
  const instances = new Map<string, ReturnType<RegistryReads["serviceInstances"]>>();
  const fresh = (): RegistryReads => {
    const now = current();
    if (now !== state || now.appliedIndex !== index) {
      state = now;
      index = now.appliedIndex;
      services = undefined;
      nodes = undefined;
      instances.clear();
    }
    return now;
  };
  return {
    get appliedIndex() {
      return fresh().appliedIndex;
    },
    kvGet: (key) => fresh().kvGet(key),
    kvList: (prefix) => fresh().kvList(prefix),
    kvKeys: (prefix, separator) => fresh().kvKeys(prefix, separator),
    kvIndex: (prefix) => fresh().kvIndex(prefix),
    sessions: () => fresh().sessions(),
    session: (id) => fresh().session(id),
    catalogIndex: (service) => fresh().catalogIndex(service),
    queries: () => fresh().queries(),
    query: (id) => fresh().query(id),
    queryIndex: () => fresh().queryIndex(),
    serviceInstancesWhere: (include) => fresh().serviceInstancesWhere(include),
    services: () => {
      const reads = fresh();
      services ??= reads.services();
      return services;
    },
    nodes: () => {
      const reads = fresh();
      nodes ??= reads.nodes();
      return nodes;
    },
    serviceInstances: (service) => {
      const reads = fresh();
      let found = instances.get(service);
      if (found === undefined) {
        found = reads.serviceInstances(service);
        if (instances.size < MAX_CACHED_SERVICES) instances.set(service, found);
      }
      return found;
    },
  };
}
