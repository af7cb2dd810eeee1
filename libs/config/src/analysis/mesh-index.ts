// Indexes a set of resources (and an optional service catalog) once, so each analyzer asks "which
// DestinationRules apply to this host", "which service is this host", "which workloads do these
// labels select" by map lookups instead of scanning every resource: analysis stays linear in the
// size of the mesh. Host and namespace rules follow Istio (pilot's ResolveShortnameToFQDN, the
// DestinationRule lookup of SidecarScope, exportTo visibility).
import type { MeshResource } from "../load-resources.ts";
import type { KindName } from "../resource-kinds.ts";
import { addToGroup } from "./add-to-group.ts";
import { listDestinations, type DestinationUse } from "./list-destinations.ts";
import type { AnalysisContext, CatalogService, MeshCatalog } from "./analyze-resources.ts";

/** Istio's root namespace: mesh-wide policies and fallback DestinationRules live here. */
export const rootNamespace = "istio-system";

/** A pod or VM that selectors can match: a catalog service instance or a WorkloadEntry. */
export interface Workload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** For messages, e.g. `service default/reviews (10.0.0.7)` or `WorkloadEntry vm/db-1`. */
  readonly origin: string;
}

export interface ServicePortInfo {
  readonly number: number;
  readonly name?: string | undefined;
}

/** What a destination host resolved to. */
export type ServiceTarget =
  | {
      readonly kind: "catalog";
      readonly host: string;
      readonly namespace: string;
      readonly service: CatalogService;
      readonly ports: readonly ServicePortInfo[] | undefined;
    }
  | {
      readonly kind: "ServiceEntry";
      readonly host: string;
      readonly namespace: string;
      readonly resource: MeshResource<"ServiceEntry">;
      readonly ports: readonly ServicePortInfo[] | undefined;
    };

/** The DestinationRules Istio would apply to a host for clients of one namespace. */
export interface DestinationRuleLookup {
  /** The rules of the first scope (client namespace, service namespace, root namespace) that has any; merged by Istio. */
  readonly rules: readonly MeshResource<"DestinationRule">[];
  /** The host as resolved for the lookup (FQDN for short names). */
  readonly host: string;
}

export interface MeshIndex {
  readonly domainSuffix: string;
  readonly defaultNamespace: string;
  /** Given only when the caller passed a catalog: analyzers that need the registry check this first. */
  readonly catalog: MeshCatalog | undefined;
  /** Resources of one kind, in input order. */
  list<K extends KindName>(kind: K): readonly MeshResource<K>[];
  /** metadata.namespace, or the default namespace when unset. */
  namespaceOf(resource: MeshResource): string;
  /** The resource of `kind` named `name` in `namespace`. */
  find<K extends KindName>(kind: K, namespace: string, name: string): MeshResource<K> | undefined;
  /** Host names to try for `host` written in `namespace`, most likely first (see hostCandidates). */
  candidates(host: string, namespace: string): readonly string[];
  /** The service (catalog entry or ServiceEntry visible from `fromNamespace`) a destination host names. */
  findService(host: string, fromNamespace: string): ServiceTarget | undefined;
  /** The DestinationRules applied to `host` for clients in `clientNamespace`, as Istio picks them. */
  findDestinationRules(host: string, clientNamespace: string): DestinationRuleLookup;
  /** Workloads whose labels include all of `labels`, in `namespace` or, with "*", in any namespace. */
  selectWorkloads(labels: Readonly<Record<string, string>>, namespace: string): readonly Workload[];
  /** Whether any workload is known (catalog instances or WorkloadEntries); selector checks need them. */
  readonly hasWorkloads: boolean;
  /** Namespaces that have workloads (catalog services or WorkloadEntries). */
  readonly workloadNamespaces: ReadonlySet<string>;
  /** Keys `namespace/name` of the VirtualServices some route delegates to. */
  readonly delegateTargets: ReadonlySet<string>;
  /** listDestinations() of a VirtualService, computed once. */
  destinationsOf(vs: MeshResource<"VirtualService">): readonly DestinationUse[];
}

