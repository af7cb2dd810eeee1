// VirtualService delegation as Istio merges it (pilot/pkg/model/virtualservice.go mergeHTTPRoute,
// mergeHTTPMatchRequests, hasConflict, stringMatchConflict): a root's route `{match, delegate}`
// stands for each route of the delegate VirtualService, restricted to the root's matches and
// inheriting the root's filters it does not set itself. Pure, over the decoded specs.
import type { MeshResource } from "@meshwork/config";
import type { StringMatchSpec } from "./compile-string-match.ts";
import { resolveGateway } from "./resolve-host.ts";

type HttpRouteSpec = NonNullable<MeshResource<"VirtualService">["spec"]["http"]>[number];
type MatchSpec = NonNullable<HttpRouteSpec["match"]>[number];

/** An HTTP route with the namespace of the VirtualService it is written in (its gateway names resolve there). */
export interface ScopedHttpRoute {
  readonly route: HttpRouteSpec;
  readonly namespace: string;
}

/** The merged route, or why the delegate's route fits none of the root's matches (Istio drops it). */
export type MergedDelegateRoute = { readonly ok: true; readonly route: HttpRouteSpec } | { readonly ok: false; readonly reason: string };

/**
 * The delegate's route as it applies under the root's route (Istio's mergeHTTPRoute):
 * - match: every delegate match merged with every root match it does not conflict with (delegate
 *   match major, root match minor); a delegate match that conflicts with all of them makes the
 *   whole route conflict. Without matches on one side the other side's matches are taken as they are.
 * - name: `<root>-<delegate>`, or whichever of the two is set.
 * - rewrite, timeout, retries, fault, mirror, mirrorPercent, mirrorPercentage, mirrors,
 *   corsPolicy and headers: the delegate's, else the root's (each field as a whole).
 * - Everything else (the destinations, redirect or direct response) is the delegate's.
 * Gateway names in the result's matches are resolved (`namespace/name` or `mesh`), each in the
 * namespace it was written in. The delegate route's own `delegate` is kept: the caller refuses it.
 */
export function mergeDelegateRoute(root: ScopedHttpRoute, delegate: ScopedHttpRoute): MergedDelegateRoute {
  const rootMatches = root.route.match?.map((m) => withResolvedGateways(m, root.namespace)) ?? [];
  const leafMatches = delegate.route.match?.map((m) => withResolvedGateways(m, delegate.namespace)) ?? [];
  const merged = mergeMatches(rootMatches, leafMatches);
  if (!merged.ok) return merged;
  const r = root.route;
  const d = delegate.route;
  // Not taken from the root: route, redirect and directResponse. Validation refuses any of them next
  // to `delegate` (Istio's newest merge also copies directResponse, which its validation refuses too).
  return {
    ok: true,
    route: {
      ...d,
      name: joinNames(r.name, d.name),
      match: merged.matches.length > 0 ? merged.matches : undefined,
      rewrite: d.rewrite ?? r.rewrite,
      timeout: d.timeout ?? r.timeout,
      retries: d.retries ?? r.retries,
      fault: d.fault ?? r.fault,
      mirror: d.mirror ?? r.mirror,
      mirrorPercent: d.mirrorPercent ?? r.mirrorPercent,
      mirror_percent: d.mirror_percent ?? r.mirror_percent,
      mirrorPercentage: d.mirrorPercentage ?? r.mirrorPercentage,
      mirrors: d.mirrors ?? r.mirrors,
      corsPolicy: d.corsPolicy ?? r.corsPolicy,
      headers: d.headers ?? r.headers,
    },
  };
}

/** Istio's mergeHTTPMatchRequests: each delegate match must fit at least one root match. */
function mergeMatches(
  root: readonly MatchSpec[],
  leaves: readonly MatchSpec[],
): { readonly ok: true; readonly matches: MatchSpec[] } | { readonly ok: false; readonly reason: string } {
  if (root.length === 0) return { ok: true, matches: [...leaves] };
  if (leaves.length === 0) return { ok: true, matches: [...root] };
  const out: MatchSpec[] = [];
  for (const [j, leaf] of leaves.entries()) {
    const conflicts: string[] = [];
    for (const [i, rootMatch] of root.entries()) {
      const conflict = matchConflict(rootMatch, leaf);
      if (conflict === undefined) out.push(mergeMatch(rootMatch, leaf));
      else conflicts.push(root.length === 1 ? conflict : `root match[${i}]: ${conflict}`);
    }
    if (conflicts.length === root.length) {
      return { ok: false, reason: `its match[${j}] fits none of the root route's matches (${conflicts.join("; ")})` };
    }
  }
  return { ok: true, matches: out };
}

/** Istio's mergeHTTPMatchRequest: the delegate's conditions, the root's where the delegate sets none; maps are unions (the delegate's entry wins). */
function mergeMatch(root: MatchSpec, leaf: MatchSpec): MatchSpec {
  return {
    ...leaf,
    name: joinNames(root.name, leaf.name),
    uri: leaf.uri ?? root.uri,
    scheme: leaf.scheme ?? root.scheme,
    method: leaf.method ?? root.method,
    authority: leaf.authority ?? root.authority,
    headers: mergeMaps(root.headers, leaf.headers),
    withoutHeaders: mergeMaps(root.withoutHeaders, leaf.withoutHeaders),
    queryParams: mergeMaps(root.queryParams, leaf.queryParams),
    port: leaf.port || root.port,
    sourceLabels: mergeMaps(root.sourceLabels, leaf.sourceLabels),
    sourceNamespace: leaf.sourceNamespace || root.sourceNamespace,
    gateways: leaf.gateways !== undefined && leaf.gateways.length > 0 ? leaf.gateways : root.gateways,
    statPrefix: leaf.statPrefix || root.statPrefix,
  };
}

