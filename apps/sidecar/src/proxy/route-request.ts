// The per-request decision of a listener, taken once the head is parsed: which route, which
// cluster, and what the proxy must do around the forward (fault, timeouts, retries, rewrite,
// mirrors) — or the local reply to make instead (404 NR, 503 NC/UH, redirect, direct response).
import {
  applyCors,
  applyRewrite,
  findRoute,
  parseRetryOn,
  noVirtualHost,
  pickWeighted,
  redirectPath,
  requestHash,
  type CompiledRoute,
  type HeaderOps,
  type RetryPolicy,
  type RouteDestination,
  type RouteRequest,
} from "@meshwork/proxy-core";
import type { RequestHead } from "../http1/parse-request-head.ts";
import type { ClusterRuntime } from "./cluster-runtime.ts";
import type { ProxySnapshot } from "./proxy-snapshot.ts";

export interface ForwardDecision {
  readonly type: "forward";
  readonly cluster: ClusterRuntime;
  /** Envoy's route name for logs and metrics ("" for the inbound or a default route). */
  readonly routeName: string;
  readonly route: CompiledRoute | undefined;
  readonly destination: RouteDestination | undefined;
  readonly retries: RetryPolicy;
  readonly timeoutMs: number | undefined;
  readonly perTryTimeoutMs: number | undefined;
  /** Path and query to send when they change (rewrite, absolute-form target); undefined = the received target. */
  readonly target: string | undefined;
  /** Authority to send when it changes (rewrite.authority, mirror `-shadow`); undefined = unchanged. */
  readonly authority: string | undefined;
  /** Request header changes (route then destination, as Envoy applies them). */
  readonly requestHeaders: readonly HeaderOps[];
  readonly responseHeaders: readonly HeaderOps[];
  readonly hash: number | undefined;
  readonly delayMs: number;
  /** Fault abort status (after the delay), 0 when none. */
  readonly abortStatus: number;
  readonly abortGrpcStatus: string | undefined;
  readonly mirrors: readonly ClusterRuntime[];
}

export interface ReplyDecision {
  readonly type: "reply";
  readonly status: number;
  /** Envoy response flag ("" for redirects and direct responses, which are not errors). */
  readonly flag: string;
  readonly body: string | Buffer;
  readonly headers: readonly string[];
  readonly routeName: string;
  readonly details: string;
}

export type Decision = ForwardDecision | ReplyDecision;

export interface RequestContext {
  readonly head: RequestHead;
  /** Port the request arrived on (the listener's). */
  readonly listenerPort: number;
  readonly sourceIp: string;
  readonly random: () => number;
}

/** Headers of a request as a record for route and hash matching (repeated names joined with ","); built once per request. */
export function headerRecord(head: RequestHead): Record<string, string> {
  if (head.headerMap !== undefined) return head.headerMap;
  const record: Record<string, string> = {};
  const names = head.names;
  const values = head.values;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const previous = record[name];
    record[name] = previous === undefined ? (values[i] as string) : `${previous},${values[i] as string}`;
  }
  head.headerMap = record;
  return record;
}

/** Port of an authority (`host:port`), or `fallback` when it has none. */
function authorityPort(authority: string, fallback: number): number {
  const colon = authority.lastIndexOf(":");
  if (colon < 0 || authority.lastIndexOf("]") > colon) return fallback;
  const port = Number(authority.slice(colon + 1));
  return Number.isInteger(port) && port > 0 ? port : fallback;
}

/**
 * The outbound decision: Istio route matching through gateway `mesh` (a sidecar), or through
 * `gateway` (`namespace/name`, router mode: the Gateway server that admitted the request's host).
 */
export function routeOutbound(snapshot: ProxySnapshot, context: RequestContext, gateway: string = snapshot.gateway): Decision {
  const head = context.head;
  const headers = headerRecord(head);
  const port = authorityPort(head.authority, 80);
  const request: RouteRequest = {
    method: head.method,
    authority: head.authority,
    path: head.path,
    query: head.query,
    scheme: "http",
    port,
    headers,
    sourceLabels: snapshot.proxyLabels,
    sourceNamespace: snapshot.namespace,
    gateway,
  };
  const route = findRoute(snapshot.routeTable, request);
  if (route.type !== "route") {
    const fallback = route === noVirtualHost && gateway === "mesh" ? snapshot.passthrough(head.authority, port) : undefined;
    if (fallback) return forwardTo(snapshot, fallback, undefined, undefined, context, headers, port);
    return reply(404, "NR", "", "route_not_found", "");
  }
  const action = route.action;
  if (action.type === "redirect") return redirect(route, head, port);
  if (action.type === "direct-response") {
    const body = action.response.bodyBase64 !== undefined ? Buffer.from(action.response.bodyBase64, "base64") : (action.response.body ?? "");
    return { type: "reply", status: action.response.status, flag: "", body, headers: [], routeName: route.name, details: "direct_response" };
  }
  let corsHeaders: HeaderOps | undefined;
  if (route.cors) {
    const cors = applyCors(route.cors, head.method, headers);
    if (cors?.type === "preflight") {
      return { type: "reply", status: 200, flag: "", body: "", headers: cors.headers.map(([name, value]) => `${name}: ${value}`), routeName: route.name, details: "cors_response" };
    }
    if (cors) corsHeaders = { remove: [], set: cors.responseHeaders, add: [] };
  }
  const destination = action.destinations.length === 1 ? (action.destinations[0] as RouteDestination) : pickWeighted(action, context.random());
  const cluster = snapshot.clusterFor(destination, port);
  if (!cluster) return reply(503, "NC", "", "cluster_not_found", route.name);
  const decision = forwardTo(snapshot, cluster, route, destination, context, headers, port);
  return corsHeaders ? { ...decision, responseHeaders: [...decision.responseHeaders, corsHeaders] } : decision;
}

