// Semantic checks on a VirtualService spec that the schema cannot express: the rules Istio's
// validation webhook applies (istio/istio pkg/config/validation: ValidateVirtualService and the
// helpers it calls), written in our own words. Cross-resource checks (unknown subsets, weights
// not summing to 100, shadowed routes) belong to analysis, not here.
import type { FieldPath, SpecRule } from "../field-issue.ts";
import { formatDurationMs } from "../duration.ts";
import { closestName } from "../closest-name.ts";
import { retryOnTokens } from "../retry-on-tokens.ts";
import { exportToIssues } from "./export-to.ts";
import { headerValueProblem, isHeaderName } from "./headers.ts";
import { fqdnProblem, hostCovers, hostsOverlap, isDnsLabel, wildcardDomainProblem } from "./host-names.ts";
import { isIpAddress, isIpSubnet } from "./ip-addresses.ts";
import { prefixRedirectMarker } from "../gateway-api/prefix-redirect-marker.ts";
import { IssueList } from "./issue-list.ts";
import { labelIssues } from "./labels.ts";
import { checkPortNumber } from "./ports.ts";
import { re2Problem } from "./re2-syntax.ts";
import type {
  CorsPolicy,
  Destination,
  Headers,
  HTTPFaultInjection,
  HTTPMatchRequest,
  HTTPRedirect,
  HTTPRetry,
  HTTPRewrite,
  HTTPRoute,
  HTTPRouteDestination,
  L4MatchAttributes,
  RouteDestination,
  TCPRoute,
  TLSMatchAttributes,
  TLSRoute,
  VirtualServiceSpec,
} from "../schema/virtual-service.ts";

type StringMatchValue = { exact?: string; prefix?: string; regex?: string };
type Percentage = { value: number };

const q = (value: unknown): string => JSON.stringify(value);

// ---------------------------------------------------------------------------------------------
// Names

/** Checks gateway references: `mesh`, `name`, or `namespace/name`. */
export function checkGatewayNames(names: readonly string[], path: FieldPath, issues: IssueList): void {
  for (const [i, name] of names.entries()) {
    const at = [...path, i];
    const slash = name.indexOf("/");
    if (slash < 0) {
      const problem = fqdnProblem(name);
      if (problem !== undefined) {
        issues.error(at, `gateway ${q(name)} ${problem}`, "name a gateway as <name> or <namespace>/<name>, or use mesh for the sidecars");
      } else if (name.includes(".")) {
        const [gw, ns] = name.split(".");
        issues.warn(at, `gateway ${q(name)} uses the legacy <name>.<namespace> form`, `write it as "${ns}/${gw}"`);
      }
      continue;
    }
    const ns = name.slice(0, slash);
    const gw = name.slice(slash + 1);
    if (ns === "" || gw === "") {
      issues.error(at, `gateway ${q(name)} has an empty namespace or name`, "write <namespace>/<name>, e.g. istio-system/my-gateway");
      continue;
    }
    if (!isDnsLabel(ns)) issues.error(at, `gateway ${q(name)}: namespace ${q(ns)} is not a valid namespace name`, "namespaces are DNS labels: lowercase letters, digits and '-'");
    if (!isDnsLabel(gw)) issues.error(at, `gateway ${q(name)}: name ${q(gw)} is not a valid gateway name`, "gateway names are DNS labels: lowercase letters, digits and '-' (no dots)");
  }
}

// ---------------------------------------------------------------------------------------------
// Regular expressions (RE2, re2-syntax.ts)

const re2Hint = "Istio matches with RE2 syntax (https://github.com/google/re2/wiki/Syntax): no lookarounds or backreferences";

function checkRegex(re: string, path: FieldPath, issues: IssueList, what: string): void {
  const problem = re2Problem(re);
  if (problem !== undefined) issues.error(path, `${what} regex ${q(re)} ${problem}`, re2Hint, "InvalidRegex");
}

/** StringMatch checks beyond the schema: non-empty prefix (except uri, where Envoy allows it) and valid RE2. */
function checkStringMatch(match: StringMatchValue, path: FieldPath, issues: IssueList, what: string, options: { allowEmptyPrefix?: boolean } = {}): void {
  if (match.prefix === "" && !options.allowEmptyPrefix) {
    issues.error([...path, "prefix"], `${what} prefix match is empty`, "remove the match to accept any value, or give a non-empty prefix");
  }
  if (match.regex !== undefined) checkRegex(match.regex, [...path, "regex"], issues, what);
}

// ---------------------------------------------------------------------------------------------
// Headers (RFC 9110 §5.1 field names; Envoy's custom header value syntax)

const pseudoHeaders = new Set([":method", ":scheme", ":authority", ":path", ":status"]);
const jwtClaimHeader = /^@request\.auth\.claims(\.[^.[\]]+)+$|^@request\.auth\.claims(\[[^[\]]+\])+$/;

function isJwtClaimHeader(name: string): boolean {
  return jwtClaimHeader.test(name);
}

