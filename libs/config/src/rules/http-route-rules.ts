// Semantic checks on a Gateway API HTTPRoute spec that the schema cannot express: the Gateway
// API's CEL validations (filters, path modifiers, redirect vs backends), RE2 syntax and host names,
// written in our own words.
import type { FieldPath, SpecRule } from "../field-issue.ts";
import type { BackendObjectReference, HTTPRouteFilter, HTTPRouteSpec, ParentReference } from "../schema/http-route.ts";
import { isHeaderName } from "./headers.ts";
import { wildcardDomainProblem } from "./host-names.ts";
import { isIpAddress } from "./ip-addresses.ts";
import { IssueList } from "./issue-list.ts";
import { re2Problem } from "./re2-syntax.ts";

const q = (value: unknown): string => JSON.stringify(value);

const filterField = {
  RequestHeaderModifier: "requestHeaderModifier",
  ResponseHeaderModifier: "responseHeaderModifier",
  RequestMirror: "requestMirror",
  RequestRedirect: "requestRedirect",
  URLRewrite: "urlRewrite",
  ExtensionRef: "extensionRef",
} as const;

/** Parent references: a Gateway (ingress) or a Service (mesh). Shared with GRPCRoute. */
export function checkParentRefs(parentRefs: readonly ParentReference[] | undefined, issues: IssueList): void {
  for (const [i, ref] of (parentRefs ?? []).entries()) {
    const path = ["spec", "parentRefs", i];
    const kind = ref.kind ?? "Gateway";
    const group = ref.group ?? (kind === "Gateway" ? "gateway.networking.k8s.io" : "");
    if (kind === "Gateway" && group !== "gateway.networking.k8s.io") issues.error([...path, "group"], `a Gateway parent belongs to gateway.networking.k8s.io, not ${q(group)}`, "set group: gateway.networking.k8s.io or leave it unset");
    else if (kind === "Service" && group !== "" && group !== "core") issues.error([...path, "group"], `a Service parent belongs to the core group "", not ${q(group)}`, "set group: \"\"");
    else if (kind !== "Gateway" && kind !== "Service") issues.error([...path, "kind"], `parent kind ${q(kind)} is not supported`, "attach to a Gateway (ingress) or a Service (mesh routing)");
  }
}

/** Host names of a route. Shared with GRPCRoute. */
export function checkHostnames(hostnames: readonly string[] | undefined, issues: IssueList): void {
  for (const [i, host] of (hostnames ?? []).entries()) {
    const problem = isIpAddress(host) ? "is an IP address" : host === "*" ? "is a bare wildcard" : wildcardDomainProblem(host);
    if (problem !== undefined) issues.error(["spec", "hostnames", i], `hostname ${q(host)} ${problem}`, "write a DNS name, optionally starting with `*.`; leave hostnames unset to serve every host of the listener");
  }
}

/**
 * A backendRef names a Service and one of its ports (the only backends Meshwork routes to).
 * Shared with GRPCRoute, TCPRoute and TLSRoute; `what` words the hints for the route's traffic.
 */
export function checkServiceBackend(backend: BackendObjectReference, path: FieldPath, issues: IssueList, what: { readonly port: string; readonly traffic: string }): void {
  if ((backend.kind ?? "Service") === "Service" && (backend.group ?? "") === "" && backend.port === undefined) issues.error([...path, "port"], `backend Service ${q(backend.name)} has no port`, `add port: <${what.port}>`, "MissingField");
  else if ((backend.kind ?? "Service") !== "Service") issues.error([...path, "kind"], `backend kind ${q(backend.kind)} is not supported`, `send ${what.traffic} to a Service`);
}

/** A filter's `type` names the one field that must be set. Shared with GRPCRoute (header modifiers and mirrors). */
export function checkFilter(filter: HTTPRouteFilter, path: FieldPath, issues: IssueList): void {
  const wanted = filterField[filter.type];
  if (filter[wanted] === undefined) issues.error([...path, wanted], `filter type ${filter.type} needs ${wanted}`, `add ${wanted}, or change type`, "MissingField");
  for (const field of Object.values(filterField)) {
    if (field !== wanted && filter[field] !== undefined) issues.error([...path, field], `${field} is set on a filter of type ${filter.type}`, `set type: ${Object.keys(filterField).find((k) => filterField[k as keyof typeof filterField] === field) ?? ""} or remove ${field}`);
  }
  if (filter.type === "ExtensionRef") issues.error([...path, "type"], "ExtensionRef filters are not supported by Meshwork", "use the built-in filters (header modifiers, mirror, redirect, rewrite)");
  for (const side of ["requestHeaderModifier", "responseHeaderModifier"] as const) {
    const modifier = filter[side];
    if (modifier === undefined) continue;
    for (const op of ["set", "add"] as const) {
      for (const [j, header] of (modifier[op] ?? []).entries()) {
        if (!isHeaderName(header.name)) issues.error([...path, side, op, j, "name"], `${q(header.name)} is not a valid header name`, "use letters, digits and -");
      }
    }
  }
  for (const kind of ["requestRedirect", "urlRewrite"] as const) {
    const modifier = filter[kind]?.path;
    if (modifier === undefined) continue;
    const field = modifier.type === "ReplaceFullPath" ? "replaceFullPath" : "replacePrefixMatch";
    const other = modifier.type === "ReplaceFullPath" ? "replacePrefixMatch" : "replaceFullPath";
    if (modifier[field] === undefined) issues.error([...path, kind, "path", field], `path type ${modifier.type} needs ${field}`, `add ${field}: /new/path`, "MissingField");
    if (modifier[other] !== undefined) issues.error([...path, kind, "path", other], `${other} is set with path type ${modifier.type}`, `remove ${other}, or set type accordingly`);
    const value = modifier[field];
    if (value !== undefined && !value.startsWith("/")) issues.error([...path, kind, "path", field], `path ${q(value)} does not start with /`, `write ${q(`/${value}`)}`);
  }
  const code = filter.requestRedirect?.statusCode;
  if (code !== undefined && code !== 301 && code !== 302) issues.error([...path, "requestRedirect", "statusCode"], `redirect status ${code} is not 301 or 302`, "use 301 (permanent) or 302 (found, the default)");
}

