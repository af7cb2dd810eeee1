// Compiles decoded VirtualServices and DestinationRules into a RouteTable (route-table.ts): the
// Envoy-style route configuration of one proxy, where every regex is compiled, every subset is a
// label selector and every weight is cumulative, so findRoute() only compares. A root's `delegate`
// route is replaced here by the delegate VirtualService's routes (merge-delegate-route.ts).
import type { MeshResource } from "@meshwork/config";
// Its own entry: the sidecar compiles in standalone mode without loading the schemas (RSS).
import { prefixRedirectMarker } from "@meshwork/config/gateway-api";
import { clusterName, isExportedTo } from "./compile-clusters.ts";
import { compileRe2, compileStringMatch, type StringMatcher } from "./compile-string-match.ts";
import { mergeDelegateRoute } from "./merge-delegate-route.ts";
import { compileRetryPolicy } from "./parse-retry-on.ts";
import { domainAliases, resolveGateway, resolveHost, type HostContext } from "./resolve-host.ts";
import { noLabels, none } from "./shared-empties.ts";
import type {
  CompiledMatch,
  CompiledRoute,
  Cors,
  DelegateOrigin,
  Fault,
  GatewayRoutes,
  HeaderOps,
  KeyedMatcher,
  Mirror,
  Rewrite,
  RouteAction,
  RouteDestination,
  RouteTable,
  VirtualHost,
} from "./route-table.ts";

type VirtualServiceResource = MeshResource<"VirtualService">;
type DestinationRuleResource = MeshResource<"DestinationRule">;
type HttpRouteSpec = NonNullable<VirtualServiceResource["spec"]["http"]>[number];
type MatchSpec = NonNullable<HttpRouteSpec["match"]>[number];
type DestinationSpec = NonNullable<HttpRouteSpec["route"]>[number]["destination"];
type HeadersSpec = NonNullable<HttpRouteSpec["headers"]>;
type HeaderOperationsSpec = NonNullable<HeadersSpec["request"]>;

/** Options of compileRouteTable: the proxy's namespace (short names, aliases) and the cluster's DNS suffix. */
export type CompileRouteTableOptions = HostContext;

/**
 * Builds the route table a proxy in `options.namespace` uses. VirtualServices are taken in input
 * order: for one gateway and domain the first VirtualService wins and later ones are reported in
 * `issues` (Istio picks the oldest). A route whose subset no DestinationRule defines still
 * compiles — its destination has `subsetLabels: undefined` — and is reported.
 *
 * VirtualServices without hosts are delegates: they get no virtual host of their own, and a root's
 * route `{match, delegate: {name, namespace}}` (namespace: the root's when unset) is replaced by
 * their routes merged with it (mergeDelegateRoute), in their order, where the root route stood. The
 * delegate must be in `virtualServices` whatever its exportTo says about the proxy's namespace: it
 * must be exported to the *root's* namespace, as in Istio. A missing, hidden or host-bearing
 * delegate, a delegate route that delegates again (one level only) and a delegate route whose
 * matches fit none of the root route's are skipped and reported; the rest of the table is built.
 */
