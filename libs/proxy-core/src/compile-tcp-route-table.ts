// Compiles the `tcp` and `tls` routes of VirtualServices into a TcpRouteTable, following Istio's
// sidecar outbound TCP listener (pilot networking/core buildSidecarOutboundTCPTLSFilterChainOpts):
// every VirtualService whose hosts cover a service host contributes its routes, in input order;
// TLS routes (by SNI) come before TCP routes; routes whose match is for another gateway are dropped
// here; a connection no route takes goes to the host's default cluster `outbound|<port>||<host>`.
import type { MeshResource } from "@meshwork/config";
import { formatIp, parseCidr, type Cidr } from "./parse-cidr.ts";
import { domainAliases, resolveGateway, resolveHost, type HostContext } from "./resolve-host.ts";
import type { TcpDestination, TcpHost, TcpMatch, TcpRoute, TcpRouteTable } from "./tcp-route-table.ts";

type VirtualServiceResource = MeshResource<"VirtualService">;
type DestinationRuleResource = MeshResource<"DestinationRule">;
type TcpRouteSpec = NonNullable<VirtualServiceResource["spec"]["tcp"]>[number];
type TlsRouteSpec = NonNullable<VirtualServiceResource["spec"]["tls"]>[number];
type L4MatchSpec = NonNullable<TcpRouteSpec["match"]>[number];
type TlsMatchSpec = TlsRouteSpec["match"][number];
type RouteDestinationSpec = NonNullable<TcpRouteSpec["route"]>[number];

export interface CompileTcpRouteTableOptions extends HostContext {
  /** Gateway whose routes to keep: `mesh` (the default) for a sidecar, `namespace/name` for a gateway. */
  readonly gateway?: string | undefined;
  /**
   * Service hosts (FQDNs, e.g. ProxyConfig.services' `host`): each becomes a table entry with its
   * aliases, so a connection to `db:5432` finds `db.<ns>.svc.cluster.local` even without a
   * VirtualService, and wildcard VirtualServices are resolved for it when compiling.
   */
  readonly serviceHosts?: readonly string[] | undefined;
  /**
   * Virtual addresses of service hosts (ServicePort.addresses by host): connections addressed to
   * one (an IP authority, or an IP in a CIDR block) take the routes of its host. The first host
   * naming an address keeps it.
   */
  readonly serviceAddresses?: ReadonlyMap<string, readonly string[]> | undefined;
}

interface CompiledVs {
  readonly exactHosts: ReadonlySet<string>;
  readonly wildcardSuffixes: readonly string[];
  readonly tls: readonly TcpRoute[];
  readonly tcp: readonly TcpRoute[];
}

