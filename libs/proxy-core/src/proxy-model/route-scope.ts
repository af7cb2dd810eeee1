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

/**
 * The VirtualServices of `all` (in its order) that are in `roots` or are delegates (no hosts) a
 * `delegate` route of `roots` names, so a proxy that gets a root also gets what it delegates to.
 * `roots` are elements of `all`, whose namespaces are filled in. A delegate's exportTo is not
 * applied here: it governs the root's namespace, which the proxy checks when it compiles the routes.
 */
export function withDelegates(
  roots: readonly MeshResource<"VirtualService">[],
  all: readonly MeshResource<"VirtualService">[],
): MeshResource<"VirtualService">[] {
  const named = new Set<string>();
  for (const vs of roots) {
    for (const route of vs.spec.http ?? []) {
      const d = route.delegate;
      if (d?.name !== undefined) named.add(`${d.namespace || vs.metadata.namespace}/${d.name}`);
    }
  }
  const rootSet = new Set(roots);
  return all.filter((vs) => rootSet.has(vs) || ((vs.spec.hosts ?? []).length === 0 && named.has(`${vs.metadata.namespace}/${vs.metadata.name}`)));
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
