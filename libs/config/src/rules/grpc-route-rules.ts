// Semantic checks on a Gateway API GRPCRoute spec that the schema cannot express: the Gateway API's
// CEL validations of method matches (a service or a method; the name syntax of Exact matches), RE2
// syntax, filters and backends, written in our own words. Parents, host names and filters are
// checked as HTTPRoute's are.
import type { SpecRule } from "../field-issue.ts";
import type { GRPCRouteSpec } from "../schema/grpc-route.ts";
import { checkFilter, checkHostnames, checkParentRefs, checkServiceBackend } from "./http-route-rules.ts";
import { IssueList } from "./issue-list.ts";
import { re2Problem } from "./re2-syntax.ts";

const q = (value: unknown): string => JSON.stringify(value);

// gateway-api apis/v1 grpcroute_types.go: the patterns of Exact service and method names.
const serviceName = /^(?:\.?[a-zA-Z_][a-zA-Z_0-9]*)(?:\.[a-zA-Z_][a-zA-Z_0-9]*)*$/;
const methodName = /^[A-Za-z_][A-Za-z_0-9]*$/;

/**
 * Semantic checks of a GRPCRoute: parents, host names, method matches (service and/or method, name
 * syntax for Exact, RE2 for RegularExpression), header regexes, filters (one field per type, each
 * type once per rule) and backends (a Service needs a port; only header modifiers per backend).
 */
export const checkGRPCRoute: SpecRule<GRPCRouteSpec> = (spec) => {
  const issues = new IssueList();
  checkParentRefs(spec.parentRefs, issues);
  checkHostnames(spec.hostnames, issues);
  for (const [r, rule] of (spec.rules ?? []).entries()) {
    const rulePath = ["spec", "rules", r];
    for (const [m, match] of (rule.matches ?? []).entries()) {
      const at = [...rulePath, "matches", m];
      const method = match.method;
      if (method !== undefined) {
        if (method.service === undefined && method.method === undefined) {
          issues.error([...at, "method"], "a method match names neither a service nor a method", "set service (e.g. helloworld.Greeter), method (e.g. SayHello) or both; remove method to match every call", "MissingField");
        }
        for (const part of ["service", "method"] as const) {
          const value = method[part];
          if (value === undefined) continue;
          if (method.type === "RegularExpression") {
            const problem = re2Problem(value);
            if (problem !== undefined) issues.error([...at, "method", part], `${part} regular expression ${q(value)} ${problem}`, "write an RE2 regular expression", "InvalidRegex");
          } else if (!(part === "service" ? serviceName : methodName).test(value)) {
            issues.error(
              [...at, "method", part],
              `${part} ${q(value)} is not a gRPC ${part} name`,
              part === "service" ? "write the fully qualified service name, e.g. helloworld.Greeter (no slashes), or set type: RegularExpression" : "write the method name alone, e.g. SayHello (no slashes), or set type: RegularExpression",
            );
          }
        }
      }
      for (const [h, header] of (match.headers ?? []).entries()) {
        if (header.type === "RegularExpression") {
          const problem = re2Problem(header.value);
          if (problem !== undefined) issues.error([...at, "headers", h, "value"], `regular expression ${q(header.value)} ${problem}`, "write an RE2 regular expression", "InvalidRegex");
        }
      }
    }
    const filters = rule.filters ?? [];
    filters.forEach((f, i) => checkFilter(f, [...rulePath, "filters", i], issues));
    for (const type of ["RequestHeaderModifier", "ResponseHeaderModifier"] as const) {
      const second = filters.map((f, i) => [f, i] as const).filter(([f]) => f.type === type)[1];
      if (second !== undefined) issues.error([...rulePath, "filters", second[1], "type"], `filter ${type} appears more than once in the rule`, "merge them into one filter");
    }
    for (const [b, backend] of (rule.backendRefs ?? []).entries()) {
      const path = [...rulePath, "backendRefs", b];
      checkServiceBackend(backend, path, issues, { port: "the Service's gRPC port", traffic: "calls" });
      (backend.filters ?? []).forEach((f, i) => {
        checkFilter(f, [...path, "filters", i], issues);
        if (f.type !== "RequestHeaderModifier" && f.type !== "ResponseHeaderModifier") issues.error([...path, "filters", i, "type"], `Meshwork applies only header modifiers per backend, not ${f.type}`, "move the filter to the rule's filters");
      });
    }
  }
  return issues.list;
};