const defaultDomainSuffix = "cluster.local";
const defaultNamespaceName = "default";
const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * The names a host written in a resource of `namespace` may stand for, most likely first.
 * Istio turns a short name (`reviews`) into `reviews.<namespace>.svc.<domainSuffix>` and keeps
 * anything with a dot as written. `reviews.prod` is kept as written and also tried as
 * `reviews.prod.svc.<domainSuffix>` (what Kubernetes DNS would resolve it to), so neither reading
 * produces a false finding. Wildcards, `*` and IP addresses are literal.
 */
export function hostCandidates(host: string, namespace: string, domainSuffix: string): string[] {
  if (host === "*" || host.startsWith("*") || ipv4.test(host) || host.includes(":")) return [host];
  const dots = countDots(host);
  if (dots === 0) return [`${host}.${namespace}.svc.${domainSuffix}`];
  if (dots === 1) return [host, `${host}.svc.${domainSuffix}`];
  return [host];
}

function countDots(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 46) n++;
  return n;
}

/** The namespace of a Kubernetes service host `name.namespace.svc.<domainSuffix>`; undefined for other hosts. */
export function namespaceOfServiceHost(host: string, domainSuffix: string): string | undefined {
  const svc = `.svc.${domainSuffix}`;
  if (!host.endsWith(svc)) return undefined;
  const parts = host.slice(0, -svc.length).split(".");
  return parts.length === 2 ? parts[1] : undefined;
}

/**
 * Whether a resource of `ownerNamespace` with `exportTo` is visible in `namespace`
 * (`*` or unset: everywhere; `.`: its own namespace; `~`: nowhere; otherwise the listed names).
 */
export function isExportedTo(exportTo: readonly string[] | undefined, ownerNamespace: string, namespace: string): boolean {
  if (exportTo === undefined || exportTo.length === 0) return true;
  return exportTo.some((e) => e === "*" || e === namespace || (e === "." && ownerNamespace === namespace));
}

/** Whether `labels` contain every key/value of `selector` (an empty selector matches everything). */
export function labelsMatch(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const key in selector) if (labels[key] !== selector[key]) return false;
  return true;
}

/** Wildcard hosts are indexed by the part after `*` (".example.com"; "" for `*`). */
class HostTable<T> {
  private readonly exact = new Map<string, T[]>();
  private readonly wildcard = new Map<string, T[]>();

  add(host: string, value: T): void {
    if (host.startsWith("*")) addToGroup(this.wildcard, host.slice(1), value);
    else addToGroup(this.exact, host, value);
  }

  /** Values under the most specific host covering `host`, with that host; exact names first. */
  mostSpecific(host: string): { host: string; values: T[] } | undefined {
    if (this.wildcard.size === 0) {
      const values = this.exact.get(host);
      return values ? { host, values } : undefined;
    }
    if (host.startsWith("*")) {
      const values = this.wildcard.get(host.slice(1));
      if (values) return { host, values };
    } else {
      const values = this.exact.get(host);
      if (values) return { host, values };
    }
    // Walk the suffixes from longest to shortest: `a.b.c` tries `*.b.c`, `*.c`, then `*`.
    let from = host.startsWith("*") ? 2 : 0;
    for (;;) {
      const dot = host.indexOf(".", from);
      if (dot < 0) break;
      const values = this.wildcard.get(host.slice(dot));
      if (values) return { host: `*${host.slice(dot)}`, values };
      from = dot + 1;
    }
    const all = this.wildcard.get("");
    return all ? { host: "*", values: all } : undefined;
  }
}

class LabelIndex {
  private readonly all: Workload[] = [];
  private readonly byLabel = new Map<string, Workload[]>();

  add(workload: Workload): void {
    this.all.push(workload);
    for (const key in workload.labels) addToGroup(this.byLabel, `${key}=${workload.labels[key]}`, workload);
  }