function checkMatchHeaderName(name: string, path: FieldPath, issues: IssueList): void {
  if (name === "") {
    issues.error(path, "header name is empty", "give the header name, e.g. end-user");
  } else if (!isJwtClaimHeader(name) && !pseudoHeaders.has(name) && !isHeaderName(name)) {
    issues.error(path, `header name ${q(name)} is not a valid HTTP header name`, "header names are tokens (RFC 9110 §5.6.2): letters, digits and !#$%&'*+-.^_`|~; no spaces or ':'");
  }
}

const headerValueHint = "write %% for a literal percent sign; %NAME% substitutes an Envoy variable such as %HOSTNAME% or %REQ(x-id)%";

function isAuthorityHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === ":authority" || lower === "host";
}

function checkHeaderOperations(headers: Headers | undefined, path: FieldPath, issues: IssueList): void {
  if (!headers) return;
  for (const side of ["request", "response"] as const) {
    const ops = headers[side];
    if (!ops) continue;
    const at = [...path, side];
    for (const op of ["set", "add"] as const) {
      for (const [name, value] of Object.entries(ops[op] ?? {})) {
        checkOperationName(name, [...at, op, name], issues, side === "request");
        const problem = headerValueProblem(value);
        if (problem !== undefined) issues.error([...at, op, name], `header value ${q(value)} ${problem}`, headerValueHint);
      }
    }
    for (const [i, name] of (ops.remove ?? []).entries()) checkOperationName(name, [...at, "remove", i], issues, false);
  }
}

/** Pseudo-headers cannot be changed, except that a request's authority (`:authority`/`host`) may be set. */
function checkOperationName(name: string, path: FieldPath, issues: IssueList, authorityAllowed: boolean): void {
  if (name === "") {
    issues.error(path, "header name is empty", "give the header name");
  } else if (isAuthorityHeader(name) && !authorityAllowed) {
    issues.error(path, `header ${q(name)} cannot be changed here`, "the Host/:authority header can only be set or added on requests (or use rewrite.authority)");
  } else if (name.startsWith(":") && !isAuthorityHeader(name)) {
    issues.error(path, `header ${q(name)} is a pseudo-header and cannot be changed`, "use rewrite.uri to change the path; other pseudo-headers are fixed");
  }
}

// ---------------------------------------------------------------------------------------------
// Values

// Same bounds as durations.ts, worded after the route field (`timeout "0s" is shorter than 1ms`);
// testdata/cases pins both wordings, so they stay apart.
function checkDuration(ms: number, path: FieldPath, issues: IssueList, what: string): void {
  if (ms < 1) {
    issues.error(path, `${what} ${q(formatDurationMs(ms))} is shorter than 1ms`, "use a duration of at least 1ms");
  } else if (!Number.isInteger(ms)) {
    issues.error(path, `${what} ${q(formatDurationMs(ms))} is finer than a millisecond`, "Istio supports durations to millisecond precision; round it");
  }
}

/** Istio rejects tiny non-zero percentages Envoy cannot represent (validation.go validatePercentage). */
function checkPercentage(percentage: Percentage | undefined, path: FieldPath, issues: IssueList): void {
  if (percentage && percentage.value > 0 && percentage.value < 0.0001) {
    issues.error([...path, "value"], `percentage ${percentage.value} is below the smallest supported share 0.0001`, "use 0 or a value in [0.0001, 100]");
  }
}

// HTTP status codes with a registered reason phrase (the set Go's http.StatusText knows).
const knownHttpStatuses = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403,
  404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500,
  501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

// gRPC status code names (grpc/doc/statuscodes.md).
const grpcStatusNames = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

const corsMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*"] as const;

function checkHttpStatus(status: number, path: FieldPath, issues: IssueList, what: string): void {
  if (status < 200 || status > 599) issues.error(path, `${what} ${status} is not in the range 200..599`, "use an HTTP status from 200 to 599, e.g. 503");
}

// ---------------------------------------------------------------------------------------------
// The rule

/**
 * Semantic checks of a VirtualService spec (after the schema passed). A spec without hosts is a
 * delegate VirtualService: it may only hold HTTP routes, reached from a root's `delegate`.
 */
