// The names a sidecar's DNS proxy answers itself (Istio's DNS proxying: pilot's NameTable,
// pkg/dns/server/name_table.go, and the agent's alternate names, pkg/dns GenerateAltHosts): every
// service host of the proxy's config with IP addresses, and for a Kubernetes-style host
// `<name>.<namespace>.svc.<domain suffix>` the short forms a pod's resolver tries
// (`<name>.<namespace>.svc`, `<name>.<namespace>`, and `<name>` in the proxy's own namespace).
// A host without addresses (a headless Kubernetes Service) is answered with its ready endpoints'
// IPs, and each endpoint that names its pod's hostname with `<hostname>.<host>` (a StatefulSet's
// `mysql-0.mysql.default.svc.cluster.local`), as Istio's BuildNameTable does for headless services.
// Built only when DNS proxying is on. Pure.
import type { ClusterSpec, ServicePort } from "../proxy-config.ts";
import { formatIp, parseCidr, parseIp } from "../parse-cidr.ts";
import { domainAliases } from "../resolve-host.ts";

/** One host the proxy answers for. */
export interface NameEntry {
  /** The service host, lowercase (`*.example.com` for a wildcard host). */
  readonly host: string;
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
  /** The names that answer with these addresses: the host, then its short forms. */
  readonly names: readonly string[];
  /** `namespace/name` of the ServiceEntry (or registry service) that gave the first address. */
  readonly serviceEntry: string;
  readonly autoAllocated: boolean;
  /**
   * Set when the addresses are endpoints' rather than the service's: `service` for a host without
   * addresses (a headless Service: every ready endpoint), `pod` for one endpoint's `<hostname>.<host>`.
   */
  readonly headless?: "service" | "pod";
}

/**
 * The endpoint label naming a pod's hostname under its headless service (Kubernetes sets an
 * EndpointSlice endpoint's `hostname` when the pod's `spec.hostname` is set and its `spec.subdomain`
 * is the Service's name; the Kubernetes source carries it in this label). `mysql-0` on an endpoint
 * of `mysql.default.svc.cluster.local` answers `mysql-0.mysql.default.svc.cluster.local`.
 */
export const podHostnameLabel = "meshwork.io/pod-hostname";

export interface NameTable {
  /** Lowercase name without the trailing dot → its entry (hosts and their short forms). */
  readonly names: ReadonlyMap<string, NameEntry>;
  /** Wildcard hosts with addresses, `*.example.com` as suffix `.example.com`, longest suffix first. */
  readonly wildcards: readonly { readonly suffix: string; readonly entry: NameEntry }[];
  /** Every entry once, in service order (admin pages). */
  readonly entries: readonly NameEntry[];
}

export interface BuildNameTableOptions {
  /** The proxy's namespace: `<name>` alone answers only for its services. */
  readonly namespace: string;
  /** `cluster.local`. */
  readonly domainSuffix: string;
  /**
   * Whether auto-allocated IPv6 addresses are answered (AAAA). Istio gives a proxy the IPv6 one only
   * when the proxy has IPv6: a v4-only pod would otherwise be handed addresses it cannot reach.
   */
  readonly autoAllocatedIpv6?: boolean | undefined;
  /**
   * The proxy's clusters (ProxyConfig.clusters), for hosts without addresses: each is answered with
   * the healthy IP endpoints of its ports' default clusters. Absent: such hosts are not in the table.
   */
  readonly clusters?: ReadonlyMap<string, Pick<ClusterSpec, "endpoints">> | undefined;
}

/**
 * The name table of `services` (ProxyConfig.services). Addresses that are CIDR blocks are not
 * answered (Istio skips what is not an IP); a host without IP addresses is not in the table, so
 * queries for it go upstream. Hosts defined by several ServiceEntries get the union of their
 * addresses. A host's own spelling wins over another host's short form.
 *
 * A non-wildcard host with no address on any port (written or auto-allocated) takes, with `clusters`,
 * the IPs of the healthy endpoints of its ports' default clusters, each once in endpoint order; its
 * endpoints labelled `podHostnameLabel` also answer `<hostname>.<name>` for each name of the host
 * (Istio: `<hostname>.<subdomain>.<namespace>.svc.<domain>` and the same short forms). Endpoints
 * that are DNS names or unix sockets are skipped; a host left without IPs is not in the table.
 */
