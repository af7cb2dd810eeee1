// The compiled route model: plain data the sidecar's per-request path reads without further
// parsing. Built once per config by compileRouteTable(), never mutated; a new config builds a new
// table (linkerd2-proxy's router, rebuilt rather than patched).
import type { StringMatcher } from "./compile-string-match.ts";
import type { RetryPolicy } from "./parse-retry-on.ts";

/** Header changes in the order Envoy applies them: remove, then set (overwrite), then add (append). Names are lowercase. */
export interface HeaderOps {
  readonly remove: readonly string[];
  readonly set: readonly (readonly [name: string, value: string])[];
  readonly add: readonly (readonly [name: string, value: string])[];
}

/** One destination of a route: an Istio cluster plus its share of the traffic. */
export interface RouteDestination {
  /** Fully qualified host, e.g. `reviews.default.svc.cluster.local`. */
  readonly host: string;
  readonly subset: string | undefined;
  readonly port: number | undefined;
  /** Istio's cluster name `outbound|<port>|<subset>|<host>` (empty parts when unset). */
  readonly cluster: string;
  /** Label selector of the subset from the host's DestinationRule; `{}` without a subset; undefined when the subset is not defined (requests get 503 NC). */
  readonly subsetLabels: Readonly<Record<string, string>> | undefined;
  readonly weight: number;
  /** Sum of the weights of this and all earlier destinations of the route (pickWeighted's search key). */
  readonly cumulativeWeight: number;
  readonly requestHeaders: HeaderOps | undefined;
  readonly responseHeaders: HeaderOps | undefined;
}

/** Path and authority changes before forwarding. */
export interface Rewrite {
  /** Replaces the matched prefix (prefix matches) or the whole path (other matches). */
  readonly uri: string | undefined;
  /** Replaces the part matched by the route's prefix; set only when the match was a prefix match. */
  readonly replacesPrefix: string | undefined;
  readonly authority: string | undefined;
  /** RE2 regex (global, compiled once) and its JS substitution (`\1` became `$1`). */
  readonly regex: { readonly pattern: RegExp; readonly substitution: string } | undefined;
}

export interface Redirect {
  /** The new path; with `replacesPrefix`, what replaces the matched prefix. */
  readonly uri: string | undefined;
  /**
   * Set for a redirect.uri written `%PREFIX()%<new prefix>` (the Gateway API's RequestRedirect
   * ReplacePrefixMatch, as Istio converts it; Envoy's redirect prefix_rewrite): the prefix the
   * route's match matched ("/" without a uri match), which `uri` replaces. Undefined: `uri` is the
   * whole new path (also for the marker on an exact or regex match, as Envoy does).
   */
  readonly replacesPrefix: string | undefined;
  readonly authority: string | undefined;
  readonly port: number | undefined;
  readonly derivePort: "FROM_PROTOCOL_DEFAULT" | "FROM_REQUEST_PORT" | undefined;
  readonly scheme: string | undefined;
  /** 301 when the rule leaves it unset. */
  readonly status: number;
}

export interface DirectResponse {
  readonly status: number;
  /** Body text; base64 `bytes` bodies are kept encoded in `bodyBase64` (decoding is the adapter's job). */
  readonly body: string | undefined;
  readonly bodyBase64: string | undefined;
}

/** What a matched route does: forward to weighted destinations, redirect or answer directly. */
export type RouteAction =
  | { readonly type: "forward"; readonly destinations: readonly RouteDestination[]; readonly totalWeight: number }
  | { readonly type: "redirect"; readonly redirect: Redirect }
  | { readonly type: "direct-response"; readonly response: DirectResponse };

/** Fault injection; percentages are 0..100. */
export interface Fault {
  readonly delay: { readonly fixedDelayMs: number; readonly percentage: number } | undefined;
  readonly abort:
    | { readonly httpStatus: number | undefined; readonly grpcStatus: string | undefined; readonly percentage: number }
    | undefined;
}

export interface Mirror {
  readonly destination: RouteDestination;
  /** 0..100; 100 when the rule leaves it unset. */
  readonly percentage: number;
}

export interface Cors {
  readonly allowOrigins: readonly StringMatcher[];
  /** Precomputed header values (joined with ","); undefined when unset. */
  readonly allowMethods: string | undefined;
  readonly allowHeaders: string | undefined;
  readonly exposeHeaders: string | undefined;
  readonly maxAgeSeconds: string | undefined;
  readonly allowCredentials: boolean;
  readonly unmatchedPreflights: "FORWARD" | "IGNORE";
}

