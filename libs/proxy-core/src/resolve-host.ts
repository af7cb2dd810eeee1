// Host names as Istio resolves them: short names become FQDNs in the rule's namespace, and a
// service FQDN is also reachable by its shorter aliases (pilot's generateVirtualHostDomains).
import { flatConcat } from "./flat-concat.ts";

/** Cluster-local naming: the namespace short names resolve in, and the DNS suffix (`cluster.local`). */
export interface HostContext {
  readonly namespace: string;
  readonly domainSuffix: string;
}

/**
 * Resolves `host` as written in a rule of `namespace`: a name without dots (`reviews`) becomes
 * `reviews.<namespace>.svc.<domainSuffix>`; names with dots, wildcards and `*` stay as written
 * (Istio's ResolveShortnameToFQDN). The result is lowercase.
 */
export function resolveHost(host: string, namespace: string, domainSuffix: string): string {
  const lower = host.toLowerCase();
  if (lower.includes(".") || lower.includes("*") || lower.includes(":")) return lower;
  return `${lower}.${namespace}.svc.${domainSuffix}`;
}

/**
 * The domains a proxy in `proxyNamespace` answers for `fqdn`: the FQDN itself and, for a
 * Kubernetes service name `<name>.<ns>.svc.<suffix>`, `<name>.<ns>.svc`, `<name>.<ns>` and — only
 * for a proxy in the same namespace — `<name>`. Ports are not listed: lookups strip them.
 */
export function domainAliases(fqdn: string, proxyNamespace: string, domainSuffix: string): string[] {
  const tail = `.svc.${domainSuffix}`;
  if (!fqdn.endsWith(tail)) return [fqdn];
  const nameAndNs = fqdn.slice(0, -tail.length);
  const dot = nameAndNs.indexOf(".");
  if (dot < 0 || nameAndNs.indexOf(".", dot + 1) >= 0) return [fqdn];
  const name = nameAndNs.slice(0, dot);
  const ns = nameAndNs.slice(dot + 1);
  // Flat: the aliases are kept as route table keys for as long as the config serves (flat-concat.ts).
  const aliases = [fqdn, flatConcat(nameAndNs, ".svc"), nameAndNs];
  if (ns === proxyNamespace) aliases.push(name);
  return aliases;
}

/** `[namespace/]name` or `mesh` as written in a VirtualService → `namespace/name` or `mesh`. */
export function resolveGateway(gateway: string, namespace: string): string {
  if (gateway === "mesh" || gateway.includes("/")) return gateway;
  return `${namespace}/${gateway}`;
}