export function compileRouteTable(
  virtualServices: readonly VirtualServiceResource[],
  destinationRules: readonly DestinationRuleResource[],
  options: CompileRouteTableOptions,
): RouteTable {
  const issues: string[] = [];
  const subsets = indexSubsets(destinationRules, options);
  const regexCache = new Map<string, RegExp>();
  const byName = new Map<string, VirtualServiceResource>();
  for (const vs of virtualServices) {
    const key = `${vs.metadata.namespace ?? options.namespace}/${vs.metadata.name}`;
    if (!byName.has(key)) byName.set(key, vs);
  }
  const building = new Map<string, { exact: Map<string, VirtualHost>; wildcards: { suffix: string; host: VirtualHost }[] }>();
  for (const vs of virtualServices) {
    const vsNamespace = vs.metadata.namespace ?? options.namespace;
    const vsName = `${vsNamespace}/${vs.metadata.name}`;
    const hosts = (vs.spec.hosts ?? []).map((h) => resolveHost(h, vsNamespace, options.domainSuffix));
    if (hosts.length === 0) continue; // a delegate VirtualService: only reachable through a root's delegate route
    const vsGateways = (vs.spec.gateways ?? ["mesh"]).map((g) => resolveGateway(g, vsNamespace));
    const context: RouteContext = { vsName, vsNamespace, vsGateways, subject: `VirtualService "${vsName}"`, options, subsets, issues, regexCache, byName };
    const routes = (vs.spec.http ?? []).flatMap((route, index) =>
      route.delegate ? compileDelegateRoute(route, index, context) : compileHttpRoute(route, { routeIndex: index, delegate: undefined, defaultName: `${vsName}[${index}]` }, context),
    );
    const domains = hosts.flatMap((h) => domainAliases(h, options.namespace, options.domainSuffix));
    const gatewayNames = new Set(routes.flatMap((r) => [...r.match.gateways]));
    for (const g of vsGateways) gatewayNames.add(g);
    for (const gateway of gatewayNames) {
      // Routes whose match does not apply to this gateway are dropped here, once, not per request.
      // slice(): an array of its own length (filter leaves room for more, kept as long as the config serves).
      const hostRoutes = routes.filter((r) => r.match.gateways.has(gateway)).slice();
      const host: VirtualHost = { name: vsName, domains, routes: hostRoutes, matches: packMatches(hostRoutes) };
      let index = building.get(gateway);
      if (!index) {
        index = { exact: new Map(), wildcards: [] };
        building.set(gateway, index);
      }
      for (const domain of domains) addDomain(index, domain, host, gateway, issues);
    }
  }
  const gateways = new Map<string, GatewayRoutes>();
  for (const [gateway, index] of building) {
    index.wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
    gateways.set(gateway, index);
  }
  return { gateways, issues };
}

function addDomain(
  index: { exact: Map<string, VirtualHost>; wildcards: { suffix: string; host: VirtualHost }[] },
  domain: string,
  host: VirtualHost,
  gateway: string,
  issues: string[],
): void {
  const existing = domain.startsWith("*") ? index.wildcards.find((w) => `*${w.suffix}` === domain)?.host : index.exact.get(domain);
  if (existing) {
    if (existing !== host && existing.name !== host.name) {
      issues.push(`VirtualService "${host.name}": host "${domain}" on gateway "${gateway}" is already routed by "${existing.name}"; ignored for this host`);
    }
    return;
  }
  if (domain.startsWith("*")) index.wildcards.push({ suffix: domain.slice(1), host });
  else index.exact.set(domain, host);
}

/** Copies the matches of one host in one burst of allocation, so they end up adjacent in the heap. */
function packMatches(routes: readonly CompiledRoute[]): CompiledMatch[] {
  const copy = <T extends object | undefined>(m: T): T => (m === undefined ? m : { ...m });
  return routes.map(({ match: m }) => ({
    ...m,
    uri: copy(m.uri),
    method: copy(m.method),
    scheme: copy(m.scheme),
    authority: copy(m.authority),
    headers: m.headers.length === 0 ? m.headers : m.headers.map((h) => ({ ...h, matcher: { ...h.matcher } })),
  }));
}

interface RouteContext {
  /** `namespace/name` of the VirtualService whose virtual host the routes join (the root, for delegated routes). */
  readonly vsName: string;
  /** Where the routes are written: destination short names resolve here (the delegate's namespace, for delegated routes). */
  readonly vsNamespace: string;
  readonly vsGateways: readonly string[];
  /** How issues name the VirtualService the route is written in. */
  readonly subject: string;
  readonly options: CompileRouteTableOptions;
  readonly subsets: SubsetIndex;
  readonly issues: string[];
  readonly regexCache: Map<string, RegExp>;
  /** Every VirtualService of the input by `namespace/name` (delegates are looked up here). */
  readonly byName: ReadonlyMap<string, VirtualServiceResource>;
}

