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

/** The egress hosts of a Sidecar (all listeners; ports are not scoped yet); undefined = import everything. */
export function egressHosts(sidecar: SidecarResource | undefined): EgressHost[] | undefined {
  const listeners = sidecar?.spec.egress;
  if (listeners === undefined || listeners.length === 0) return undefined;
  return listeners.flatMap((l) =>
    l.hosts.map((h) => {
      const slash = h.indexOf("/");
      return slash < 0 ? { namespace: "*", dnsName: h.toLowerCase() } : { namespace: h.slice(0, slash), dnsName: h.slice(slash + 1).toLowerCase() };
    }),
  );
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