  select(selector: Readonly<Record<string, string>>): readonly Workload[] {
    // Start from the rarest label of the selector, then filter by the others.
    let smallest: readonly Workload[] = this.all;
    for (const key in selector) {
      const list = this.byLabel.get(`${key}=${selector[key]}`);
      if (!list) return [];
      if (list.length < smallest.length) smallest = list;
    }
    return smallest === this.all && Object.keys(selector).length === 0 ? this.all : smallest.filter((w) => labelsMatch(selector, w.labels));
  }
}

/** Builds the index in one pass over the resources and the catalog. */
export function buildMeshIndex(resources: readonly MeshResource[], context: AnalysisContext = {}): MeshIndex {
  const domainSuffix = context.domainSuffix ?? defaultDomainSuffix;
  const defaultNamespace = context.defaultNamespace ?? defaultNamespaceName;
  const catalog = context.catalog;
  const namespaceOf = (r: MeshResource): string => r.metadata.namespace ?? defaultNamespace;
  const candidates = (host: string, namespace: string): string[] => hostCandidates(host, namespace, domainSuffix);

  const byKind = new Map<KindName, MeshResource[]>();
  const byName = new Map<string, MeshResource>();
  for (const r of resources) {
    addToGroup(byKind, r.kind, r);
    byName.set(`${r.kind}/${namespaceOf(r)}/${r.metadata.name}`, r);
  }
  const list = <K extends KindName>(kind: K): readonly MeshResource<K>[] => (byKind.get(kind) ?? []) as unknown as MeshResource<K>[];

  // Catalog services by host.
  const catalogByHost = new Map<string, CatalogService>();
  for (const service of catalog?.services ?? []) {
    const host = service.hostname ?? `${service.name}.${service.namespace}.svc.${domainSuffix}`;
    if (!catalogByHost.has(host)) catalogByHost.set(host, service);
  }

  // ServiceEntry hosts, literal as Istio keeps them.
  const serviceEntryHosts = new HostTable<MeshResource<"ServiceEntry">>();
  for (const se of list("ServiceEntry")) for (const host of se.spec.hosts) serviceEntryHosts.add(host, se);

  // DestinationRules per namespace, by resolved host.
  const rulesByNamespace = new Map<string, HostTable<MeshResource<"DestinationRule">>>();
  for (const dr of list("DestinationRule")) {
    const ns = namespaceOf(dr);
    let table = rulesByNamespace.get(ns);
    if (!table) rulesByNamespace.set(ns, (table = new HostTable()));
    for (const host of candidates(dr.spec.host, ns)) table.add(host, dr);
  }

  // Workloads: catalog instances and WorkloadEntries, per namespace and mesh-wide.
  const workloadsByNamespace = new Map<string, LabelIndex>();
  const everywhere = new LabelIndex();
  const workloadNamespaces = new Set<string>();
  const addWorkload = (workload: Workload): void => {
    let index = workloadsByNamespace.get(workload.namespace);
    if (!index) workloadsByNamespace.set(workload.namespace, (index = new LabelIndex()));
    index.add(workload);
    everywhere.add(workload);
    workloadNamespaces.add(workload.namespace);
  };
  for (const service of catalog?.services ?? []) {
    workloadNamespaces.add(service.namespace);
    for (const instance of service.instances ?? []) {
      const where = instance.address ? ` (${instance.address})` : "";
      addWorkload({ namespace: service.namespace, labels: instance.labels, origin: `service ${service.namespace}/${service.name}${where}` });
    }
  }
  for (const we of list("WorkloadEntry")) {
    const ns = namespaceOf(we);
    addWorkload({ namespace: ns, labels: we.spec.labels ?? {}, origin: `WorkloadEntry ${ns}/${we.metadata.name}` });
  }

  const delegateTargets = new Set<string>();
  for (const vs of list("VirtualService")) {
    for (const route of vs.spec.http ?? []) {
      if (route.delegate?.name) delegateTargets.add(`${route.delegate.namespace ?? namespaceOf(vs)}/${route.delegate.name}`);
    }
  }

  // Several analyzers ask about the same destinations: remember the answers.
  const serviceCache = new Map<string, ServiceTarget | undefined>();
  const findService = (host: string, fromNamespace: string): ServiceTarget | undefined => {
    const key = `${fromNamespace}\0${host}`;
    if (serviceCache.has(key)) return serviceCache.get(key);
    const target = lookUpService(host, fromNamespace);
    serviceCache.set(key, target);
    return target;
  };
  const lookUpService = (host: string, fromNamespace: string): ServiceTarget | undefined => {
    const names = candidates(host, fromNamespace);
    for (const name of names) {
      const service = catalogByHost.get(name);
      if (service) return { kind: "catalog", host: name, namespace: service.namespace, service, ports: service.ports };
    }
    // ServiceEntry hosts are literal; a short destination host is also tried as written (lenient).
    const literal = names.includes(host) ? names : [...names, host];
    for (const name of literal) {
      const found = serviceEntryHosts.mostSpecific(name);
      const se = found?.values.find((e) => isExportedTo(e.spec.exportTo, namespaceOf(e), fromNamespace));
      if (found && se) return { kind: "ServiceEntry", host: found.host, namespace: namespaceOf(se), resource: se, ports: se.spec.ports };
    }
    return undefined;
  };

  /** Namespace of the service behind a resolved host: catalog, ServiceEntry, or `name.ns.svc.<suffix>`. */
  const serviceNamespace = (host: string): string | undefined => {
    const service = catalogByHost.get(host);
    if (service) return service.namespace;
    const se = serviceEntryHosts.mostSpecific(host)?.values[0];
    if (se) return namespaceOf(se);
    return namespaceOfServiceHost(host, domainSuffix);
  };

  const ruleCache = new Map<string, DestinationRuleLookup>();
  const findDestinationRules = (host: string, clientNamespace: string): DestinationRuleLookup => {
    const key = `${clientNamespace}\0${host}`;
    let lookup = ruleCache.get(key);
    if (!lookup) ruleCache.set(key, (lookup = lookUpDestinationRules(host, clientNamespace)));
    return lookup;
  };
  const lookUpDestinationRules = (host: string, clientNamespace: string): DestinationRuleLookup => {
    const names = candidates(host, clientNamespace);
    for (const name of names) {
      // Istio's order: rules in the client's namespace, then rules exported by the service's
      // namespace, then rules exported by the root namespace. The first scope with a match wins.
      const local = rulesByNamespace.get(clientNamespace)?.mostSpecific(name);
      if (local) return { rules: local.values, host: name };
      const serviceNs = serviceNamespace(name);
      const scopes = serviceNs === undefined || serviceNs === rootNamespace ? [rootNamespace] : [serviceNs, rootNamespace];
      for (const ns of scopes) {
        if (ns === clientNamespace) continue;
        const found = rulesByNamespace.get(ns)?.mostSpecific(name);
        const visible = found?.values.filter((dr) => isExportedTo(dr.spec.exportTo, ns, clientNamespace));
        if (visible && visible.length > 0) return { rules: visible, host: name };
      }
    }
    return { rules: [], host: names[0] ?? host };
  };

  const selectWorkloads = (labels: Readonly<Record<string, string>>, namespace: string): readonly Workload[] => {
    const index = namespace === "*" ? everywhere : workloadsByNamespace.get(namespace);
    return index ? index.select(labels) : [];
  };

  const destinations = new Map<MeshResource<"VirtualService">, readonly DestinationUse[]>();
  const destinationsOf = (vs: MeshResource<"VirtualService">): readonly DestinationUse[] => {
    let uses = destinations.get(vs);
    if (!uses) destinations.set(vs, (uses = listDestinations(vs.spec)));
    return uses;
  };

  return {
    domainSuffix,
    defaultNamespace,
    catalog,
    list,
    namespaceOf,
    find: <K extends KindName>(kind: K, namespace: string, name: string) => byName.get(`${kind}/${namespace}/${name}`) as MeshResource<K> | undefined,
    candidates,
    findService,
    findDestinationRules,
    selectWorkloads,
    hasWorkloads: everywhere.select({}).length > 0,
    workloadNamespaces,
    delegateTargets,
    destinationsOf,
  };
}