/** Builds the TCP/TLS route table of a proxy in `options.namespace`; pure and deterministic. */
export function compileTcpRouteTable(
  virtualServices: readonly VirtualServiceResource[],
  destinationRules: readonly DestinationRuleResource[],
  options: CompileTcpRouteTableOptions,
): TcpRouteTable {
  const gateway = options.gateway ?? "mesh";
  const issues: string[] = [];
  const subsets = indexSubsets(destinationRules, options);
  const compiled: CompiledVs[] = [];
  for (const vs of virtualServices) {
    if ((vs.spec.tcp ?? []).length === 0 && (vs.spec.tls ?? []).length === 0) continue;
    const vsNamespace = vs.metadata.namespace ?? options.namespace;
    const vsName = `${vsNamespace}/${vs.metadata.name}`;
    const vsGateways = (vs.spec.gateways ?? ["mesh"]).map((g) => resolveGateway(g, vsNamespace));
    const context: Context = { vsName, vsNamespace, vsGateways, gateway, options, subsets, issues };
    const hosts = (vs.spec.hosts ?? []).map((h) => resolveHost(h, vsNamespace, options.domainSuffix));
    compiled.push({
      exactHosts: new Set(hosts.filter((h) => !h.startsWith("*"))),
      wildcardSuffixes: hosts.filter((h) => h.startsWith("*")).map((h) => h.slice(1)),
      tls: (vs.spec.tls ?? []).flatMap((r, i) => compileRoute("tls", r.match, r.route, i, context)),
      tcp: (vs.spec.tcp ?? []).flatMap((r, i) => compileRoute("tcp", r.match, r.route, i, context)),
    });
  }

  // Every concrete host gets the routes of all VirtualServices covering it (Istio's
  // host.Name.Matches against the service hostname), in input order, TLS before TCP.
  const canonical = new Set<string>(options.serviceHosts?.map((h) => h.toLowerCase()).filter((h) => !h.startsWith("*")) ?? []);
  for (const vs of compiled) for (const h of vs.exactHosts) canonical.add(h);
  const exact = new Map<string, TcpHost>();
  for (const name of canonical) {
    const covering = compiled.filter((vs) => vs.exactHosts.has(name) || vs.wildcardSuffixes.some((s) => coversHost(s, name)));
    const host: TcpHost = { name, routes: [...covering.flatMap((vs) => vs.tls), ...covering.flatMap((vs) => vs.tcp)] };
    for (const domain of domainAliases(name, options.namespace, options.domainSuffix)) {
      const existing = exact.get(domain);
      // The FQDN itself wins over another host's alias of the same spelling.
      if (!existing || domain === name) exact.set(domain, host);
    }
  }
  const wildcards = compiled.flatMap((vs) => vs.wildcardSuffixes.map((suffix) => ({ suffix, routes: [...vs.tls, ...vs.tcp] })));
  if (options.serviceAddresses === undefined || options.serviceAddresses.size === 0) return { gateway, exact, wildcards, issues };
  const addresses = new Map<string, TcpHost>();
  const addressBlocks: { cidr: Cidr; host: TcpHost }[] = [];
  for (const [name, list] of options.serviceAddresses) {
    const host = exact.get(name.toLowerCase());
    if (host === undefined) continue;
    for (const text of list) {
      const cidr = parseCidr(text);
      if (cidr === undefined) {
        issues.push(`service host "${name}": address "${text}" is not an IP address or CIDR block; connections to it are not attributed to the host`);
      } else if (cidr.prefixLength === cidr.bytes.length * 8) {
        const key = formatIp(cidr.bytes);
        if (!addresses.has(key)) addresses.set(key, host);
      } else {
        addressBlocks.push({ cidr, host });
      }
    }
  }
  return { gateway, exact, wildcards, addresses, addressBlocks, issues };
}

/** Whether a wildcard VirtualService host (`*.example.com` as ".example.com", `*` as "") covers `host`. */
export function coversHost(suffix: string, host: string): boolean {
  return suffix === "" || (host.length > suffix.length && host.endsWith(suffix));
}

interface Context {
  readonly vsName: string;
  readonly vsNamespace: string;
  readonly vsGateways: readonly string[];
  readonly gateway: string;
  readonly options: CompileTcpRouteTableOptions;
  readonly subsets: SubsetIndex;
  readonly issues: string[];
}

function compileRoute(
  type: "tcp" | "tls",
  matches: readonly (L4MatchSpec | TlsMatchSpec)[] | undefined,
  route: readonly RouteDestinationSpec[] | undefined,
  routeIndex: number,
  context: Context,
): TcpRoute[] {
  const name = `${context.vsName} ${type}[${routeIndex}]`;
  if (!route || route.length === 0) {
    context.issues.push(`VirtualService "${context.vsName}" ${type}[${routeIndex}]: no route destinations; route skipped (add at least one \`route\` entry)`);
    return [];
  }
  const { destinations, totalWeight } = compileDestinations(route, context, name);
  const shared = { type, name, virtualService: context.vsName, routeIndex, destinations, totalWeight };
  if (!matches || matches.length === 0) {
    // No match list takes every connection — only on the VirtualService's gateways.
    return context.vsGateways.includes(context.gateway) ? [{ ...shared, matchIndex: 0, match: undefined }] : [];
  }
  const out: TcpRoute[] = [];
  matches.forEach((m, matchIndex) => {
    const gateways = (m.gateways ?? context.vsGateways).map((g) => resolveGateway(g, context.vsNamespace));
    if (!gateways.includes(context.gateway)) return;
    out.push({ ...shared, matchIndex, match: compileMatch(m, type, context, name) });
  });
  return out;
}

