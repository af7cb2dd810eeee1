// ShadowedRoute: HTTP routes are tried in order and the first match wins, so a route whose every
// match is already taken by an earlier route (one with no match at all, or a match at least as
// broad: `prefix: /`, a shorter prefix, fewer headers, ...) never receives a request.
// The test is conservative: a condition we cannot compare (two different regexes) counts as
// "not covered", so every finding is a route that truly cannot match.
import { formatPath } from "../check-value.ts";
import type { ConfigIssue } from "../config-issue.ts";
import type { HTTPMatchRequest, HTTPRoute } from "../schema/virtual-service.ts";
import type { Decoded, StringMatch } from "../schema/common.ts";
import { makeFinding, q } from "./make-finding.ts";
import type { MeshIndex } from "./mesh-index.ts";

type Match = Decoded<typeof StringMatch>;

/** One finding per HTTP route that an earlier route of the same VirtualService fully shadows. */
export function findShadowedRoutes(index: MeshIndex): ConfigIssue[] {
  const findings: ConfigIssue[] = [];
  for (const vs of index.list("VirtualService")) {
    const namespace = index.namespaceOf(vs);
    const routes = vs.spec.http ?? [];
    for (const [i, route] of routes.entries()) {
      const shadow = findShadow(routes, i);
      if (!shadow) continue;
      const name = route.name ? ` ${q(route.name)}` : "";
      findings.push(
        makeFinding(
          "ShadowedRoute",
          { resource: vs, namespace, path: ["spec", "http", i] },
          {
            message: `route${name} can never match; ${shadow.join(" and ")} already ${shadow.length === 1 ? "takes" : "take"} every request it would match`,
            hint: "move the more specific route before the broader one, or remove it",
          },
        ),
      );
    }
  }
  return findings;
}

/** Describes the earlier route(s) taking all of route `i`'s requests, or undefined when some can reach it. */
function findShadow(routes: readonly HTTPRoute[], i: number): string[] | undefined {
  const earlier = routes.slice(0, i);
  const matches = routes[i]?.match ?? [];
  const takers = new Set<string>();
  if (matches.length === 0) {
    // A catch-all route is shadowed only by an earlier catch-all.
    const j = earlier.findIndex((r) => (r.match ?? []).length === 0 || (r.match ?? []).some(isCatchAll));
    if (j < 0) return undefined;
    takers.add(describeTaker(routes, j, (routes[j]?.match ?? []).findIndex(isCatchAll)));
  } else {
    for (const m of matches) {
      let taken = false;
      for (const [j, r] of earlier.entries()) {
        const rm = r.match ?? [];
        if (rm.length === 0) {
          takers.add(describeTaker(routes, j, -1));
          taken = true;
          break;
        }
        const k = rm.findIndex((candidate) => covers(candidate, m));
        if (k >= 0) {
          takers.add(describeTaker(routes, j, k));
          taken = true;
          break;
        }
      }
      if (!taken) return undefined;
    }
  }
  return [...takers];
}

function describeTaker(routes: readonly HTTPRoute[], j: number, k: number): string {
  const route = routes[j];
  const name = route?.name ? ` (${q(route.name)})` : "";
  if (k < 0) return `spec.http[${j}]${name}, which has no match conditions,`;
  const m = route?.match?.[k];
  return `${formatPath(["spec", "http", j, "match", k])}${name}${m ? ` (${describeMatch(m)})` : ""}`;
}

function describeMatch(m: HTTPMatchRequest): string {
  const parts: string[] = [];
  for (const field of ["uri", "scheme", "method", "authority"] as const) {
    const sm = m[field];
    if (sm) parts.push(`${field} ${describeString(sm)}`);
  }
  for (const [key, sm] of Object.entries(m.headers ?? {})) parts.push(`header ${key} ${describeString(sm)}`);
  for (const [key, sm] of Object.entries(m.queryParams ?? {})) parts.push(`query ${key} ${describeString(sm)}`);
  if (m.port !== undefined) parts.push(`port ${m.port}`);
  if (m.sourceLabels) parts.push("sourceLabels");
  if (m.gateways) parts.push(`gateways ${m.gateways.join(", ")}`);
  if (m.sourceNamespace !== undefined) parts.push(`sourceNamespace ${q(m.sourceNamespace)}`);
  if (m.withoutHeaders) parts.push("withoutHeaders");
  return parts.length === 0 ? "matches everything" : parts.join(", ");
}