export const checkVirtualService: SpecRule<VirtualServiceSpec> = (spec, context) => {
  const issues = new IssueList();
  const hosts = spec.hosts ?? [];
  const gateways = spec.gateways ?? [];
  const isDelegate = hosts.length === 0;
  const http = spec.http ?? [];
  const tls = spec.tls ?? [];
  const tcp = spec.tcp ?? [];

  if (http.length === 0 && tls.length === 0 && tcp.length === 0) {
    issues.error(["spec"], "the VirtualService has no routes", "add http, tls or tcp routes", "MissingField");
  }

  if (isDelegate) {
    const hint = "a VirtualService without hosts is a delegate: it only holds http routes for a root VirtualService; add hosts if this is not meant as a delegate";
    if (gateways.length > 0) issues.error(["spec", "gateways"], "a delegate VirtualService (no hosts) cannot name gateways", hint);
    if (tls.length > 0) issues.error(["spec", "tls"], "a delegate VirtualService (no hosts) cannot have tls routes", hint);
    if (tcp.length > 0) issues.error(["spec", "tcp"], "a delegate VirtualService (no hosts) cannot have tcp routes", hint);
  }

  checkGatewayNames(gateways, ["spec", "gateways"], issues);
  const appliesToGateway = gateways.length > 0 && !gateways.includes("mesh");
  const appliesToMesh = !appliesToGateway;

  checkHosts(spec, appliesToGateway, appliesToMesh, issues);

  for (const [i, route] of http.entries()) {
    checkHTTPRoute(route, ["spec", "http", i], { isDelegate, appliesToGateway }, issues);
  }
  for (const [i, route] of tls.entries()) checkTLSRoute(route, ["spec", "tls", i], spec, appliesToGateway, issues);
  for (const [i, route] of tcp.entries()) checkTCPRoute(route, ["spec", "tcp", i], issues);

  issues.add(exportToIssues(spec.exportTo, ["spec", "exportTo"], { namespace: context.namespace }));
  return issues.list;
};

function checkHosts(spec: VirtualServiceSpec, appliesToGateway: boolean, appliesToMesh: boolean, issues: IssueList): void {
  const hosts = spec.hosts ?? [];
  const sni = (spec.tls ?? []).some((route) => route.match.some((m) => m.sniHosts.length > 0));
  let allValid = true;
  for (const [i, host] of hosts.entries()) {
    const path = ["spec", "hosts", i];
    const problem = hostProblem(host, appliesToGateway && sni);
    if (problem !== undefined && !isIpAddress(host)) {
      allValid = false;
      issues.error(path, `host ${q(host)} ${problem}`, hostHint(host), "InvalidHost");
    } else if (appliesToMesh && host === "*") {
      allValid = false;
      issues.error(path, `host "*" is not allowed for a VirtualService applied to sidecars (mesh)`, "name the hosts, or bind the VirtualService to a gateway with gateways: [...]", "InvalidHost");
    }
  }
  if (!allValid) return;
  for (let i = 0; i < hosts.length; i++) {
    for (let j = i + 1; j < hosts.length; j++) {
      // Host names are case-insensitive (RFC 4343).
      if (hostsOverlap((hosts[i] as string).toLowerCase(), (hosts[j] as string).toLowerCase())) {
        issues.error(["spec", "hosts", j], `host ${q(hosts[j])} duplicates or overlaps host ${q(hosts[i])}`, "list each host once; a wildcard already covers the names under it", "InvalidHost");
      }
    }
  }
}

/** Host check for VirtualService hosts and SNI hosts; gateways also accept `outbound_.<port>_._.<host>` SNI names. */
function hostProblem(host: string, autoPassthroughSni: boolean): string | undefined {
  if (autoPassthroughSni && host.startsWith("outbound_")) {
    return /^outbound_\.[0-9]+_\.[^_]*_\.[a-zA-Z].*$/.test(host) ? undefined : "does not follow the outbound_.<port>_.<subset>_.<host> form";
  }
  return wildcardDomainProblem(host);
}

function hostHint(host: string): string {
  if (host.includes("://")) return "hosts are names without a scheme, e.g. reviews.prod.svc.cluster.local";
  if (host.includes("/")) return "VirtualService hosts are plain names; the namespace/host form belongs in Gateway servers and Sidecar egress hosts";
  if (host.includes(":")) return "hosts are names without a port; match the port in http[].match[].port";
  if (host.includes("*")) return "a wildcard may only be the whole first label: *.example.com or *";
  return "use a DNS name (lowercase letters, digits, '-' and '.'), a short service name, or *.domain";
}

interface RouteContext {
  readonly isDelegate: boolean;
  readonly appliesToGateway: boolean;
}

function checkHTTPRoute(route: HTTPRoute, path: FieldPath, ctx: RouteContext, issues: IssueList): void {
  checkHTTPRouteAction(route, path, ctx, issues);
  for (const [j, match] of (route.match ?? []).entries()) checkHTTPMatch(match, [...path, "match", j], ctx, issues);

  checkHeaderOperations(route.headers, [...path, "headers"], issues);
  if (route.corsPolicy) checkCorsPolicy(route.corsPolicy, [...path, "corsPolicy"], issues);
  if (route.fault) checkFault(route.fault, [...path, "fault"], issues);
  checkMirrors(route, path, issues);
  if (route.redirect) checkRedirect(route.redirect, [...path, "redirect"], issues);
  if (route.directResponse) {
    const at = [...path, "directResponse"];
    checkHttpStatus(route.directResponse.status, [...at, "status"], issues, "directResponse status");
    checkDirectResponseBody(route.directResponse.body, [...at, "body"], issues);
  }
  if (route.retries) checkRetries(route.retries, [...path, "retries"], route.timeout, issues);
  if (route.rewrite) checkRewrite(route.rewrite, [...path, "rewrite"], issues);
  checkAuthorityRewrite(route, path, issues);
  checkHTTPRouteDestinations(route.route ?? [], [...path, "route"], issues);
  if (route.timeout !== undefined) checkDuration(route.timeout, [...path, "timeout"], issues, "timeout");
  if (route.delegate) {
    const d = route.delegate;
    if (!d.name) issues.error([...path, "delegate", "name"], "delegate has no name", "name the delegate VirtualService: delegate: {name: reviews, namespace: nsB}", "MissingField");
    if (d.namespace !== undefined && !isDnsLabel(d.namespace)) {
      issues.error([...path, "delegate", "namespace"], `delegate namespace ${q(d.namespace)} is not a valid namespace name`, "namespaces are DNS labels: lowercase letters, digits and '-'");
    }
  }
}