/** One condition on a header or query parameter; `invert` for withoutHeaders. */
export interface KeyedMatcher {
  readonly name: string;
  readonly matcher: StringMatcher;
  readonly invert: boolean;
}

/**
 * One HTTPMatchRequest compiled; every set condition must hold. Istio turns each match of a route
 * into its own Envoy route, so a compiled route has exactly one of these (or none: match all).
 */
export interface CompiledMatch {
  readonly name: string | undefined;
  readonly uri: StringMatcher | undefined;
  readonly scheme: StringMatcher | undefined;
  readonly method: StringMatcher | undefined;
  readonly authority: StringMatcher | undefined;
  readonly headers: readonly KeyedMatcher[];
  readonly queryParams: readonly KeyedMatcher[];
  readonly port: number | undefined;
  readonly sourceLabels: readonly (readonly [name: string, value: string])[];
  readonly sourceNamespace: string | undefined;
  /** Gateways (`namespace/name` or `mesh`) this match applies to: the match's own list, else the VirtualService's. */
  readonly gateways: ReadonlySet<string>;
}

/** The delegate VirtualService a route was written in, when a root's `delegate` route brought it in. */
export interface DelegateOrigin {
  /** `namespace/name` of the delegate VirtualService. */
  readonly virtualService: string;
  /** Index of the route in the delegate's `http` list. */
  readonly routeIndex: number;
}

/** A route as Envoy sees it: one (HTTPRoute, match) pair, in the VirtualService's order. */
export interface CompiledRoute {
  readonly type: "route";
  /**
   * The HTTPRoute's name, or `<vs-namespace>/<vs-name>[<index>]` when unnamed. A delegated route
   * is named as Istio names it: `<root route>-<delegate route>`, either one alone when the other is
   * unnamed, else `<delegate-namespace>/<delegate-name>[<index>]`.
   */
  readonly name: string;
  /** Index of the HTTPRoute in the VirtualService's `http` list (for a delegated route: of the root's route that delegates). */
  readonly routeIndex: number;
  /** Where a delegated route is written; undefined for the VirtualService's own routes. */
  readonly delegate: DelegateOrigin | undefined;
  /** Index of the match inside the HTTPRoute (0 when it has no match list); of the merged match list for a delegated route. */
  readonly matchIndex: number;
  /** `namespace/name` of the VirtualService. */
  readonly virtualService: string;
  readonly match: CompiledMatch;
  readonly action: RouteAction;
  readonly rewrite: Rewrite | undefined;
  readonly requestHeaders: HeaderOps | undefined;
  readonly responseHeaders: HeaderOps | undefined;
  /** Whole-request timeout including retries; undefined = none (Istio's default). */
  readonly timeoutMs: number | undefined;
  readonly retries: RetryPolicy;
  readonly fault: Fault | undefined;
  readonly mirrors: readonly Mirror[];
  readonly cors: Cors | undefined;
}

/** The routes of a set of domains (one VirtualService's hosts). */
export interface VirtualHost {
  /** `namespace/name` of the VirtualService. */
  readonly name: string;
  /** Lowercase domains, FQDN and the short aliases; wildcards as written (`*.example.com`, `*`). */
  readonly domains: readonly string[];
  readonly routes: readonly CompiledRoute[];
  /**
   * `routes[i].match`, copied together after compiling so that one host's conditions sit close in
   * memory: findRoute walks these, not the routes (see bench/proxy-core).
   */
  readonly matches: readonly CompiledMatch[];
  /**
   * Set on the placeholder of a service host that a Sidecar egress listener of its own does not
   * import on this port (addDefaultRoutes): findRoute answers as if no virtual host served the
   * authority, so the listener's outboundTrafficPolicy decides (passthrough or 404 NR), as for an
   * unknown host: Istio's per-port route config simply lacks the host there.
   */
  readonly isNotImported?: true;
}

/** Virtual hosts seen through one gateway (`mesh` for sidecars). */
export interface GatewayRoutes {
  /** Exact domains (lowercase, without port) → virtual host. */
  readonly exact: ReadonlyMap<string, VirtualHost>;
  /** Wildcard domains, longest suffix first: `*.example.com` is stored as suffix `.example.com`; `*` as "". */
  readonly wildcards: readonly { readonly suffix: string; readonly host: VirtualHost }[];
}

/** The compiled configuration: by gateway, then by authority. */
export interface RouteTable {
  readonly gateways: ReadonlyMap<string, GatewayRoutes>;
  /** Problems found while compiling (a missing subset, a shadowed host); the table is still usable. */
  readonly issues: readonly string[];
}
