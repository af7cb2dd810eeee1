// From a route's destination to the cluster it sends to. A route destination may leave the port
// unset (its `cluster` then reads `outbound||v1|reviews...`): Istio uses the service's only port,
// or — for a service with several — the port of the listener the request came in on. The
// resolver answers that once per destination object when the config is built, so the data path
// does one Map lookup per request.
import type { ClusterSpec, ProxyConfig } from "./proxy-config.ts";
import type { RouteDestination } from "./route-table.ts";

/** The parts of a destination that name a cluster. */
export interface DestinationRef {
  readonly host: string;
  readonly subset: string | undefined;
  readonly port: number | undefined;
}

/**
 * The cluster name of `destination` for a request on `listenerPort`: the destination's port, else
 * the host's single service port, else the listener port. `hostPorts` are the service ports of the
 * host (undefined or empty when the host is unknown: the listener port is used).
 */
export function clusterNameFor(destination: DestinationRef, listenerPort: number, hostPorts: readonly number[] | undefined): string {
  const port = destination.port ?? (hostPorts !== undefined && hostPorts.length === 1 ? hostPorts[0] : listenerPort);
  return `outbound|${port}|${destination.subset ?? ""}|${destination.host}`;
}

export interface ClusterResolver {
  /**
   * The cluster for `destination` on a connection to `listenerPort`, or undefined when there is
   * none (unknown host, undefined subset, a port the service lacks: the proxy answers 503 NC).
   * Destinations of the config's route table are precomputed; others take a slower path.
   */
  clusterFor(destination: RouteDestination | DestinationRef, listenerPort: number): ClusterSpec | undefined;
  /** One line per route destination of the table that has no cluster on any port. */
  readonly issues: readonly string[];
}

/** Precomputed answer for one destination object: a fixed cluster, or one per listener port. */
interface Resolved {
  readonly fixed: ClusterSpec | undefined;
  readonly byPort: ReadonlyMap<number, ClusterSpec> | undefined;
}

export interface ClusterResolverOptions {
  /**
   * Resolve each destination on its first clusterFor call (remembered per destination object,
   * weakly) instead of every destination of the route table up front. For a proxy that calls
   * few of thousands of services (the sidecar's snapshot): the answers are the same, the
   * entries of destinations never called are not built. A lazy resolver reports no `issues`.
   */
  readonly lazy?: boolean;
}

/** Builds the resolver of one config; call once per config, not per request. */
export function createClusterResolver(config: Pick<ProxyConfig, "routeTable" | "clusters" | "services">, options: ClusterResolverOptions = {}): ClusterResolver {
  const portsByHost = new Map<string, number[]>();
  for (const s of config.services) {
    let ports = portsByHost.get(s.host);
    if (!ports) portsByHost.set(s.host, (ports = []));
    if (!ports.includes(s.port)) ports.push(s.port);
  }
  // Lists of their own length (push leaves room for 17 ports: ~150 bytes a host, kept with the snapshot).
  for (const [host, ports] of portsByHost) portsByHost.set(host, ports.slice());
  const issues: string[] = [];
  /** The answer for `d`; a line in `issues` (naming `where`) when it has no cluster on any port. */
  const entryFor = (d: DestinationRef, where: string | undefined): Resolved => {
    const ports = portsByHost.get(d.host);
    let entry: Resolved;
    if (d.port !== undefined || (ports !== undefined && ports.length === 1)) {
      entry = { fixed: config.clusters.get(clusterNameFor(d, 0, ports)), byPort: undefined };
      if (entry.fixed === undefined && where !== undefined) issues.push(`${where}: no cluster "${clusterNameFor(d, 0, ports)}" ${reason(d, ports)}`);
    } else {
      const byPort = new Map<number, ClusterSpec>();
      for (const port of ports ?? []) {
        const cluster = config.clusters.get(clusterNameFor(d, port, ports));
        if (cluster) byPort.set(port, cluster);
      }
      entry = { fixed: undefined, byPort };
      if (byPort.size === 0 && where !== undefined) issues.push(`${where}: no cluster for "${clusterNameFor(d, 0, ports).replace("|0|", "||")}" ${reason(d, ports)}`);
    }
    return entry;
  };
  if (options.lazy === true) {
    const resolved = new WeakMap<DestinationRef, Resolved>();
    return {
      issues,
      clusterFor(destination, listenerPort) {
        let entry = resolved.get(destination);
        if (entry === undefined) {
          entry = entryFor(destination, undefined);
          resolved.set(destination, entry);
        }
        return entry.fixed ?? entry.byPort?.get(listenerPort);
      },
    };
  }
  const resolved = new Map<DestinationRef, Resolved>();
  const resolve = (d: DestinationRef, where: string): void => {
    if (!resolved.has(d)) resolved.set(d, entryFor(d, where));
  };
  for (const routes of config.routeTable.gateways.values()) {
    const hosts = new Set([...routes.exact.values(), ...routes.wildcards.map((w) => w.host)]);
    for (const host of hosts) {
      for (const route of host.routes) {
        const where = `route "${route.name}"`;
        if (route.action.type === "forward") for (const d of route.action.destinations) resolve(d, where);
        for (const m of route.mirrors) resolve(m.destination, `${where} mirror`);
      }
    }
  }
  return {
    issues,
    clusterFor(destination, listenerPort) {
      const entry = resolved.get(destination);
      if (entry !== undefined) return entry.fixed ?? entry.byPort?.get(listenerPort);
      return config.clusters.get(clusterNameFor(destination, listenerPort, portsByHost.get(destination.host)));
    },
  };
}

function reason(d: DestinationRef, ports: readonly number[] | undefined): string {
  if (ports === undefined) return `(host "${d.host}" is not defined by any ServiceEntry)`;
  if (d.port !== undefined && !ports.includes(d.port)) return `(host "${d.host}" has no port ${d.port}; it has ${ports.join(", ")})`;
  return `(subset "${d.subset ?? ""}" is not defined by the host's DestinationRule)`;
}