/** An HTTP route does exactly one of: route, redirect, directResponse, delegate. */
function checkHTTPRouteAction(route: HTTPRoute, path: FieldPath, ctx: RouteContext, issues: IssueList): void {
  const hasRoute = (route.route ?? []).length > 0;
  const actions = [
    hasRoute ? "route" : undefined,
    route.redirect ? "redirect" : undefined,
    route.directResponse ? "directResponse" : undefined,
    route.delegate ? "delegate" : undefined,
  ].filter((a): a is string => a !== undefined);
  const hint = "an HTTP route does one thing: forward (route), redirect, directResponse, or delegate; split it into several routes";

  if (ctx.isDelegate && route.delegate) {
    issues.error([...path, "delegate"], "a delegate VirtualService cannot delegate again", "only one level of delegation is supported; route to destinations here");
  }
  if (actions.length === 0) {
    issues.error(path, `HTTP route${route.name ? ` ${q(route.name)}` : ""} does nothing`, "add route (destinations), redirect, directResponse or delegate", "MissingField");
  } else if (actions.length > 1) {
    const second = actions[1] as string;
    issues.error([...path, second], `HTTP route sets both ${actions.map((a) => `"${a}"`).join(" and ")}`, hint, "ExclusiveFields");
  }
  const answersDirectly = route.redirect ? "redirect" : route.directResponse ? "directResponse" : undefined;
  if (answersDirectly !== undefined) {
    if (route.fault) issues.error([...path, "fault"], `fault injection does not apply to a ${answersDirectly}`, `remove fault, or move it to a route that forwards`, "ExclusiveFields");
    if (route.rewrite) issues.error([...path, "rewrite"], `rewrite does not apply to a ${answersDirectly}`, `put the new URI in ${answersDirectly === "redirect" ? "redirect.uri" : "the route that forwards"}`, "ExclusiveFields");
  }
}

function checkHTTPMatch(match: HTTPMatchRequest, path: FieldPath, ctx: RouteContext, issues: IssueList): void {
  for (const [name, value] of Object.entries(match.headers ?? {})) {
    checkMatchHeaderName(name, [...path, "headers", name], issues);
    checkJwtClaimRouting(name, [...path, "headers", name], ctx, issues);
    checkStringMatch(value, [...path, "headers", name], issues, `header ${q(name)}`);
  }
  for (const [name, value] of Object.entries(match.withoutHeaders ?? {})) {
    checkMatchHeaderName(name, [...path, "withoutHeaders", name], issues);
    checkJwtClaimRouting(name, [...path, "withoutHeaders", name], ctx, issues);
    // Istio reads regex "*" in withoutHeaders as "header present", not as an RE2 expression.
    if (value.regex !== "*") checkStringMatch(value, [...path, "withoutHeaders", name], issues, `withoutHeaders ${q(name)}`);
  }
  if (match.uri) checkStringMatch(match.uri, [...path, "uri"], issues, "uri", { allowEmptyPrefix: true });
  if (match.scheme) checkStringMatch(match.scheme, [...path, "scheme"], issues, "scheme");
  if (match.method) checkStringMatch(match.method, [...path, "method"], issues, "method");
  if (match.authority) checkStringMatch(match.authority, [...path, "authority"], issues, "authority");
  for (const [name, value] of Object.entries(match.queryParams ?? {})) {
    checkStringMatch(value, [...path, "queryParams", name], issues, `query parameter ${q(name)}`);
  }
  if (match.port !== undefined && match.port !== 0) issues.add(checkPortNumber(match.port, [...path, "port"]));
  issues.add(labelIssues(match.sourceLabels, [...path, "sourceLabels"]));
  checkGatewayNames(match.gateways ?? [], [...path, "gateways"], issues);
  checkSourceNamespace(match.sourceNamespace, [...path, "sourceNamespace"], issues);
}

function checkJwtClaimRouting(name: string, path: FieldPath, ctx: RouteContext, issues: IssueList): void {
  if (isJwtClaimHeader(name) && !ctx.appliesToGateway) {
    issues.error(path, `JWT claim routing (${q(name)}) only works on gateways`, "bind the VirtualService to a gateway (gateways: [...], without mesh), or match a header instead");
  }
}

function checkSourceNamespace(ns: string | undefined, path: FieldPath, issues: IssueList): void {
  if (ns !== undefined && ns !== "" && !isDnsLabel(ns)) {
    issues.error(path, `sourceNamespace ${q(ns)} is not a valid namespace name`, "namespaces are DNS labels: lowercase letters, digits and '-'");
  }
}

