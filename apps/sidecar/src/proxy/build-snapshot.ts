// Turns a ProxyConfig into the snapshot listeners serve: one ClusterRuntime per cluster, reusing
// the previous snapshot's runtime when a cluster did not change (so circuit-breaker counts,
// outlier ejections and in-flight counts carry over a config push), and a lazily built
// PassthroughCluster per unknown authority (Istio's outboundTrafficPolicy ALLOW_ANY).
import {
  createClusterResolver,
  type ClusterSpec,
  type Locality,
  type ProxyConfig,
  type RouteDestination,
} from "@meshwork/proxy-core";
import type { PoolRegistry } from "../upstream/pool-registry.ts";
import { ClusterRuntime } from "./cluster-runtime.ts";
import { singleEndpointClusterSpec } from "./single-endpoint-cluster.ts";
import type { ClusterLookup, ProxySnapshot } from "./proxy-snapshot.ts";

export interface SnapshotOptions {
  readonly pools: PoolRegistry;
  readonly namespace: string;
  readonly proxyLabels: Readonly<Record<string, string>>;
  readonly gateway: string;
  /** ALLOW_ANY (Istio's default): unknown hosts are proxied to themselves; REGISTRY_ONLY answers 404 NR. */
  readonly outboundTrafficPolicy: "ALLOW_ANY" | "REGISTRY_ONLY";
  readonly proxyLocality: Locality | undefined;
  readonly nowMs: number;
  readonly random?: () => number;
}

export interface BuiltSnapshot extends ProxySnapshot {
  readonly config: ProxyConfig;
}

/** A spec's identity for reusing its runtime across snapshots, computed only for clusters in use. */
const fingerprints = new WeakMap<ClusterRuntime, string>();

export function buildSnapshot(config: ProxyConfig, options: SnapshotOptions, previous: BuiltSnapshot | undefined): BuiltSnapshot {
  const built = new Map<string, ClusterRuntime>();
  // The previous snapshot's runtimes (not the snapshot itself: no chain of old configs stays reachable).
  const candidates = new Map<string, ClusterRuntime>();
  if (previous) for (const runtime of previous.clusters.built()) candidates.set(runtime.name, runtime);
  const clusters: ClusterLookup = {
    get(name) {
      const existing = built.get(name);
      if (existing) return existing;
      const spec = config.clusters.get(name);
      if (!spec) return undefined;
      // The endpoints' pools depend on auto mTLS and on the identities secure naming admits too (a
      // PeerAuthentication or a service account changes them without touching the spec): a cluster
      // is unchanged only when all three are.
      const fingerprint = `${JSON.stringify(spec)}|${JSON.stringify(config.autoMtls?.get(name) ?? null)}|${JSON.stringify(config.serviceIdentities?.get(spec.host) ?? null)}`;
      // An unchanged cluster keeps its runtime: breaker counts, ejections and in-flight counts carry over.
      const old = candidates.get(name);
      const runtime = old && fingerprints.get(old) === fingerprint ? old : new ClusterRuntime(spec, options.pools, options.nowMs, options.proxyLocality, options.random);
      fingerprints.set(runtime, fingerprint);
      built.set(name, runtime);
      return runtime;
    },
    built: () => built.values(),
    peek: (name) => built.get(name),
  };
  // Lazy: each route destination is resolved on its first request, as the runtimes are built
  // (a sidecar configured with thousands of services calls few of them).
  const resolver = createClusterResolver(config, { lazy: true });
  const byDestination = new Map<RouteDestination, ClusterRuntime | undefined>();
  const passthrough = new Map<string, ClusterRuntime>();
  return {
    version: config.version,
    config,
    routeTable: config.routeTable,
    tcpRoutes: config.tcpRoutes,
    gateway: options.gateway,
    namespace: options.namespace,
    proxyLabels: options.proxyLabels,
    clusters,
    clusterFor(destination, port) {
      const cached = byDestination.get(destination);
      if (cached !== undefined) return cached;
      const spec = resolver.clusterFor(destination, port);
      const runtime = spec ? clusters.get(spec.name) : undefined;
      // Destinations whose cluster depends on the port are not cached (rare: multi-port host, no port in the route).
      if (destination.port !== undefined) byDestination.set(destination, runtime);
      return runtime;
    },
    passthrough(authority, port) {
      if (options.outboundTrafficPolicy === "REGISTRY_ONLY" || authority === "") return undefined;
      let runtime = passthrough.get(authority);
      if (!runtime) {
        runtime = new ClusterRuntime(passthroughSpec(authority, port), options.pools, options.nowMs, undefined, options.random);
        passthrough.set(authority, runtime);
      }
      return runtime;
    },
  };
}

/** A one-endpoint cluster to the authority itself, like Envoy's PassthroughCluster (original destination). */
function passthroughSpec(authority: string, port: number): ClusterSpec {
  const colon = authority.lastIndexOf(":");
  const hasPort = colon > 0 && authority.lastIndexOf("]") < colon;
  const rawHost = hasPort ? authority.slice(0, colon) : authority;
  const host = rawHost.startsWith("[") ? rawHost.slice(1, -1) : rawHost;
  return singleEndpointClusterSpec({ name: "PassthroughCluster", host, addressHost: rawHost, port, portName: "", protocol: "http", discovery: "original-destination", origin: "original destination" });
}