/**
 * The inbound decision of every origin-form request to `cluster` (an `inbound|<port>||` cluster of
 * the local application, Envoy's route "default"): read-only, made once per (cluster, retries) —
 * when a config builds the inbound targets — and shared by their requests (routeInbound).
 */
export function inboundDecision(cluster: ClusterRuntime, retries: RetryPolicy): ForwardDecision {
  return forwardInbound(cluster, retries, undefined);
}

/** The inbound decision for `head`: `shared` (inboundDecision), or for an absolute-form target a copy that sends the path and query upstream. */
export function routeInbound(shared: ForwardDecision, head: RequestHead): ForwardDecision {
  return head.absoluteForm ? forwardInbound(shared.cluster, shared.retries, targetOf(head.path, head.query)) : shared;
}

function forwardInbound(cluster: ClusterRuntime, retries: RetryPolicy, target: string | undefined): ForwardDecision {
  return {
    type: "forward",
    cluster,
    routeName: "default",
    route: undefined,
    destination: undefined,
    retries,
    timeoutMs: undefined,
    perTryTimeoutMs: undefined,
    target,
    authority: undefined,
    requestHeaders: noHeaderOps,
    responseHeaders: noHeaderOps,
    hash: undefined,
    delayMs: 0,
    abortStatus: 0,
    abortGrpcStatus: undefined,
    mirrors: noMirrors,
  };
}

/** Shared empty lists of decisions (read-only, like the decisions themselves). */
const noHeaderOps: readonly HeaderOps[] = Object.freeze([]);
const noMirrors: readonly ClusterRuntime[] = Object.freeze([]);

function forwardTo(
  snapshot: ProxySnapshot,
  cluster: ClusterRuntime,
  route: CompiledRoute | undefined,
  destination: RouteDestination | undefined,
  context: RequestContext,
  headers: Record<string, string>,
  port: number,
): ForwardDecision {
  const head = context.head;
  let target: string | undefined;
  if (route?.rewrite && (route.rewrite.uri !== undefined || route.rewrite.regex)) target = targetOf(applyRewrite(route.rewrite, head.path), head.query);
  else if (head.absoluteForm) target = targetOf(head.path, head.query);
  const timeoutOverride = headers["x-envoy-upstream-rq-timeout-ms"];
  const perTryOverride = headers["x-envoy-upstream-rq-per-try-timeout-ms"];
  const retries = retryOverrides(route?.retries ?? noRetries, headers);
  let delayMs = 0;
  let abortStatus = 0;
  let abortGrpcStatus: string | undefined;
  const fault = route?.fault;
  if (fault?.delay && context.random() * 100 < fault.delay.percentage) delayMs = fault.delay.fixedDelayMs;
  if (fault?.abort && context.random() * 100 < fault.abort.percentage) {
    abortGrpcStatus = fault.abort.grpcStatus;
    abortStatus = fault.abort.httpStatus ?? (abortGrpcStatus !== undefined ? 200 : 503);
  }
  let mirrors: readonly ClusterRuntime[] = noMirrors;
  if (route && route.mirrors.length > 0) {
    const chosen: ClusterRuntime[] = [];
    for (const mirror of route.mirrors) {
      if (context.random() * 100 >= mirror.percentage) continue;
      const mirrorCluster = snapshot.clusterFor(mirror.destination, port);
      if (mirrorCluster) chosen.push(mirrorCluster);
    }
    if (chosen.length > 0) mirrors = chosen;
  }
  const hashPolicy = cluster.spec.hashPolicy;
  const routeRetries = route?.retries ?? noRetries;
  const perRequest =
    target !== undefined || timeoutOverride !== undefined || perTryOverride !== undefined || retries !== routeRetries || delayMs !== 0 || abortStatus !== 0 || mirrors !== noMirrors || hashPolicy !== undefined;
  // Without per-request parts, the decision depends on (route, destination, cluster) only: made once, shared.
  const key: object = destination ?? cluster;
  if (!perRequest) {
    const shared = sharedDecisions.get(key);
    if (shared !== undefined && shared.cluster === cluster && shared.route === route && shared.destination === destination) return shared;
  }
  const requestHeaders = headerOpsOf(route?.requestHeaders, destination?.requestHeaders);
  const responseHeaders = headerOpsOf(destination?.responseHeaders, route?.responseHeaders);
  const decision: ForwardDecision = {
    type: "forward",
    cluster,
    routeName: route?.name ?? "allow_any",
    route,
    destination,
    retries: perTryOverride === undefined ? retries : { ...retries, perTryTimeoutMs: positiveInt(perTryOverride) ?? retries.perTryTimeoutMs },
    timeoutMs: timeoutOverride === undefined ? route?.timeoutMs : positiveIntOrZero(timeoutOverride, route?.timeoutMs),
    perTryTimeoutMs: perTryOverride === undefined ? retries.perTryTimeoutMs : (positiveInt(perTryOverride) ?? retries.perTryTimeoutMs),
    target,
    authority: route?.rewrite?.authority,
    requestHeaders,
    responseHeaders,
    hash: hashPolicy ? requestHash(hashPolicy, { headers, query: head.query, sourceIp: context.sourceIp }) : undefined,
    delayMs,
    abortStatus,
    abortGrpcStatus,
    mirrors,
  };
  if (!perRequest) sharedDecisions.set(key, decision);
  return decision;
}