function checkCorsPolicy(cors: CorsPolicy, path: FieldPath, issues: IssueList): void {
  for (const [i, origin] of (cors.allowOrigins ?? []).entries()) {
    const text = origin.exact ?? origin.prefix ?? origin.regex;
    if (text === undefined || text === "") {
      issues.error([...path, "allowOrigins", i], "allowed origin is empty", "give exact, prefix or regex, e.g. exact: https://example.com", "MissingField");
    } else if (origin.regex !== undefined) {
      checkRegex(origin.regex, [...path, "allowOrigins", i, "regex"], issues, "allowOrigins");
    }
  }
  if (cors.allowOrigin !== undefined) {
    issues.warn([...path, "allowOrigin"], "allowOrigin is deprecated", `use allowOrigins: [{exact: ...}]${cors.allowOrigin[0] ? `, e.g. allowOrigins: [{exact: ${q(cors.allowOrigin[0])}}]` : ""}`);
  }
  for (const [i, method] of (cors.allowMethods ?? []).entries()) {
    if (!(corsMethods as readonly string[]).includes(method)) {
      const near = corsMethods.find((m) => m === method.toUpperCase()) ?? closestName(method, corsMethods);
      issues.error([...path, "allowMethods", i], `${q(method)} is not an HTTP method`, near ? `did you mean ${near}?` : `use one of ${corsMethods.join(", ")}`);
    }
  }
  for (const field of ["allowHeaders", "exposeHeaders"] as const) {
    for (const [i, name] of (cors[field] ?? []).entries()) {
      if (name !== "*" && !isHeaderName(name)) {
        issues.error([...path, field, i], `${q(name)} is not a valid header name`, "give header names (letters, digits, '-'), or * for any");
      }
    }
  }
  if (cors.maxAge !== undefined) {
    checkDuration(cors.maxAge, [...path, "maxAge"], issues, "maxAge");
    if (cors.maxAge >= 1 && cors.maxAge % 1000 !== 0) {
      issues.error([...path, "maxAge"], `maxAge ${q(formatDurationMs(cors.maxAge))} is not a whole number of seconds`, "Access-Control-Max-Age counts seconds; use e.g. 24h or 90s");
    }
  }
}

function checkFault(fault: HTTPFaultInjection, path: FieldPath, issues: IssueList): void {
  if (!fault.delay && !fault.abort) {
    issues.error(path, "fault injection has neither delay nor abort", "add delay: {fixedDelay: 5s, percentage: {value: 10}} and/or abort: {httpStatus: 503, percentage: {value: 10}}", "MissingField");
  }
  if (fault.delay) {
    const delay = fault.delay;
    const at = [...path, "delay"];
    if (delay.fixedDelay === undefined && delay.exponentialDelay === undefined) {
      issues.error(at, "delay has no delay value", "add fixedDelay, e.g. fixedDelay: 5s", "MissingField");
    }
    if (delay.fixedDelay !== undefined) checkDuration(delay.fixedDelay, [...at, "fixedDelay"], issues, "fixedDelay");
    if (delay.exponentialDelay !== undefined) {
      issues.error([...at, "exponentialDelay"], "exponentialDelay is not supported yet", "use fixedDelay");
    }
    if (delay.percent !== undefined) {
      issues.warn([...at, "percent"], "delay.percent is deprecated", `use percentage: {value: ${delay.percent}}`);
      if (delay.percentage !== undefined) issues.warn([...at, "percent"], "delay.percent is ignored because percentage is set", "remove percent");
    }
    checkPercentage(delay.percentage, [...at, "percentage"], issues);
  }
  if (fault.abort) {
    const abort = fault.abort;
    const at = [...path, "abort"];
    if (abort.httpStatus === undefined && abort.grpcStatus === undefined && abort.http2Error === undefined) {
      issues.error(at, "abort has no status to answer with", "add httpStatus (e.g. 503) or grpcStatus (e.g. UNAVAILABLE)", "MissingField");
    }
    if (abort.httpStatus !== undefined) checkHttpStatus(abort.httpStatus, [...at, "httpStatus"], issues, "abort httpStatus");
    if (abort.grpcStatus !== undefined && !(grpcStatusNames as readonly string[]).includes(abort.grpcStatus)) {
      const near = grpcStatusNames.find((n) => n === abort.grpcStatus?.toUpperCase()) ?? closestName(abort.grpcStatus, grpcStatusNames);
      issues.error([...at, "grpcStatus"], `grpcStatus ${q(abort.grpcStatus)} is not a gRPC status name`, near ? `did you mean ${near}?` : "use a name from grpc/doc/statuscodes.md, e.g. UNAVAILABLE or NOT_FOUND");
    }
    if (abort.http2Error !== undefined) {
      issues.error([...at, "http2Error"], "http2Error aborts are not supported yet", "use httpStatus or grpcStatus");
    }
    checkPercentage(abort.percentage, [...at, "percentage"], issues);
  }
}

