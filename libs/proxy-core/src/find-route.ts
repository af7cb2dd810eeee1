// The per-request route decision: a pure function over a compiled RouteTable and the request
// head. First match wins (Istio: "the first rule matching an incoming request is used"). It
// allocates nothing on the common path: lookups are map gets, matchers compare strings.
import { testString } from "./compile-string-match.ts";
import type { CompiledMatch, CompiledRoute, GatewayRoutes, RouteTable, VirtualHost } from "./route-table.ts";

/** The parts of a request route matching reads. Header names are lowercase. */
export interface RouteRequest {
  readonly method: string;
  /** Host header / :authority as received, possibly with a port. */
  readonly authority: string;
  /** Path without the query string. */
  readonly path: string;
  /** Query string without `?`; "" when absent. */
  readonly query: string;
  readonly scheme: string;
  /** Port the request was addressed to (the listener's or the authority's). */
  readonly port: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly sourceLabels: Readonly<Record<string, string | undefined>>;
  readonly sourceNamespace: string | undefined;
  /** `mesh` for sidecar traffic, `namespace/name` behind a gateway. */
  readonly gateway: string;
}

/** No virtual host serves the authority: the caller uses the host's default cluster or answers 404 NR. */
export const noVirtualHost = Object.freeze({ type: "no-virtual-host" as const });
/** A virtual host matched but none of its routes did: Envoy answers 404 with flag NR. */
export const noRoute = Object.freeze({ type: "no-route" as const });

export type RouteDecision = CompiledRoute | typeof noVirtualHost | typeof noRoute;

/** The first route of the request's virtual host whose match holds, or why there is none. */
export function findRoute(table: RouteTable, request: RouteRequest): RouteDecision {
  const gateway = table.gateways.get(request.gateway);
  if (!gateway) return noVirtualHost;
  const host = findVirtualHost(gateway, request.authority);
  if (!host) return noVirtualHost;
  const matches = host.matches;
  for (let i = 0; i < matches.length; i++) {
    if (matchesRequest(matches[i] as CompiledMatch, request)) return host.routes[i] as CompiledRoute;
  }
  // Checked only once no route matched: the common path pays nothing for it.
  return host.isNotImported === true ? noVirtualHost : noRoute;
}

/** The virtual host for `authority`: exact domain (with, then without port), then the longest wildcard suffix. */
export function findVirtualHost(gateway: GatewayRoutes, authority: string): VirtualHost | undefined {
  const direct = gateway.exact.get(authority);
  if (direct) return direct;
  const bare = hostWithoutPort(authority);
  const host = hasUpperCase(bare) ? bare.toLowerCase() : bare;
  const exact = host === authority ? undefined : gateway.exact.get(host);
  if (exact) return exact;
  const wildcards = gateway.wildcards;
  for (let i = 0; i < wildcards.length; i++) {
    const w = wildcards[i] as GatewayRoutes["wildcards"][number];
    if (w.suffix === "" || (host.length > w.suffix.length && host.endsWith(w.suffix))) return w.host;
  }
  return undefined;
}

/** A scan is cheaper than toLowerCase's copy for the usual, already lowercase, host. */
function hasUpperCase(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}

/** `host:port` → `host`; `[v6]:port` → `[v6]`; anything else unchanged. */
function hostWithoutPort(authority: string): string {
  const colon = authority.lastIndexOf(":");
  if (colon < 0) return authority;
  const bracket = authority.lastIndexOf("]");
  if (bracket > colon) return authority;
  if (authority.startsWith("[") === false && authority.indexOf(":") !== colon) return authority; // bare IPv6
  return authority.slice(0, colon);
}

/** Whether every condition of `match` holds for `request` (gateways were applied when compiling). */
export function matchesRequest(match: CompiledMatch, request: RouteRequest): boolean {
  if (match.uri && !testString(match.uri, request.path)) return false;
  if (match.method && !testString(match.method, request.method)) return false;
  if (match.port !== undefined && match.port !== request.port) return false;
  if (match.authority && !testString(match.authority, request.authority)) return false;
  if (match.scheme && !testString(match.scheme, request.scheme)) return false;
  const headers = match.headers;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i] as CompiledMatch["headers"][number];
    // withoutHeaders: the route matches when the header does NOT match (absent counts as not matching).
    if (testString(h.matcher, request.headers[h.name]) === h.invert) return false;
  }
  const params = match.queryParams;
  for (let i = 0; i < params.length; i++) {
    const p = params[i] as CompiledMatch["queryParams"][number];
    if (!testString(p.matcher, queryParam(request.query, p.name))) return false;
  }
  const labels = match.sourceLabels;
  for (let i = 0; i < labels.length; i++) {
    const [name, value] = labels[i] as CompiledMatch["sourceLabels"][number];
    if (request.sourceLabels[name] !== value) return false;
  }
  if (match.sourceNamespace !== undefined && match.sourceNamespace !== request.sourceNamespace) return false;
  return true;
}

/**
 * The first value of query parameter `name` in `query` (`a=1&b=2`), percent-decoded; "" for a
 * bare `name`; undefined when absent. Scans in place: no map is built per request.
 */
export function queryParam(query: string, name: string): string | undefined {
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf("&", start);
    if (end < 0) end = query.length;
    const eq = query.indexOf("=", start);
    const keyEnd = eq >= 0 && eq < end ? eq : end;
    if (keyEnd - start === name.length && query.startsWith(name, start)) {
      return keyEnd === end ? "" : decode(query.slice(keyEnd + 1, end));
    }
    start = end + 1;
  }
  return undefined;
}

function decode(value: string): string {
  if (!value.includes("%") && !value.includes("+")) return value;
  try {
    return decodeURIComponent(value.replace(/\+/g, " "));
  } catch {
    return value;
  }
}