/** Forward decisions without per-request parts, by destination (by cluster for the passthrough): decisions are read-only. */
const sharedDecisions = new WeakMap<object, ForwardDecision>();

/** Header operations in the order given, without the absent ones (the shared empty list when none). */
function headerOpsOf(first: HeaderOps | undefined, second: HeaderOps | undefined): readonly HeaderOps[] {
  if (first === undefined) return second === undefined ? noHeaderOps : [second];
  return second === undefined ? [first] : [first, second];
}

const noRetries: RetryPolicy = {
  attempts: 0,
  perTryTimeoutMs: undefined,
  retryOn: 0,
  retriableStatusCodes: [],
  unknownTokens: [],
  backoffBaseMs: 25,
  backoffMaxMs: 250,
  retryIgnorePreviousHosts: true,
  retryRemoteLocalities: false,
};

/**
 * Envoy's request headers that override the route's retry policy: `x-envoy-retry-on` (the same
 * tokens as Istio's retryOn) and `x-envoy-max-retries`.
 */
function retryOverrides(policy: RetryPolicy, headers: Readonly<Record<string, string>>): RetryPolicy {
  const retryOn = headers["x-envoy-retry-on"];
  const maxRetries = headers["x-envoy-max-retries"];
  if (retryOn === undefined && maxRetries === undefined) return policy;
  let next = policy;
  if (retryOn !== undefined) {
    const parsed = parseRetryOn(retryOn);
    next = { ...next, retryOn: next.retryOn | parsed.retryOn, retriableStatusCodes: [...next.retriableStatusCodes, ...parsed.retriableStatusCodes] };
    if (next.attempts === 0 && maxRetries === undefined) next = { ...next, attempts: 1 };
  }
  if (maxRetries !== undefined) {
    const n = Number(maxRetries);
    if (Number.isInteger(n) && n >= 0) next = { ...next, attempts: n };
  }
  return next;
}

function positiveInt(text: string): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** `x-envoy-upstream-rq-timeout-ms: 0` disables the timeout (Envoy); garbage keeps the route's. */
function positiveIntOrZero(text: string, fallback: number | undefined): number | undefined {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) return fallback;
  return n === 0 ? undefined : n;
}

function targetOf(path: string, query: string): string {
  return query === "" ? path : `${path}?${query}`;
}

function reply(status: number, flag: string, body: string, details: string, routeName: string): ReplyDecision {
  return { type: "reply", status, flag, body, headers: [], routeName, details };
}

function redirect(route: CompiledRoute, head: RequestHead, requestPort: number): ReplyDecision {
  const r = (route.action as Extract<CompiledRoute["action"], { type: "redirect" }>).redirect;
  const scheme = r.scheme ?? "http";
  const colon = head.authority.lastIndexOf(":");
  const requestHost = colon > 0 && head.authority.lastIndexOf("]") < colon ? head.authority.slice(0, colon) : head.authority;
  const host = r.authority ?? requestHost;
  let port = "";
  if (r.port !== undefined) port = `:${r.port}`;
  else if (r.derivePort === "FROM_REQUEST_PORT") port = `:${requestPort}`;
  else if (r.derivePort === undefined && r.authority === undefined && colon > 0 && r.scheme === undefined) port = head.authority.slice(colon);
  const path = redirectPath(r, head.path);
  const location = `${scheme}://${host}${port}${targetOf(path, head.query)}`;
  return { type: "reply", status: r.status, flag: "", body: "", headers: [`location: ${location}`], routeName: route.name, details: "redirect" };
}
