// Istio's Sidecar scoping: which Sidecar resource configures a proxy, and whether a service or
// VirtualService is imported by its egress hosts (`namespace/dnsName`, SidecarScope in pilot).
import type { MeshResource } from "@meshwork/config";
import { labelsMatch } from "../compile-clusters.ts";

type SidecarResource = MeshResource<"Sidecar">;

/**
 * The Sidecar that applies to a proxy in `namespace` with `labels`: one of its namespace whose
 * workloadSelector matches (the first by name), else its namespace's Sidecar without a selector,
 * else the root namespace's Sidecar without a selector (the mesh default); undefined when none.
 * Resources without a namespace are in `namespace`.
 */
export function selectSidecar(
  sidecars: readonly SidecarResource[],
  proxy: { readonly namespace: string; readonly labels: Readonly<Record<string, string>> },
  rootNamespace: string,
): SidecarResource | undefined {
  const byName = [...sidecars].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  const inNs = (ns: string) => byName.filter((s) => (s.metadata.namespace ?? proxy.namespace) === ns);
  const own = inNs(proxy.namespace);
  const selected = own.find((s) => {
    const selector = s.spec.workloadSelector?.labels;
    return selector !== undefined && Object.keys(selector).length > 0 && labelsMatch(selector, proxy.labels);
  });
  if (selected) return selected;
  const namespaceWide = own.find((s) => s.spec.workloadSelector?.labels === undefined || Object.keys(s.spec.workloadSelector.labels).length === 0);
  if (namespaceWide) return namespaceWide;
  return inNs(rootNamespace).find((s) => s.spec.workloadSelector?.labels === undefined);
}

/** One parsed egress host: the namespace part (`*`, `.`, `~` or a name) and the DNS part (`*`, `*.suffix` or an FQDN). */
export interface EgressHost {
  readonly namespace: string;
  readonly dnsName: string;
}

/**
 * The egress hosts of a Sidecar, all listeners together (what VirtualServices are scoped by);
 * undefined = import everything. Service ports are scoped per listener port: egressScope.
 */
export function egressHosts(sidecar: SidecarResource | undefined): EgressHost[] | undefined {
  const listeners = sidecar?.spec.egress;
  if (listeners === undefined || listeners.length === 0) return undefined;
  return listeners.flatMap((l) => parseHosts(l.hosts));
}

/**
 * The egress listeners of a Sidecar by port, as Istio's SidecarScope applies them to service
 * ports: a listener with a port (not 0, a Unix socket) is the only one that imports services on
 * that port; the catch-all listener (no port) imports the other ports of its hosts; a port with
 * neither is not imported. Undefined: no egress, everything is imported.
 */
export interface EgressScope {
  readonly byPort: ReadonlyMap<number, readonly EgressHost[]>;
  /** The hosts of the listener without a port; undefined when every listener has a port. */
  readonly catchAll: readonly EgressHost[] | undefined;
}

export function egressScope(sidecar: SidecarResource | undefined): EgressScope | undefined {
  const listeners = sidecar?.spec.egress;
  if (listeners === undefined || listeners.length === 0) return undefined;
  const byPort = new Map<number, EgressHost[]>();
  let catchAll: EgressHost[] | undefined;
  for (const listener of listeners) {
    const number = listener.port?.number;
    if (listener.port === undefined) catchAll ??= parseHosts(listener.hosts);
    else if (number !== undefined && number > 0 && !byPort.has(number)) byPort.set(number, parseHosts(listener.hosts));
  }
  return { byPort, catchAll };
}

/** Whether service port `port` of `host` (owned by `ownerNamespace`) is imported by `scope` for a proxy in `proxyNamespace`. */
export function isImportedOnPort(scope: EgressScope | undefined, ownerNamespace: string, host: string, port: number, proxyNamespace: string): boolean {
  if (scope === undefined) return true;
  const hosts = scope.byPort.get(port) ?? scope.catchAll;
  return hosts !== undefined && isImported(hosts, ownerNamespace, host, proxyNamespace);
}

/**
 * `serviceEntry` cut to what `scope` imports: the same object when everything is, none when
 * nothing is, else one entry per set of hosts imported on the same ports (hosts and ports cut
 * down; other fields as they are). `cut` makes an entry from hosts and port numbers (callers cache).
 */
export function scopeServiceEntry<S extends { readonly spec: { readonly hosts: readonly string[]; readonly ports?: readonly { readonly number: number }[] | undefined } }>(
  serviceEntry: S,
  options: { readonly scope: EgressScope | undefined; readonly ownerNamespace: string; readonly proxyNamespace: string; readonly cut: (hosts: readonly string[], ports: readonly number[] | undefined) => S },
): S[] {
  const { scope, ownerNamespace, proxyNamespace } = options;
  if (scope === undefined) return [serviceEntry];
  const ports = serviceEntry.spec.ports;
  // Hosts by the ports they are imported on (in host order); an entry without ports is imported by host.
  const groups = new Map<string, { hosts: string[]; ports: number[] | undefined }>();
  for (const host of serviceEntry.spec.hosts) {
    const kept = ports?.filter((p) => isImportedOnPort(scope, ownerNamespace, host, p.number, proxyNamespace)).map((p) => p.number);
    const imported = kept === undefined ? [...scope.byPort.values(), scope.catchAll ?? []].some((hosts) => isImported(hosts, ownerNamespace, host, proxyNamespace)) : kept.length > 0;
    if (!imported) continue;
    const key = kept === undefined ? "" : kept.join(",");
    const group = groups.get(key) ?? { hosts: [], ports: kept };
    group.hosts.push(host);
    groups.set(key, group);
  }
  const only = groups.size === 1 ? [...groups.values()][0] : undefined;
  if (only !== undefined && only.hosts.length === serviceEntry.spec.hosts.length && (ports === undefined || only.ports?.length === ports.length)) return [serviceEntry];
  return [...groups.values()].map((g) => options.cut(g.hosts, g.ports));
}

function parseHosts(hosts: readonly string[]): EgressHost[] {
  return hosts.map((h) => {
    const slash = h.indexOf("/");
    return slash < 0 ? { namespace: "*", dnsName: h.toLowerCase() } : { namespace: h.slice(0, slash), dnsName: h.slice(slash + 1).toLowerCase() };
  });
}

/**
 * Whether `host` of a resource in `ownerNamespace` is imported by `hosts` for a proxy in
 * `proxyNamespace` (`.` = the proxy's namespace, `~` = none, `*` = any). `*.suffix` matches hosts
 * ending in `.suffix`; a wildcard host is imported only by the same or a wider pattern.
 */
export function isImported(hosts: readonly EgressHost[] | undefined, ownerNamespace: string, host: string, proxyNamespace: string): boolean {
  if (hosts === undefined) return true;
  const lower = host.toLowerCase();
  return hosts.some((h) => {
    if (h.namespace === "~") return false;
    if (h.namespace === "." ? ownerNamespace !== proxyNamespace : h.namespace !== "*" && h.namespace !== ownerNamespace) return false;
    return dnsMatches(h.dnsName, lower);
  });
}

function dnsMatches(pattern: string, host: string): boolean {
  if (pattern === "*") return true;
  if (pattern.startsWith("*.")) {
    const suffix = pattern.slice(1);
    return host === pattern || (!host.startsWith("*") && host.endsWith(suffix)) || (host.startsWith("*.") && host.endsWith(suffix) && host.length > pattern.length);
  }
  return host === pattern;
}
