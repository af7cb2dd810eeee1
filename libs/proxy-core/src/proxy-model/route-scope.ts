// Helpers that decide which VirtualServices and DestinationRules a proxy's route table carries,
// shared by the sidecar and gateway variants of the compiler.
import type { MeshResource } from "@meshwork/config";
import { resolveHost } from "../resolve-host.ts";

/** Destination hosts the VirtualServices route or mirror to, resolved in their namespaces. */
export function referencedHosts(virtualServices: readonly MeshResource<"VirtualService">[], ns: string, domainSuffix: string): Set<string> {
  const out = new Set<string>();
  for (const vs of virtualServices) {
    const vsNs = vs.metadata.namespace ?? ns;
    const add = (host: string | undefined): void => void (host !== undefined && out.add(resolveHost(host, vsNs, domainSuffix)));
    for (const route of vs.spec.http ?? []) {
      for (const d of route.route ?? []) add(d.destination.host);
      add(route.mirror?.host);
      for (const m of route.mirrors ?? []) add(m.destination.host);
    }
    for (const route of [...(vs.spec.tcp ?? []), ...(vs.spec.tls ?? [])]) for (const d of route.route ?? []) add(d.destination.host);
  }
  return out;
}

/** Whether a DestinationRule host (exact or `*.suffix` wildcard) covers one of `hosts`. */
export function coversAny(ruleHost: string, hosts: ReadonlySet<string>): boolean {
  if (hosts.has(ruleHost)) return true;
  if (ruleHost === "*") return hosts.size > 0;
  if (!ruleHost.startsWith("*.")) return false;
  const suffix = ruleHost.slice(1);
  for (const h of hosts) if (h.endsWith(suffix)) return true;
  return false;
}

/** The resource without its `source` (file:line): it changes with unrelated edits and would change hashes. */
export function stripSource<R extends MeshResource>(resource: R): R {
  if (resource.source === undefined) return resource;
  const { source: _source, ...rest } = resource;
  return rest as R;
}
