// The names a sidecar's DNS proxy answers itself (Istio's DNS proxying: pilot's NameTable,
// pkg/dns/server/name_table.go, and the agent's alternate names, pkg/dns GenerateAltHosts): every
// service host of the proxy's config with IP addresses, and for a Kubernetes-style host
// `<name>.<namespace>.svc.<domain suffix>` the short forms a pod's resolver tries
// (`<name>.<namespace>.svc`, `<name>.<namespace>`, and `<name>` in the proxy's own namespace).
// Built only when DNS proxying is on. Pure.
import type { ServicePort } from "../proxy-config.ts";
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
}

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
}

/**
 * The name table of `services` (ProxyConfig.services). Addresses that are CIDR blocks are not
 * answered (Istio skips what is not an IP); a host without IP addresses is not in the table, so
 * queries for it go upstream. Hosts defined by several ServiceEntries get the union of their
 * addresses. A host's own spelling wins over another host's short form.
 */
export function buildNameTable(services: readonly ServicePort[], options: BuildNameTableOptions): NameTable {
  const byHost = new Map<string, { ipv4: string[]; ipv6: string[]; serviceEntry: string; autoAllocated: boolean }>();
  for (const service of services) {
    if (service.addresses === undefined || service.host === "*") continue;
    for (const text of service.addresses) {
      const cidr = parseCidr(text);
      const bytes = parseIp(text);
      if (cidr === undefined || bytes === undefined || cidr.prefixLength !== bytes.length * 8) continue;
      if (service.autoAllocated === true && bytes.length === 16 && options.autoAllocatedIpv6 !== true) continue;
      let entry = byHost.get(service.host);
      if (entry === undefined) {
        entry = { ipv4: [], ipv6: [], serviceEntry: service.serviceEntry, autoAllocated: service.autoAllocated === true };
        byHost.set(service.host, entry);
      }
      const list = bytes.length === 4 ? entry.ipv4 : entry.ipv6;
      const address = formatIp(bytes);
      if (!list.includes(address)) list.push(address);
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
  const names = new Map<string, NameEntry>();
  const wildcards: { suffix: string; entry: NameEntry }[] = [];
  const entries: NameEntry[] = [];
  for (const [host, aliases] of aliasesOf) {
    const found = byHost.get(host);
    if (found === undefined) continue;
    const entry: NameEntry = { host, ipv4: found.ipv4, ipv6: found.ipv6, names: aliases.filter((a) => owner.get(a) === host), serviceEntry: found.serviceEntry, autoAllocated: found.autoAllocated };
    entries.push(entry);
    if (host.startsWith("*.")) wildcards.push({ suffix: host.slice(1), entry });
    else for (const name of entry.names) names.set(name, entry);
  }
  wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
  return { names, wildcards, entries };
}