/** Where a compiled route comes from: its root route's index and, for a delegated route, the delegate's. */
interface RoutePlace {
  readonly routeIndex: number;
  readonly delegate: DelegateOrigin | undefined;
  /** The route's name when its spec has none. */
  readonly defaultName: string;
}

/**
 * The routes that replace the root's route `root` (index `routeIndex`), which delegates: the
 * delegate VirtualService's routes merged with it (Istio's mergeVirtualServicesIfNeeded).
 */
function compileDelegateRoute(root: HttpRouteSpec, routeIndex: number, context: RouteContext): CompiledRoute[] {
  const delegate = root.delegate as NonNullable<HttpRouteSpec["delegate"]>;
  const namespace = delegate.namespace || context.vsNamespace;
  const ref = `${namespace}/${delegate.name ?? ""}`;
  const rootName = root.name ?? `${context.vsName}[${routeIndex}]`;
  const skip = (problem: string, fix: string): CompiledRoute[] => {
    context.issues.push(`${context.subject} route "${rootName}" (http[${routeIndex}]): ${problem}; route skipped, so its requests go to the next route that matches (404 NR if none) — ${fix}`);
    return [];
  };
  const target = context.byName.get(ref);
  if (target === undefined) {
    return skip(`delegate VirtualService "${ref}" does not exist`, `create VirtualService ${ref} without hosts holding the routes, or correct delegate.name/namespace`);
  }
  if ((target.spec.hosts ?? []).length > 0) {
    return skip(`VirtualService "${ref}" has hosts, so it is not a delegate`, `remove the hosts of ${ref} to make it a delegate, or delegate to another VirtualService`);
  }
  if (!isExportedTo(target.spec.exportTo, namespace, context.vsNamespace)) {
    return skip(
      `delegate VirtualService "${ref}" is not exported to namespace "${context.vsNamespace}" (exportTo: [${(target.spec.exportTo ?? []).join(", ")}])`,
      `add "${context.vsNamespace}" (or "*") to the exportTo of ${ref}`,
    );
  }
  const delegateContext: RouteContext = { ...context, vsNamespace: namespace, subject: `VirtualService "${ref}" (delegate of "${context.vsName}")` };
  return (target.spec.http ?? []).flatMap((route, index) => {
    const where = `${delegateContext.subject} route "${route.name ?? `${ref}[${index}]`}" (http[${index}])`;
    if (route.delegate) {
      // Istio validation: "only one level of delegation is supported"; its merge would leave the route without an action.
      context.issues.push(`${where}: a delegate's route cannot delegate again (only one level of delegation); route skipped — route to destinations here instead`);
      return [];
    }
    const merged = mergeDelegateRoute({ route: root, namespace: context.vsNamespace }, { route, namespace });
    if (!merged.ok) {
      context.issues.push(`${where}: ${merged.reason}; route skipped — narrow its match to fit within the root route "${rootName}", or widen the root's match`);
      return [];
    }
    return compileHttpRoute(merged.route, { routeIndex, delegate: { virtualService: ref, routeIndex: index }, defaultName: `${ref}[${index}]` }, delegateContext);
  });
}

