// What a Watch (mesh.registry.v1.RegistryService/Watch) sees of the state: the index that moves
// when something under the prefix changes, and the whole state under the prefix as the proto's
// messages. Pure.
import type { RegistryKvEntry as ProtoKvEntry, RegistryServiceInstance as ProtoServiceInstance, WatchResponse } from "@meshwork/protocol";
import type { RegistryReads } from "../registry-contract.ts";
import { aggregateStatus } from "../state/aggregate-status.ts";

export type WatchKind = "kv" | "catalog";

export interface WatchView {
  /** The index a change under the prefix raises (the blocking query's index function). */
  readonly index: (state: RegistryReads) => number;
  /** Everything under the prefix, at `index` (not a keepalive). */
  readonly snapshot: (state: RegistryReads) => WatchResponse;
}

/** Parses the request's `kind`; undefined for anything else. */
export function parseWatchKind(kind: string): WatchKind | undefined {
  const lower = kind.toLowerCase();
  return lower === "kv" || lower === "catalog" ? lower : undefined;
}

/**
 * KV: `kvIndex(prefix)` (the highest ModifyIndex or deletion under the prefix; for a prefix that
 * never held a key, the last KV change anywhere, as Consul's blocking queries).
 * Catalog: the highest `catalogIndex(name)` of the services under the prefix seen so far by this
 * view (a service that disappears still wakes it: the state keeps its index); `catalogIndex()` for
 * the empty prefix or before any service matched.
 */
export function watchView(kind: WatchKind, prefix: string): WatchView {
  if (kind === "kv") {
    return {
      index: (state) => state.kvIndex(prefix),
      snapshot: (state) => ({ index: Math.max(1, state.kvIndex(prefix)), kvEntries: state.kvList(prefix).map(kvEntry), serviceInstances: [], keepalive: false }),
    };
  }
  if (prefix === "") {
    // The whole catalog: no name filter, and the index is the catalog's (no services() scan on
    // every applied entry, for every waiting watch).
    return {
      index: (state) => state.catalogIndex(),
      snapshot: (state) => ({
        index: Math.max(1, state.catalogIndex()),
        kvEntries: [],
        serviceInstances: [...state.serviceInstancesWhere(() => true).values()].flatMap((list) => list.map(serviceInstance)),
        keepalive: false,
      }),
    };
  }
  const seen = new Set<string>();
  const names = (state: RegistryReads): string[] => {
    for (const name of Object.keys(state.services())) if (name.startsWith(prefix)) seen.add(name);
    return [...seen].sort();
  };
  const index = (state: RegistryReads): number => {
    const matching = names(state);
    if (prefix === "" || matching.length === 0) return state.catalogIndex();
    return Math.max(...matching.map((name) => state.catalogIndex(name)));
  };
  return {
    index,
    snapshot: (state) => {
      const followed = new Set(names(state));
      return {
        index: Math.max(1, index(state)),
        kvEntries: [],
        serviceInstances: [...state.serviceInstancesWhere((name) => followed.has(name)).values()].flatMap((list) => list.map(serviceInstance)),
        keepalive: false,
      };
    },
  };
}

function kvEntry(entry: ReturnType<RegistryReads["kvList"]>[number]): ProtoKvEntry {
  const value = entry.value;
  return {
    key: entry.key,
    value: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
    flags: entry.flags,
    createIndex: entry.createIndex,
    modifyIndex: entry.modifyIndex,
    lockIndex: entry.lockIndex,
    session: entry.session ?? "",
  };
}

function serviceInstance(instance: ReturnType<RegistryReads["serviceInstances"]>[number]): ProtoServiceInstance {
  return {
    node: instance.node.node,
    nodeAddress: instance.node.address,
    nodeMeta: { ...instance.node.meta },
    serviceId: instance.service.id,
    serviceName: instance.service.service,
    address: instance.service.address,
    port: instance.service.port,
    tags: [...instance.service.tags],
    meta: { ...instance.service.meta },
    health: aggregateStatus(instance.checks),
    modifyIndex: instance.service.modifyIndex,
  };
}
