// Endpoint pools by cluster and endpoint, shared by successive config snapshots so warm
// upstream connections survive a config change; pools no snapshot uses any more are closed.
import type { ClusterSpec } from "@meshwork/proxy-core";
import { EndpointPool } from "./endpoint-pool.ts";

function poolKey(cluster: ClusterSpec, host: string, port: number): string {
  return `${cluster.name}|${host}|${port}|${cluster.connectTimeoutMs}|${cluster.idleTimeoutMs}`;
}

export class PoolRegistry {
  private readonly pools = new Map<string, EndpointPool>();

  pool(cluster: ClusterSpec, host: string, port: number): EndpointPool {
    const key = poolKey(cluster, host, port);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new EndpointPool({ host, port, connectTimeoutMs: cluster.connectTimeoutMs, idleTimeoutMs: cluster.idleTimeoutMs });
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** After a config change: closes the pools of endpoints no cluster of `clusters` (or `extra`) has any more. */
  retainClusters(clusters: Iterable<ClusterSpec>): void {
    const keep = new Set<string>();
    for (const cluster of clusters) for (const e of cluster.endpoints) keep.add(poolKey(cluster, e.host, e.port));
    for (const [key, pool] of this.pools) {
      if (keep.has(key)) continue;
      pool.close();
      this.pools.delete(key);
    }
  }

  /** Every open pool. */
  all(): Set<EndpointPool> {
    return new Set(this.pools.values());
  }

  /** Closes every pool not in `inUse` (after a snapshot swap). */
  retainOnly(inUse: ReadonlySet<EndpointPool>): void {
    for (const [key, pool] of this.pools) {
      if (inUse.has(pool)) continue;
      pool.close();
      this.pools.delete(key);
    }
  }

  /** All pools, for the admin page. */
  entries(): IterableIterator<[string, EndpointPool]> {
    return this.pools.entries();
  }

  closeAll(): void {
    this.retainOnly(new Set());
  }
}