/**
 * Istio's hasConflict, as a reason: why the delegate match `leaf` is not within the root match
 * `root`, or undefined when it is. Istio checks the delegate's keys only, so a header the root
 * requires and the delegate does not mention is simply kept.
 */
export function matchConflict(root: MatchSpec, leaf: MatchSpec): string | undefined {
  for (const field of ["uri", "scheme", "method", "authority"] as const) {
    const conflict = stringMatchConflict(root[field], leaf[field]);
    if (conflict !== undefined) return `${field}: ${conflict}`;
  }
  const keyed = [
    ["header", root.headers, leaf.headers],
    ["withoutHeaders", root.withoutHeaders, leaf.withoutHeaders],
    ["query parameter", root.queryParams, leaf.queryParams],
  ] as const;
  for (const [what, rootMap, leafMap] of keyed) {
    for (const [key, leafMatch] of Object.entries(leafMap ?? {})) {
      const conflict = stringMatchConflict(rootMap?.[key], leafMatch);
      if (conflict !== undefined) return `${what} ${JSON.stringify(key)}: ${conflict}`;
    }
  }
  if ((root.ignoreUriCase ?? false) !== (leaf.ignoreUriCase ?? false)) {
    return `ignoreUriCase is ${leaf.ignoreUriCase ?? false} but the root's is ${root.ignoreUriCase ?? false} (they must be equal)`;
  }
  if (root.port && leaf.port && root.port !== leaf.port) return `port ${leaf.port} is not the root's port ${root.port}`;
  if (root.sourceNamespace && leaf.sourceNamespace !== root.sourceNamespace) {
    return `sourceNamespace ${leaf.sourceNamespace === undefined ? "is unset" : JSON.stringify(leaf.sourceNamespace)} but the root's is ${JSON.stringify(root.sourceNamespace)} (Istio requires the same)`;
  }
  for (const [key, value] of Object.entries(leaf.sourceLabels ?? {})) {
    const rootValue = root.sourceLabels?.[key];
    if (rootValue !== undefined && rootValue !== value) return `sourceLabels ${key}=${value} contradicts the root's ${key}=${rootValue}`;
  }
  const rootGateways = root.gateways ?? [];
  const leafGateways = leaf.gateways ?? [];
  if (rootGateways.length > 0 && leafGateways.length > 0) {
    const outside = leafGateways.filter((g) => !rootGateways.includes(g));
    if (outside.length > 0 || rootGateways.length < leafGateways.length) {
      return `gateways [${leafGateways.join(", ")}] are not among the root's [${rootGateways.join(", ")}]`;
    }
  }
  return undefined;
}

/**
 * Istio's stringMatchConflict, as a reason: no conflict when either side is unset; a regex
 * never combines with another match; under an exact match only the same exact match fits; under a
 * prefix, a longer prefix or an exact value starting with it fits. Anything else (an empty match
 * `{}` on either side of a set one, an empty prefix) conflicts. Empty strings count as unset, as
 * protobuf getters return them.
 */
function stringMatchConflict(root: StringMatchSpec | undefined, leaf: StringMatchSpec | undefined): string | undefined {
  if (root === undefined || leaf === undefined) return undefined;
  const mismatch = (why: string): string => `the delegate's ${describeStringMatch(leaf)} ${why}`;
  if (root.regex || leaf.regex) return `a regex match cannot be combined with another (root ${describeStringMatch(root)}, delegate ${describeStringMatch(leaf)})`;
  if (root.exact) {
    return leaf.exact === root.exact && !leaf.prefix ? undefined : mismatch(`is not the root's exact ${JSON.stringify(root.exact)}`);
  }
  if (root.prefix) {
    const prefix = root.prefix;
    if (leaf.prefix) return leaf.prefix.startsWith(prefix) ? undefined : mismatch(`is not within the root's prefix ${JSON.stringify(prefix)}`);
    if (leaf.exact) return leaf.exact.startsWith(prefix) ? undefined : mismatch(`is not within the root's prefix ${JSON.stringify(prefix)}`);
  }
  return mismatch(`cannot be narrowed from the root's ${describeStringMatch(root)}`);
}

function describeStringMatch(m: StringMatchSpec): string {
  if (m.exact) return `exact ${JSON.stringify(m.exact)}`;
  if (m.prefix) return `prefix ${JSON.stringify(m.prefix)}`;
  if (m.regex) return `regex ${JSON.stringify(m.regex)}`;
  return "{} (any value)";
}

function withResolvedGateways(match: MatchSpec, namespace: string): MatchSpec {
  return match.gateways === undefined ? match : { ...match, gateways: match.gateways.map((g) => resolveGateway(g, namespace)) };
}

function joinNames(root: string | undefined, leaf: string | undefined): string | undefined {
  if (!leaf) return root || undefined;
  return root ? `${root}-${leaf}` : leaf;
}

function mergeMaps<V>(root: Readonly<Record<string, V>> | undefined, leaf: Readonly<Record<string, V>> | undefined): Record<string, V> | undefined {
  if (root === undefined && leaf === undefined) return undefined;
  return { ...root, ...leaf };
}