function checkMirrors(route: HTTPRoute, path: FieldPath, issues: IssueList): void {
  if (route.mirror && (route.mirrors ?? []).length > 0) {
    issues.error([...path, "mirrors"], "HTTP route sets both \"mirror\" and \"mirrors\"", "move the mirror destination into mirrors", "ExclusiveFields");
  }
  if (route.mirror) checkDestination(route.mirror, [...path, "mirror"], issues);
  for (const [i, policy] of (route.mirrors ?? []).entries()) {
    checkDestination(policy.destination, [...path, "mirrors", i, "destination"], issues);
    checkPercentage(policy.percentage, [...path, "mirrors", i, "percentage"], issues);
  }
  checkPercentage(route.mirrorPercentage, [...path, "mirrorPercentage"], issues);
  for (const field of ["mirrorPercent", "mirror_percent"] as const) {
    const value = route[field];
    if (value === undefined) continue;
    if (value > 100) {
      issues.error([...path, field], `${field} ${value} is above 100`, "give a percentage from 0 to 100");
    }
    issues.warn([...path, field], `${field} is deprecated`, `use mirrorPercentage: {value: ${Math.min(value, 100)}}`);
  }
  if (route.mirrorPercent !== undefined && route.mirror_percent !== undefined) {
    issues.error([...path, "mirror_percent"], "HTTP route sets both \"mirrorPercent\" and \"mirror_percent\"", "keep only mirrorPercentage", "ExclusiveFields");
  }
  const percentSet = route.mirrorPercentage !== undefined || route.mirrorPercent !== undefined || route.mirror_percent !== undefined;
  if (percentSet && !route.mirror) {
    issues.warn([...path, route.mirrorPercentage !== undefined ? "mirrorPercentage" : route.mirrorPercent !== undefined ? "mirrorPercent" : "mirror_percent"], "a mirror percentage is set but there is no mirror", "add mirror: {host: ...}, or use mirrors[].percentage");
  }
}

function checkRedirect(redirect: HTTPRedirect, path: FieldPath, issues: IssueList): void {
  if (!redirect.uri && !redirect.authority && redirect.port === undefined && redirect.derivePort === undefined && !redirect.scheme) {
    issues.error(path, "redirect changes nothing", "set at least one of uri, authority, scheme, port or derivePort", "MissingField");
  }
  // Only the Gateway API conversion writes the marker (its output is not validated): here it would be a path, or a surprise.
  if (redirect.uri?.startsWith(prefixRedirectMarker) === true) {
    issues.error(
      [...path, "uri"],
      `redirect uri ${q(redirect.uri)} starts with ${prefixRedirectMarker}, the marker of the Gateway API conversion's prefix redirects; a VirtualService cannot use it`,
      "write the whole new path in uri, or redirect with an HTTPRoute RequestRedirect filter of path type ReplacePrefixMatch",
    );
  }
  if (redirect.redirectCode !== undefined && redirect.redirectCode !== 0 && (redirect.redirectCode < 300 || redirect.redirectCode > 399)) {
    issues.error([...path, "redirectCode"], `redirectCode ${redirect.redirectCode} is not a redirect status`, "use a 3xx status such as 301, 302, 307 or 308");
  }
  if (redirect.scheme !== undefined && redirect.scheme !== "" && redirect.scheme !== "http" && redirect.scheme !== "https") {
    issues.error([...path, "scheme"], `redirect scheme ${q(redirect.scheme)} is not http or https`, redirect.scheme.toLowerCase() === "http" || redirect.scheme.toLowerCase() === "https" ? `write it in lowercase: ${redirect.scheme.toLowerCase()}` : "use http or https");
  }
  issues.add(checkPortNumber(redirect.port, [...path, "port"]));
}

const kb = 1024;
const mb = 1024 * kb;

function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

function checkDirectResponseBody(body: { string?: string; bytes?: string } | undefined, path: FieldPath, issues: IssueList): void {
  if (!body) return;
  const size = body.string !== undefined ? utf8Length(body.string) : body.bytes !== undefined ? Math.floor((body.bytes.length * 3) / 4) : 0;
  // Every proxy receives the body with its config; Istio caps it (validation.go validateHTTPDirectResponse).
  if (size > mb) {
    issues.error(path, `directResponse body is ${size} bytes; at most 1MB allowed`, "serve large bodies from a service instead");
  } else if (size > 100 * kb) {
    issues.warn(path, `directResponse body is ${size} bytes; bodies over 100KB slow down config distribution`, "serve large bodies from a service instead");
  }
}