/**
 * Semantic checks of an HTTPRoute: parents, host names, match paths and regular expressions,
 * filters (one field per type, redirect xor rewrite xor backends, ReplacePrefixMatch only with
 * PathPrefix matches), backends (a Service needs a port) and timeouts.
 */
export const checkHTTPRoute: SpecRule<HTTPRouteSpec> = (spec) => {
  const issues = new IssueList();
  checkParentRefs(spec.parentRefs, issues);
  checkHostnames(spec.hostnames, issues);
  for (const [r, rule] of (spec.rules ?? []).entries()) {
    const rulePath = ["spec", "rules", r];
    for (const [m, match] of (rule.matches ?? []).entries()) {
      const path = match.path;
      if (path !== undefined) {
        const value = path.value ?? "/";
        const at = [...rulePath, "matches", m, "path", "value"];
        if (path.type === "RegularExpression") {
          const problem = re2Problem(value);
          if (problem !== undefined) issues.error(at, `path regular expression ${q(value)} ${problem}`, "write an RE2 regular expression", "InvalidRegex");
        } else if (!value.startsWith("/")) {
          issues.error(at, `path ${q(value)} does not start with /`, `write ${q(`/${value}`)}`);
        } else if (value.includes("//") || /\/\.\.?(\/|$)/.test(value) || value.includes("?") || value.includes("#")) {
          issues.error(at, `path ${q(value)} is not a normalized path`, "remove //, /./, /../, ? and # from the path");
        }
      }
      for (const list of ["headers", "queryParams"] as const) {
        for (const [h, header] of (match[list] ?? []).entries()) {
          if (header.type === "RegularExpression") {
            const problem = re2Problem(header.value);
            if (problem !== undefined) issues.error([...rulePath, "matches", m, list, h, "value"], `regular expression ${q(header.value)} ${problem}`, "write an RE2 regular expression", "InvalidRegex");
          }
        }
      }
    }
    const filters = rule.filters ?? [];
    filters.forEach((f, i) => checkFilter(f, [...rulePath, "filters", i], issues));
    const redirect = filters.findIndex((f) => f.type === "RequestRedirect");
    const rewrite = filters.findIndex((f) => f.type === "URLRewrite");
    if (redirect >= 0 && rewrite >= 0) issues.error([...rulePath, "filters", rewrite], "a rule cannot both redirect and rewrite", "keep RequestRedirect or URLRewrite, not both");
    if (redirect >= 0 && (rule.backendRefs ?? []).length > 0) issues.error([...rulePath, "backendRefs"], "a rule with a RequestRedirect filter has no backends", "remove backendRefs (the redirect answers the request), or the redirect");
    for (const type of ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"] as const) {
      const all = filters.map((f, i) => [f, i] as const).filter(([f]) => f.type === type);
      const second = all[1];
      if (second !== undefined) issues.error([...rulePath, "filters", second[1], "type"], `filter ${type} appears more than once in the rule`, "merge them into one filter");
    }
    const prefixRewrite = filters.findIndex((f) => (f.urlRewrite?.path ?? f.requestRedirect?.path)?.type === "ReplacePrefixMatch");
    if (prefixRewrite >= 0) {
      const matches = rule.matches ?? [];
      if (matches.length === 0 ? false : matches.some((m) => (m.path?.type ?? "PathPrefix") !== "PathPrefix")) {
        issues.error([...rulePath, "filters", prefixRewrite], "ReplacePrefixMatch needs every match of the rule to be a PathPrefix match", "use ReplaceFullPath, or split the Exact/RegularExpression matches into another rule");
      }
    }
    for (const [b, backend] of (rule.backendRefs ?? []).entries()) {
      const path = [...rulePath, "backendRefs", b];
      checkServiceBackend(backend, path, issues, { port: "the Service's port", traffic: "traffic" });
      (backend.filters ?? []).forEach((f, i) => {
        checkFilter(f, [...path, "filters", i], issues);
        if (f.type !== "RequestHeaderModifier" && f.type !== "ResponseHeaderModifier") issues.error([...path, "filters", i, "type"], `Meshwork applies only header modifiers per backend, not ${f.type}`, "move the filter to the rule's filters");
      });
    }
    const timeouts = rule.timeouts;
    if (timeouts?.request !== undefined && timeouts.backendRequest !== undefined && timeouts.request !== 0 && timeouts.backendRequest > timeouts.request) {
      issues.error([...rulePath, "timeouts", "backendRequest"], "backendRequest is longer than request", "make timeouts.backendRequest at most timeouts.request");
    }
  }
  return issues.list;
};