/** One HTTPRoute → one CompiledRoute per match (Istio emits one Envoy route per match). */
function compileHttpRoute(spec: HttpRouteSpec, place: RoutePlace, context: RouteContext): CompiledRoute[] {
  const name = spec.name ?? place.defaultName;
  const action = compileAction(spec, name, context);
  if (!action) return [];
  // Shared by the routes of every match. Each route is one object literal, not a spread of the
  // shared part: V8 gave the objects made by a spread a hidden class each (a map and a descriptor
  // array, ~0.3 KB: 1,231 of them for the 1,251 routes and destinations of 1,000 services).
  const requestHeaders = compileHeaderOps(spec.headers?.request);
  const responseHeaders = compileHeaderOps(spec.headers?.response);
  const retries = compileRetryPolicy(spec.retries);
  const fault = compileFault(spec.fault);
  const mirrors = compileMirrors(spec, name, context);
  const cors = compileCors(spec.corsPolicy);
  const matches: readonly (MatchSpec | undefined)[] = spec.match && spec.match.length > 0 ? spec.match : [undefined];
  const prefixRedirect = spec.redirect?.uri?.startsWith(prefixRedirectMarker) === true;
  return matches.map(
    (match, matchIndex): CompiledRoute => ({
      type: "route",
      name,
      routeIndex: place.routeIndex,
      delegate: place.delegate,
      virtualService: context.vsName,
      // A prefix redirect replaces what this match matched: its action is per match (rare: the Gateway API conversion's only).
      action: prefixRedirect && action.type === "redirect" ? { type: "redirect", redirect: { ...action.redirect, replacesPrefix: matchedPrefix(match) } } : action,
      requestHeaders,
      responseHeaders,
      timeoutMs: spec.timeout,
      retries,
      fault,
      mirrors,
      cors,
      matchIndex,
      match: compileMatch(match, context),
      rewrite: compileRewrite(spec.rewrite, match),
    }),
  );
}

function compileAction(spec: HttpRouteSpec, name: string, context: RouteContext): RouteAction | undefined {
  if (spec.redirect) {
    const r = spec.redirect;
    return {
      type: "redirect",
      redirect: {
        // `%PREFIX()%/new`: the marker goes; compileHttpRoute sets the prefix it replaces per match.
        uri: r.uri?.startsWith(prefixRedirectMarker) === true ? r.uri.slice(prefixRedirectMarker.length) : r.uri,
        replacesPrefix: undefined,
        authority: r.authority,
        port: r.port,
        derivePort: r.derivePort,
        scheme: r.scheme,
        status: r.redirectCode ?? 301,
      },
    };
  }
  if (spec.directResponse) {
    const d = spec.directResponse;
    return { type: "direct-response", response: { status: d.status, body: d.body?.string, bodyBase64: d.body?.bytes } };
  }
  if (spec.route && spec.route.length > 0) {
    const lone = spec.route.length === 1;
    const weights = spec.route.map((d) => (lone ? (d.weight ?? 100) : (d.weight ?? 0)));
    // Weights need not add up to 100: each destination gets weight / sum (Istio ≥ 1.x). All zero is an even split.
    const allZero = weights.every((w) => w === 0) && !lone;
    let cumulative = 0;
    const destinations = spec.route.map((d, i): RouteDestination => {
      const weight = allZero ? 1 : (weights[i] as number);
      cumulative += weight;
      return resolveDestination(d.destination, context, name, weight, cumulative, compileHeaderOps(d.headers?.request), compileHeaderOps(d.headers?.response));
    });
    return { type: "forward", destinations, totalWeight: cumulative };
  }
  // Validation refuses a route without an action; a delegate's route reaches here only merged.
  context.issues.push(`${context.subject} route "${name}": no route, redirect or directResponse; route skipped — add destinations under route`);
  return undefined;
}

/** The destination `spec` resolved (host, cluster, subset labels) with its weights and header operations: one object literal (see compileHttpRoute). */
function resolveDestination(
  spec: DestinationSpec,
  context: RouteContext,
  routeName: string,
  weight: number,
  cumulativeWeight: number,
  requestHeaders: HeaderOps | undefined,
  responseHeaders: HeaderOps | undefined,
): RouteDestination {
  const host = resolveHost(spec.host, context.vsNamespace, context.options.domainSuffix);
  const port = spec.port?.number;
  const subset = spec.subset;
  let subsetLabels: Readonly<Record<string, string>> | undefined = noLabels;
  if (subset !== undefined) {
    subsetLabels = findSubset(context.subsets, host, subset);
    if (subsetLabels === undefined) {
      context.issues.push(
        `${context.subject} route "${routeName}": subset "${subset}" is not defined in any DestinationRule for host "${host}"; requests to it get 503 (NC)`,
      );
    }
  }
  return { host, subset, port, cluster: clusterName(port, subset, host), subsetLabels, weight, cumulativeWeight, requestHeaders, responseHeaders };
}

