// Endpoint pools by cluster and endpoint, shared by successive config snapshots so warm
// upstream connections survive a config change; pools no snapshot uses any more are closed.
import type { ClusterSpec } from "@meshwork/proxy-core";
import { EndpointPool } from "./endpoint-pool.ts";

export class PoolRegistry {
  private readonly pools = new Map<string, EndpointPool>();

  pool(cluster: ClusterSpec, host: string, port: number): EndpointPool {
    const key = `${cluster.name}|${host}|${port}|${cluster.connectTimeoutMs}|${cluster.idleTimeoutMs}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new EndpointPool({ host, port, connectTimeoutMs: cluster.connectTimeoutMs, idleTimeoutMs: cluster.idleTimeoutMs });
      this.pools.set(key, pool);
    }
    return pool;
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