function checkRetries(retries: HTTPRetry, path: FieldPath, timeoutMs: number | undefined, issues: IssueList): void {
  const attempts = retries.attempts ?? 0;
  if (attempts === 0 && (retries.perTryTimeout !== undefined || (retries.retryOn ?? "") !== "" || retries.retryRemoteLocalities !== undefined)) {
    issues.error([...path, "attempts"], "retry settings are given but attempts is 0 (retries disabled)", "set attempts to the number of retries, e.g. attempts: 3", retries.attempts === undefined ? "MissingField" : "InvalidValue");
  }
  if (retries.perTryTimeout !== undefined) {
    checkDuration(retries.perTryTimeout, [...path, "perTryTimeout"], issues, "perTryTimeout");
    if (timeoutMs !== undefined && timeoutMs >= 1 && retries.perTryTimeout > timeoutMs && attempts > 0) {
      issues.warn([...path, "perTryTimeout"], `perTryTimeout ${q(formatDurationMs(retries.perTryTimeout))} is longer than the route timeout ${q(formatDurationMs(timeoutMs))}, so no retry can happen in time`, "make perTryTimeout shorter than timeout (timeout bounds all attempts together)");
    }
  }
  if (retries.backoff !== undefined) checkDuration(retries.backoff, [...path, "backoff"], issues, "backoff");
  if (retries.retryOn !== undefined && retries.retryOn !== "") {
    for (const token of retries.retryOn.split(",")) {
      if ((retryOnTokens as readonly string[]).includes(token)) continue;
      if (/^[0-9]+$/.test(token) && knownHttpStatuses.has(Number(token))) continue;
      const trimmed = token.trim();
      const hint =
        trimmed !== token && ((retryOnTokens as readonly string[]).includes(trimmed) || knownHttpStatuses.has(Number(trimmed)))
          ? "remove the spaces: retryOn is a comma-separated list without spaces, e.g. 5xx,reset"
          : closestName(trimmed, retryOnTokens) !== undefined
            ? `did you mean ${closestName(trimmed, retryOnTokens)}?`
            : `use ${retryOnTokens.join(", ")} or an HTTP status code such as 503`;
      issues.error([...path, "retryOn"], `retryOn ${q(token)} is not a retry condition`, hint);
    }
  }
}

function checkRewrite(rewrite: HTTPRewrite, path: FieldPath, issues: IssueList): void {
  if (rewrite.uri !== undefined && rewrite.uri !== "" && rewrite.uriRegexRewrite !== undefined) {
    issues.error([...path, "uriRegexRewrite"], "rewrite sets both \"uri\" and \"uriRegexRewrite\"", "keep one of uri, uriRegexRewrite", "ExclusiveFields");
  }
  if (!rewrite.uri && rewrite.uriRegexRewrite === undefined && !rewrite.authority) {
    issues.error(path, "rewrite changes nothing", "set uri, uriRegexRewrite or authority", "MissingField");
  }
  const regex = rewrite.uriRegexRewrite;
  if (regex) {
    if (!regex.match || regex.rewrite === undefined || regex.rewrite === "") {
      issues.error([...path, "uriRegexRewrite"], "uriRegexRewrite needs both match and rewrite", "e.g. uriRegexRewrite: {match: ^/service/([^/]+)(/.*)$, rewrite: \\2/instance/\\1}", "MissingField");
    }
    if (regex.match) checkRegex(regex.match, [...path, "uriRegexRewrite", "match"], issues, "uriRegexRewrite.match");
  }
}

/** The authority may be rewritten in one place only: rewrite.authority or one request header. */
function checkAuthorityRewrite(route: HTTPRoute, path: FieldPath, issues: IssueList): void {
  let current = route.rewrite?.authority ? route.rewrite.authority : undefined;
  const request = route.headers?.request;
  for (const op of ["set", "add"] as const) {
    for (const [name, value] of Object.entries(request?.[op] ?? {})) {
      if (!isAuthorityHeader(name)) continue;
      if (current !== undefined) {
        issues.error([...path, "headers", "request", op, name], `the authority is set twice: ${q(current)} and ${q(value)}`, "set the authority once, with rewrite.authority or one request header");
      }
      current = value;
    }
  }
}

function checkDestination(destination: Destination, path: FieldPath, issues: IssueList): void {
  const host = destination.host;
  if (host === "*") {
    issues.error([...path, "host"], "destination host \"*\" names no service", "give the service name, e.g. reviews.default.svc.cluster.local", "InvalidHost");
  } else {
    const problem = wildcardDomainProblem(host);
    if (problem !== undefined) issues.error([...path, "host"], `destination host ${q(host)} ${problem}`, hostHint(host), "InvalidHost");
  }
  if (destination.subset !== undefined && !isDnsLabel(destination.subset)) {
    issues.error([...path, "subset"], destination.subset === "" ? "subset is empty" : `subset ${q(destination.subset)} is not a valid subset name`, "subset names are DNS labels (lowercase letters, digits, '-'), e.g. v1");
  }
  if (destination.port?.number !== undefined) issues.add(checkPortNumber(destination.port.number, [...path, "port", "number"]));
}

function checkHTTPRouteDestinations(destinations: readonly HTTPRouteDestination[], path: FieldPath, issues: IssueList): void {
  for (const [i, d] of destinations.entries()) {
    checkDestination(d.destination, [...path, i, "destination"], issues);
    checkHeaderOperations(d.headers, [...path, i, "headers"], issues);
  }
  checkWeights(destinations, path, issues);
}