export function buildNameTable(services: readonly ServicePort[], options: BuildNameTableOptions): NameTable {
  const byHost = new Map<string, Found>();
  const addressed = new Set<string>();
  for (const service of services) if (service.addresses !== undefined && service.addresses.length > 0) addressed.add(service.host);
  // By host, then by the pod hostname label: the pods of headless services.
  const pods = new Map<string, Map<string, Found>>();
  for (const service of services) {
    if (service.host === "*") continue;
    if (addressed.has(service.host)) {
      for (const text of service.addresses ?? []) {
        const cidr = parseCidr(text);
        const bytes = parseIp(text);
        if (cidr === undefined || bytes === undefined || cidr.prefixLength !== bytes.length * 8) continue;
        if (service.autoAllocated === true && bytes.length === 16 && options.autoAllocatedIpv6 !== true) continue;
        addIp(foundFor(byHost, service.host, service.serviceEntry, service.autoAllocated === true), bytes);
      }
      continue;
    }
    if (options.clusters === undefined || service.host.includes("*")) continue;
    for (const endpoint of options.clusters.get(service.cluster)?.endpoints ?? []) {
      // Not-ready endpoints are left out, as Kubernetes DNS and Istio leave them out of a headless answer.
      if (!endpoint.healthy) continue;
      const bytes = parseIp(endpoint.host);
      if (bytes === undefined) continue;
      addIp(foundFor(byHost, service.host, service.serviceEntry, false), bytes);
      const hostname = endpoint.labels[podHostnameLabel]?.toLowerCase();
      if (hostname === undefined || !dnsLabel.test(hostname)) continue;
      let byName = pods.get(service.host);
      if (byName === undefined) {
        byName = new Map();
        pods.set(service.host, byName);
      }
      addIp(foundFor(byName, hostname, service.serviceEntry, false), bytes);
    }
  }
  // Which host each name answers for: every host its own name first, then the short forms, so that
  // `reviews.default` written as a host keeps its own addresses.
  const owner = new Map<string, string>();
  const aliasesOf = new Map<string, readonly string[]>();
  for (const [host, found] of byHost) {
    if (found.ipv4.length === 0 && found.ipv6.length === 0) continue;
    const aliases = host.startsWith("*.") ? [host] : domainAliases(host, options.namespace, options.domainSuffix);
    aliasesOf.set(host, aliases);
    owner.set(host, host);
  }
  for (const [host, aliases] of aliasesOf) for (const alias of aliases) if (!owner.has(alias)) owner.set(alias, host);
  // A pod's names come last: no service's name or short form is taken by a pod, and a pod whose
  // FQDN is a service's name is left out (the admin pages list entries by that name).
  const podEntries: { host: string; found: Found; names: readonly string[] }[] = [];
  for (const [service, byName] of pods) {
    const serviceAliases = aliasesOf.get(service) ?? [service];
    for (const [hostname, found] of byName) {
      const host = `${hostname}.${service}`;
      if (owner.has(host)) continue;
      const names = serviceAliases.map((alias) => `${hostname}.${alias}`).filter((name) => !owner.has(name));
      for (const name of names) owner.set(name, host);
      podEntries.push({ host, found, names });
    }
  }
  const names = new Map<string, NameEntry>();
  const wildcards: { suffix: string; entry: NameEntry }[] = [];
  const entries: NameEntry[] = [];
  for (const [host, aliases] of aliasesOf) {
    const found = byHost.get(host);
    if (found === undefined) continue;
    const entry: NameEntry = {
      host,
      ipv4: found.ipv4,
      ipv6: found.ipv6,
      names: aliases.filter((a) => owner.get(a) === host),
      serviceEntry: found.serviceEntry,
      autoAllocated: found.autoAllocated,
      ...(addressed.has(host) ? {} : { headless: "service" as const }),
    };
    entries.push(entry);
    if (host.startsWith("*.")) wildcards.push({ suffix: host.slice(1), entry });
    else for (const name of entry.names) names.set(name, entry);
  }
  for (const pod of podEntries) {
    const entry: NameEntry = { host: pod.host, ipv4: pod.found.ipv4, ipv6: pod.found.ipv6, names: pod.names, serviceEntry: pod.found.serviceEntry, autoAllocated: false, headless: "pod" };
    entries.push(entry);
    for (const name of entry.names) names.set(name, entry);
  }
  wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
  return { names, wildcards, entries };
}

interface Found {
  readonly ipv4: string[];
  readonly ipv6: string[];
  readonly serviceEntry: string;
  readonly autoAllocated: boolean;
}

/** One DNS label (RFC 1123 §2.1), as a pod's `spec.hostname` must be. */
const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function foundFor(map: Map<string, Found>, key: string, serviceEntry: string, autoAllocated: boolean): Found {
  let found = map.get(key);
  if (found === undefined) {
    found = { ipv4: [], ipv6: [], serviceEntry, autoAllocated };
    map.set(key, found);
  }
  return found;
}

function addIp(found: Found, bytes: readonly number[]): void {
  const list = bytes.length === 4 ? found.ipv4 : found.ipv6;
  const address = formatIp(bytes);
  if (!list.includes(address)) list.push(address);
}
