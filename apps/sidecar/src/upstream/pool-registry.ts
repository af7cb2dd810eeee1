// Endpoint pools by cluster and endpoint, shared by successive config snapshots so warm
// upstream connections survive a config change; pools no snapshot uses any more are closed.
import type { ClusterSpec } from "@meshwork/proxy-core";
import type { UpstreamTls } from "../tls/upstream-tls.ts";
import { EndpointPool } from "./endpoint-pool.ts";

/** The TLS towards endpoint `index` of `cluster` under the current config; undefined = plain text. */
export type UpstreamTlsResolver = (cluster: ClusterSpec, index: number) => UpstreamTls | undefined;

/** A pool and the cluster endpoint it was made for, so a config change checks only the pools that exist. */
interface PoolEntry {
  readonly pool: EndpointPool;
  readonly cluster: string;
  readonly host: string;
  readonly port: number;
}

export class PoolRegistry {
  private readonly pools = new Map<string, PoolEntry>();
  private tlsResolver: UpstreamTlsResolver | undefined;

  /** Sets how endpoints get their TLS (call before building a snapshot of a new config). Pools are keyed by it too. */
  setTlsResolver(resolver: UpstreamTlsResolver | undefined): void {
    this.tlsResolver = resolver;
  }

  pool(cluster: ClusterSpec, host: string, port: number): EndpointPool {
    const tls = this.tlsOf(cluster, host, port);
    const key = poolKey(cluster, host, port, tls);
    let entry = this.pools.get(key);
    if (!entry) {
      entry = { pool: new EndpointPool({ host, port, connectTimeoutMs: cluster.connectTimeoutMs, idleTimeoutMs: cluster.idleTimeoutMs, tls }), cluster: cluster.name, host, port };
      this.pools.set(key, entry);
    }
    return entry.pool;
  }

  /**
   * After a config change: closes the pools of endpoints that no cluster of `clusters` (by name)
   * or `extra` has any more with the same settings (timeouts, TLS). Looks only at the pools that
   * exist — those of the clusters used so far — not at every cluster of the config.
   */
  retainClusters(clusters: ReadonlyMap<string, ClusterSpec>, extra: readonly ClusterSpec[] = []): void {
    for (const [key, { pool, cluster: name, host, port }] of this.pools) {
      const kept = [clusters.get(name), ...extra.filter((c) => c.name === name)].some(
        (cluster) => cluster !== undefined && cluster.endpoints.some((e) => e.host === host && e.port === port) && poolKey(cluster, host, port, this.tlsOf(cluster, host, port)) === key,
      );
      if (kept) continue;
      pool.close();
      this.pools.delete(key);
    }
  }

  /** Every open pool. */
  all(): Set<EndpointPool> {
    return new Set(Array.from(this.pools.values(), (entry) => entry.pool));
  }

  /** Closes every pool not in `inUse` (after a snapshot swap). */
  retainOnly(inUse: ReadonlySet<EndpointPool>): void {
    for (const [key, { pool }] of this.pools) {
      if (inUse.has(pool)) continue;
      pool.close();
      this.pools.delete(key);
    }
  }

  closeAll(): void {
    this.retainOnly(new Set());
  }

  private tlsOf(cluster: ClusterSpec, host: string, port: number): UpstreamTls | undefined {
    if (!this.tlsResolver) return undefined;
    const index = cluster.endpoints.findIndex((e) => e.host === host && e.port === port);
    return index < 0 ? undefined : this.tlsResolver(cluster, index);
  }
}

/**
 * Keyed by the connection-pool limits too: the connections of a pool count against the circuit
 * breaker of the config that opened them, so a pool kept across a change of limits would let its
 * idle connections (and those it opens for queued requests) bypass the new limits. As Envoy builds
 * new connection pools for an updated cluster, a DestinationRule's new limits get fresh pools.
 */
function poolKey(cluster: ClusterSpec, host: string, port: number, tls: UpstreamTls | undefined): string {
  return `${cluster.name}|${host}|${port}|${cluster.connectTimeoutMs}|${cluster.idleTimeoutMs}|${tls?.key ?? "plaintext"}|${JSON.stringify(cluster.connectionPool ?? null)}`;
}