/** Weights are relative shares; with several destinations at least one must be positive. */
function checkWeights(destinations: readonly (HTTPRouteDestination | RouteDestination)[], path: FieldPath, issues: IssueList): void {
  for (const [i, d] of destinations.entries()) {
    if (d.weight !== undefined && d.weight > 100) {
      issues.warn([...path, i, "weight"], `weight ${d.weight} is above 100`, "weights are usually percentages adding up to 100; Istio treats them as relative shares");
    }
  }
  if (destinations.length < 2) return;
  const total = destinations.reduce((sum, d) => sum + (d.weight ?? 0), 0);
  if (total === 0) {
    issues.error(path, `the ${destinations.length} destinations have no weights (total weight 0)`, "give each destination a weight, e.g. 50 and 50", "MissingField");
    return;
  }
  for (const [i, d] of destinations.entries()) {
    if (d.weight === undefined) {
      issues.warn([...path, i], `destination ${q(d.destination.host)} has no weight, so it receives no traffic`, "give it a weight, or remove it");
    }
  }
}

function checkTLSRoute(route: TLSRoute, path: FieldPath, spec: VirtualServiceSpec, appliesToGateway: boolean, issues: IssueList): void {
  if (route.match.length === 0) {
    issues.error([...path, "match"], "TLS route has no match", "add a match with sniHosts, e.g. match: [{sniHosts: [login.example.com]}]", "MissingField");
  }
  for (const [j, match] of route.match.entries()) checkTLSMatch(match, [...path, "match", j], spec, appliesToGateway, issues);
  const destinations = route.route ?? [];
  if (destinations.length === 0) {
    issues.error([...path, "route"], "TLS route has no destination", "add route: [{destination: {host: ...}}]", "MissingField");
  }
  for (const [i, d] of destinations.entries()) checkDestination(d.destination, [...path, "route", i, "destination"], issues);
  checkWeights(destinations, [...path, "route"], issues);
}

function checkTLSMatch(match: TLSMatchAttributes, path: FieldPath, spec: VirtualServiceSpec, appliesToGateway: boolean, issues: IssueList): void {
  if (match.sniHosts.length === 0) {
    issues.error([...path, "sniHosts"], "TLS match has no SNI hosts", "list the server names to match, e.g. sniHosts: [login.example.com]", "MissingField");
  }
  const hosts = spec.hosts ?? [];
  for (const [i, sni] of match.sniHosts.entries()) {
    const at = [...path, "sniHosts", i];
    const problem = hostProblem(sni, appliesToGateway);
    if (problem !== undefined) {
      if (isIpAddress(sni)) {
        issues.warn(at, `SNI host ${q(sni)} is an IP address; SNI carries names and most clients never send an IP`, "match on destinationSubnets for IP addresses");
      } else {
        issues.error(at, `SNI host ${q(sni)} ${problem}`, hostHint(sni), "InvalidHost");
      }
      continue;
    }
    if (!hosts.some((h) => hostCovers(h.toLowerCase(), sni.toLowerCase()))) {
      issues.error(at, `SNI host ${q(sni)} is not one of, or covered by, the VirtualService hosts [${hosts.join(", ")}]`, "add the name (or a wildcard covering it) to spec.hosts", "InvalidHost");
    }
  }
  checkL4Common(match, path, issues);
}

function checkTCPRoute(route: TCPRoute, path: FieldPath, issues: IssueList): void {
  for (const [j, match] of (route.match ?? []).entries()) {
    const at = [...path, "match", j];
    checkL4Common(match, at, issues);
    if (match.sourceSubnet !== undefined && !isIpSubnet(match.sourceSubnet)) {
      issues.error([...at, "sourceSubnet"], `sourceSubnet ${q(match.sourceSubnet)} is not an IP address or CIDR block`, "write a.b.c.d or a.b.c.d/xx");
    }
  }
  const destinations = route.route ?? [];
  if (destinations.length === 0) {
    issues.error([...path, "route"], "TCP route has no destination", "add route: [{destination: {host: ..., port: {number: ...}}}]", "MissingField");
  }
  for (const [i, d] of destinations.entries()) checkDestination(d.destination, [...path, "route", i, "destination"], issues);
  checkWeights(destinations, [...path, "route"], issues);
}

function checkL4Common(match: TLSMatchAttributes | L4MatchAttributes, path: FieldPath, issues: IssueList): void {
  for (const [i, subnet] of (match.destinationSubnets ?? []).entries()) {
    if (!isIpSubnet(subnet)) {
      issues.error([...path, "destinationSubnets", i], `destination subnet ${q(subnet)} is not an IP address or CIDR block`, "write a.b.c.d, a.b.c.d/xx or an IPv6 address/prefix");
    }
  }
  if (match.port !== undefined && match.port !== 0) issues.add(checkPortNumber(match.port, [...path, "port"]));
  issues.add(labelIssues(match.sourceLabels, [...path, "sourceLabels"]));
  checkGatewayNames(match.gateways ?? [], [...path, "gateways"], issues);
  checkSourceNamespace(match.sourceNamespace, [...path, "sourceNamespace"], issues);
}