function compileMatch(spec: MatchSpec | undefined, context: RouteContext): CompiledMatch {
  const gateways = new Set((spec?.gateways ?? context.vsGateways).map((g) => resolveGateway(g, context.vsNamespace)));
  const opt = (m: Parameters<typeof compileStringMatch>[0] | undefined, ignoreCase = false): StringMatcher | undefined =>
    m ? compileStringMatch(m, ignoreCase, context.regexCache) : undefined;
  const keyed = (map: Readonly<Record<string, Parameters<typeof compileStringMatch>[0]>> | undefined, invert: boolean, lower: boolean): KeyedMatcher[] =>
    Object.entries(map ?? {}).map(([name, m]) => ({ name: lower ? name.toLowerCase() : name, matcher: compileStringMatch(m, false, context.regexCache), invert }));
  const headers = [...keyed(spec?.headers, false, true), ...keyed(spec?.withoutHeaders, true, true)];
  const queryParams = keyed(spec?.queryParams, false, false);
  const sourceLabels = Object.entries(spec?.sourceLabels ?? {});
  return {
    name: spec?.name,
    uri: opt(spec?.uri, spec?.ignoreUriCase ?? false),
    scheme: opt(spec?.scheme),
    method: opt(spec?.method),
    // Host names compare case-insensitively (RFC 9110 §4.2.3).
    authority: opt(spec?.authority, true),
    headers: headers.length > 0 ? headers : none,
    queryParams: queryParams.length > 0 ? queryParams : none,
    port: spec?.port,
    sourceLabels: sourceLabels.length > 0 ? sourceLabels : none,
    sourceNamespace: spec?.sourceNamespace,
    gateways,
  };
}

function compileRewrite(spec: HttpRouteSpec["rewrite"], match: MatchSpec | undefined): Rewrite | undefined {
  if (!spec) return undefined;
  const regex = spec.uriRegexRewrite?.match
    ? {
        pattern: compileRe2(spec.uriRegexRewrite.match, { anchored: false, global: true }),
        // RE2 substitutions name groups \1; JS replace uses $1. A literal $ must be doubled.
        substitution: (spec.uriRegexRewrite.rewrite ?? "").replace(/\$/g, "$$$$").replace(/\\(\d)/g, "$$$1"),
      }
    : undefined;
  const replacesPrefix = spec.uri === undefined ? undefined : matchedPrefix(match);
  return { uri: spec.uri, replacesPrefix, authority: spec.authority, regex };
}

/**
 * What Envoy's prefix_rewrite (Istio's rewrite.uri, and a `%PREFIX()%` redirect) replaces under
 * `match`: its uri prefix, "/" for a match without uri; undefined for an exact or regex uri match,
 * where the whole path is replaced.
 */
function matchedPrefix(match: MatchSpec | undefined): string | undefined {
  return match?.uri === undefined ? "/" : match.uri.prefix;
}

function compileHeaderOps(spec: HeaderOperationsSpec | undefined): HeaderOps | undefined {
  if (!spec) return undefined;
  return {
    remove: (spec.remove ?? []).map((n) => n.toLowerCase()),
    set: Object.entries(spec.set ?? {}).map(([n, v]) => [n.toLowerCase(), v] as const),
    add: Object.entries(spec.add ?? {}).map(([n, v]) => [n.toLowerCase(), v] as const),
  };
}