function describeString(m: Match): string {
  if (m.exact !== undefined) return `exact ${q(m.exact)}`;
  if (m.prefix !== undefined) return `prefix ${q(m.prefix)}`;
  if (m.regex !== undefined) return `regex ${q(m.regex)}`;
  return "present";
}

/** A match entry that takes every request: no conditions, `prefix: /` or `regex: .*` on the path only. */
function isCatchAll(m: HTTPMatchRequest): boolean {
  const conditions = Object.keys(m).filter((k) => k !== "name" && k !== "statPrefix" && k !== "ignoreUriCase");
  if (conditions.length === 0) return true;
  return conditions.length === 1 && m.uri !== undefined && isPathCatchAll(m.uri);
}

function isPathCatchAll(m: Match): boolean {
  return m.prefix === "/" || m.regex === ".*";
}

/** Whether every request matching `b` also matches `a` (a is at least as broad as b). */
export function covers(a: HTTPMatchRequest, b: HTTPMatchRequest): boolean {
  if (a.uri && !isPathCatchAll(a.uri)) {
    if (!b.uri) return false;
    // A case-sensitive `a` does not cover a case-insensitive `b` (b also takes "/FOO").
    if (b.ignoreUriCase && !a.ignoreUriCase) return false;
    if (!stringCovers(a.uri, b.uri, a.ignoreUriCase === true)) return false;
  }
  for (const field of ["scheme", "method", "authority"] as const) {
    const am = a[field];
    if (am && am.regex !== ".*") {
      const bm = b[field];
      if (!bm || !stringCovers(am, bm, false)) return false;
    }
  }
  for (const field of ["headers", "queryParams"] as const) {
    for (const [key, am] of Object.entries(a[field] ?? {})) {
      const bm = b[field]?.[key];
      if (!bm) return false;
      if (!isPresence(am) && !stringCovers(am, bm, false)) return false;
    }
  }
  // `a` excludes requests with these headers; so must `b`, at least as broadly.
  for (const [key, am] of Object.entries(a.withoutHeaders ?? {})) {
    const bm = b.withoutHeaders?.[key];
    if (!bm) return false;
    if (!isPresence(bm) && !stringCovers(bm, am, false)) return false;
  }
  if (a.port !== undefined && a.port !== b.port) return false;
  if (a.sourceNamespace !== undefined && a.sourceNamespace !== b.sourceNamespace) return false;
  for (const [key, value] of Object.entries(a.sourceLabels ?? {})) {
    if (b.sourceLabels?.[key] !== value) return false;
  }
  if (a.gateways !== undefined) {
    if (b.gateways === undefined || !b.gateways.every((g) => a.gateways?.includes(g))) return false;
  }
  return true;
}

/** `{}` as a header or query match: the header is present, with any value. */
function isPresence(m: Match): boolean {
  return m.exact === undefined && m.prefix === undefined && m.regex === undefined;
}

/** Whether every value matching `b` also matches `a`. */
function stringCovers(a: Match, b: Match, ignoreCase: boolean): boolean {
  const fold = (s: string): string => (ignoreCase ? s.toLowerCase() : s);
  if (a.regex !== undefined) return a.regex === ".*" || a.regex === b.regex;
  if (isPresence(b)) return isPresence(a);
  const value = b.exact ?? b.prefix;
  if (value === undefined) return false; // b is a regex: only an identical regex or .* covers it
  if (a.exact !== undefined) return b.exact !== undefined && fold(a.exact) === fold(b.exact);
  if (a.prefix !== undefined) return fold(value).startsWith(fold(a.prefix));
  return true; // a is `{}`: presence
}