function compileMatch(spec: L4MatchSpec | TlsMatchSpec, type: "tcp" | "tls", context: Context, routeName: string): TcpMatch {
  const subnets: Cidr[] = [];
  for (const text of spec.destinationSubnets ?? []) {
    const cidr = parseCidr(text);
    if (cidr) subnets.push(cidr);
    else context.issues.push(`VirtualService "${context.vsName}" route "${routeName}": destinationSubnets entry "${text}" is not an IP address or CIDR block (a.b.c.d/nn); entry ignored`);
  }
  const sni = type === "tls" && "sniHosts" in spec ? spec.sniHosts : undefined;
  return {
    port: spec.port,
    sourceLabels: Object.entries(spec.sourceLabels ?? {}),
    sourceNamespace: spec.sourceNamespace,
    destinationSubnets: subnets,
    sniHosts: sni?.map((h) => {
      const lower = h.toLowerCase();
      return lower.startsWith("*") ? { exact: undefined, suffix: lower.slice(1) } : { exact: lower, suffix: undefined };
    }),
  };
}

function compileDestinations(
  route: readonly RouteDestinationSpec[],
  context: Context,
  routeName: string,
): { destinations: TcpDestination[]; totalWeight: number } {
  const lone = route.length === 1;
  const weights = route.map((d) => (lone ? (d.weight ?? 100) : (d.weight ?? 0)));
  // As for HTTP: weights are shares of their sum; all zero (several destinations) is an even split.
  const allZero = !lone && weights.every((w) => w === 0);
  let cumulative = 0;
  const destinations = route.map((d, i): TcpDestination => {
    const weight = allZero ? 1 : (weights[i] as number);
    cumulative += weight;
    const host = resolveHost(d.destination.host, context.vsNamespace, context.options.domainSuffix);
    const subset = d.destination.subset;
    const port = d.destination.port?.number;
    let subsetLabels: Readonly<Record<string, string>> | undefined = {};
    if (subset !== undefined) {
      subsetLabels = findSubset(context.subsets, host, subset);
      if (subsetLabels === undefined) {
        context.issues.push(
          `VirtualService "${context.vsName}" route "${routeName}": subset "${subset}" is not defined in any DestinationRule for host "${host}"; connections to it are closed (NC)`,
        );
      }
    }
    return {
      host,
      subset,
      port,
      cluster: port === undefined ? undefined : `outbound|${port}|${subset ?? ""}|${host}`,
      subsetLabels,
      weight,
      cumulativeWeight: cumulative,
    };
  });
  return { destinations, totalWeight: cumulative };
}

type SubsetIndex = ReadonlyMap<string, ReadonlyMap<string, Readonly<Record<string, string>>>>;

function indexSubsets(rules: readonly DestinationRuleResource[], options: HostContext): SubsetIndex {
  const index = new Map<string, Map<string, Readonly<Record<string, string>>>>();
  for (const rule of rules) {
    const host = resolveHost(rule.spec.host, rule.metadata.namespace ?? options.namespace, options.domainSuffix);
    let byName = index.get(host);
    if (!byName) index.set(host, (byName = new Map()));
    for (const subset of rule.spec.subsets ?? []) if (!byName.has(subset.name)) byName.set(subset.name, subset.labels ?? {});
  }
  return index;
}

function findSubset(index: SubsetIndex, host: string, subset: string): Readonly<Record<string, string>> | undefined {
  const exact = index.get(host)?.get(subset);
  if (exact) return exact;
  let best: { length: number; labels: Readonly<Record<string, string>> } | undefined;
  for (const [pattern, byName] of index) {
    if (!pattern.startsWith("*")) continue;
    const labels = byName.get(subset);
    const suffix = pattern.slice(1);
    if (labels && coversHost(suffix, host) && (!best || suffix.length > best.length)) best = { length: suffix.length, labels };
  }
  return best?.labels;
}