function compileFault(spec: HttpRouteSpec["fault"]): Fault | undefined {
  if (!spec) return undefined;
  const delayMs = spec.delay?.fixedDelay;
  return {
    // Istio: an unset percentage injects into no request (the deprecated integer `percent` still counts).
    delay: delayMs === undefined ? undefined : { fixedDelayMs: delayMs, percentage: spec.delay?.percentage?.value ?? spec.delay?.percent ?? 0 },
    abort:
      spec.abort && (spec.abort.httpStatus !== undefined || spec.abort.grpcStatus !== undefined)
        ? { httpStatus: spec.abort.httpStatus, grpcStatus: spec.abort.grpcStatus, percentage: spec.abort.percentage?.value ?? 0 }
        : undefined,
  };
}

function compileMirrors(spec: HttpRouteSpec, routeName: string, context: RouteContext): readonly Mirror[] {
  const mirrors: Mirror[] = [];
  const destination = (d: DestinationSpec): RouteDestination => resolveDestination(d, context, routeName, 0, 0, undefined, undefined);
  if (spec.mirror) {
    const percentage = spec.mirrorPercentage?.value ?? spec.mirrorPercent ?? spec.mirror_percent ?? 100;
    mirrors.push({ destination: destination(spec.mirror), percentage });
  }
  for (const m of spec.mirrors ?? []) mirrors.push({ destination: destination(m.destination), percentage: m.percentage?.value ?? 100 });
  return mirrors.length > 0 ? mirrors : none;
}

function compileCors(spec: HttpRouteSpec["corsPolicy"]): Cors | undefined {
  if (!spec) return undefined;
  const join = (list: readonly string[] | undefined): string | undefined => (list && list.length > 0 ? list.join(",") : undefined);
  return {
    allowOrigins: [
      ...(spec.allowOrigins ?? []).map((m) => compileStringMatch(m)),
      ...(spec.allowOrigin ?? []).map((o) => compileStringMatch(o === "*" ? { prefix: "" } : { exact: o })),
    ],
    allowMethods: join(spec.allowMethods),
    allowHeaders: join(spec.allowHeaders),
    exposeHeaders: join(spec.exposeHeaders),
    // Access-Control-Max-Age is in whole seconds.
    maxAgeSeconds: spec.maxAge === undefined ? undefined : String(Math.floor(spec.maxAge / 1000)),
    allowCredentials: spec.allowCredentials ?? false,
    unmatchedPreflights: spec.unmatchedPreflights === "IGNORE" ? "IGNORE" : "FORWARD",
  };
}

/** FQDN host (or wildcard) → subset name → labels, from the DestinationRules. */
type SubsetIndex = ReadonlyMap<string, ReadonlyMap<string, Readonly<Record<string, string>>>>;

function indexSubsets(rules: readonly DestinationRuleResource[], options: CompileRouteTableOptions): SubsetIndex {
  const index = new Map<string, Map<string, Readonly<Record<string, string>>>>();
  for (const rule of rules) {
    const host = resolveHost(rule.spec.host, rule.metadata.namespace ?? options.namespace, options.domainSuffix);
    let byName = index.get(host);
    if (!byName) {
      byName = new Map();
      index.set(host, byName);
    }
    for (const subset of rule.spec.subsets ?? []) if (!byName.has(subset.name)) byName.set(subset.name, subset.labels ?? {});
  }
  return index;
}

/** The subset's labels from the DestinationRule of `host`, or of the most specific wildcard host covering it. */
function findSubset(index: SubsetIndex, host: string, subset: string): Readonly<Record<string, string>> | undefined {
  const exact = index.get(host)?.get(subset);
  if (exact) return exact;
  let best: { length: number; labels: Readonly<Record<string, string>> } | undefined;
  for (const [pattern, byName] of index) {
    if (!pattern.startsWith("*")) continue;
    const suffix = pattern.slice(1);
    const labels = byName.get(subset);
    if (labels && host.endsWith(suffix) && (!best || suffix.length > best.length)) best = { length: suffix.length, labels };
  }
  return best?.labels;
}
