// Semantic checks of an HTTPLocalRateLimitPolicy beyond its schema: the policy must limit
// something, identity and override limits may not exceed the total (as Linkerd's admission
// checks), override clients must be ServiceAccounts named once, route names once.
import type { FieldPath, SpecRule } from "../field-issue.ts";
import type { HTTPLocalRateLimitPolicySpec, RateLimitClientRef } from "../schema/http-local-rate-limit-policy.ts";
import { isDnsLabel } from "./host-names.ts";
import { IssueList } from "./issue-list.ts";
import { selectorIssues } from "./labels.ts";

const q = (value: unknown): string => JSON.stringify(value);
// Kubernetes object names (ServiceAccount names are DNS-1123 subdomains).
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkClientRef(ref: RateLimitClientRef, path: FieldPath, issues: IssueList): void {
  const group = ref.group ?? "";
  if (group !== "" && group !== "core") {
    issues.error([...path, "group"], `group ${q(group)} is not the group of a ServiceAccount`, "remove group: a ServiceAccount is in the core group");
  }
  if (ref.kind !== "ServiceAccount") {
    const hint = ref.kind.toLowerCase() === "serviceaccount" ? "write kind: ServiceAccount" : "name the client's ServiceAccount: kind: ServiceAccount, name: <its service account>";
    issues.error([...path, "kind"], `clientRefs kind ${q(ref.kind)} is not supported; only ServiceAccount is`, hint);
  }
  if (ref.name.length > 253 || !dns1123Subdomain.test(ref.name)) {
    issues.error([...path, "name"], `${q(ref.name)} is not a valid ServiceAccount name`, "use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit", ref.name === "" ? "MissingField" : "InvalidValue");
  }
  if (ref.namespace !== undefined && ref.namespace !== "" && !(isDnsLabel(ref.namespace) && ref.namespace === ref.namespace.toLowerCase())) {
    issues.error([...path, "namespace"], `${q(ref.namespace)} is not a valid namespace name`, "use lower-case letters, digits and '-', at most 63 characters; leave it out for the policy's namespace");
  }
}

function checkNotAboveTotal(rate: number, total: number | undefined, path: FieldPath, what: string, issues: IssueList): void {
  if (total === undefined || rate <= total) return;
  issues.error(
    [...path, "requestsPerSecond"],
    `${what} requestsPerSecond ${rate} is greater than total.requestsPerSecond ${total}, so it could never be reached`,
    `lower it to at most ${total}, or raise total.requestsPerSecond`,
  );
}

/** Semantic checks of an HTTPLocalRateLimitPolicy spec beyond its schema. */
export const checkHTTPLocalRateLimitPolicy: SpecRule<HTTPLocalRateLimitPolicySpec> = (spec, context) => {
  const issues = new IssueList();
  issues.add(selectorIssues(spec.targetRef.workloadSelector, ["spec", "targetRef", "workloadSelector"], { labelsField: "matchLabels" }));

  const overrides = spec.overrides ?? [];
  if (spec.total === undefined && spec.identity === undefined && overrides.length === 0) {
    issues.error(
      ["spec", "total"],
      "the policy limits nothing: total, identity and overrides are all unset",
      "set total.requestsPerSecond (all clients together), identity.requestsPerSecond (each client) or overrides",
      "MissingField",
    );
  }

  if (spec.routes !== undefined) {
    if (spec.routes.length === 0) {
      issues.error(["spec", "routes"], "routes is empty", "name the VirtualService HTTP routes to limit (http[].name), or remove routes to limit every request to the target");
    }
    const seen = new Map<string, number>();
    spec.routes.forEach((route, i) => {
      const earlier = seen.get(route);
      if (earlier !== undefined) issues.warn(["spec", "routes", i], `route ${q(route)} is already listed at routes[${earlier}]`, "remove the duplicate");
      else seen.set(route, i);
    });
  }

  const total = spec.total?.requestsPerSecond;
  if (spec.identity !== undefined) checkNotAboveTotal(spec.identity.requestsPerSecond, total, ["spec", "identity"], "identity", issues);

  // A client named by two overrides would have two buckets; say which one instead of picking.
  const clients = new Map<string, { override: number; ref: number }>();
  overrides.forEach((override, i) => {
    const path: FieldPath = ["spec", "overrides", i];
    checkNotAboveTotal(override.requestsPerSecond, total, path, `overrides[${i}]`, issues);
    override.clientRefs.forEach((ref, j) => {
      const refPath: FieldPath = [...path, "clientRefs", j];
      checkClientRef(ref, refPath, issues);
      const namespace = ref.namespace === undefined || ref.namespace === "" ? (context.namespace ?? "") : ref.namespace;
      const key = `${namespace}/${ref.name}`;
      const earlier = clients.get(key);
      if (earlier === undefined) {
        clients.set(key, { override: i, ref: j });
      } else if (earlier.override === i) {
        issues.warn(refPath, `ServiceAccount ${q(key)} is already listed at clientRefs[${earlier.ref}]`, "remove the duplicate");
      } else {
        issues.error(
          refPath,
          `ServiceAccount ${q(key)} is already limited by overrides[${earlier.override}]`,
          "list each client in one override only; merge the entries or remove one",
        );
      }
    });
  });
  return issues.list;
};
