// Kubernetes labels as resources write them: label syntax (`[prefix/]name` keys and their values),
// and the workload selectors that match labels, which Istio matches literally.
import type { FieldIssue, FieldPath } from "../field-issue.ts";
import { fqdnProblem } from "./host-names.ts";
import { IssueList } from "./issue-list.ts";

type Labels = Readonly<Record<string, string>>;

const labelName = /^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/i;
const q = (value: unknown): string => JSON.stringify(value);

/** Syntax problems of label keys (`[prefix/]name`) and values, one per bad key or value; none for undefined. */
export function labelIssues(labels: Labels | undefined, path: FieldPath): FieldIssue[] {
  const issues = new IssueList();
  for (const [key, value] of Object.entries(labels ?? {})) {
    const slash = key.lastIndexOf("/");
    const prefix = slash < 0 ? undefined : key.slice(0, slash);
    const name = slash < 0 ? key : key.slice(slash + 1);
    if (name.length === 0 || name.length > 63 || !labelName.test(name) || (prefix !== undefined && fqdnProblem(prefix) !== undefined)) {
      issues.error([...path, key], `label key ${q(key)} is not a valid label name`, "label keys are [prefix/]name; name: up to 63 letters, digits, '-', '_', '.', starting and ending alphanumeric");
    }
    if (value.length > 63 || (value !== "" && !labelName.test(value))) {
      issues.error([...path, key], `label value ${q(value)} is not valid`, "label values: up to 63 letters, digits, '-', '_', '.', starting and ending alphanumeric (or empty)");
    }
  }
  return issues.list;
}

export interface SelectorOptions {
  /**
   * The selector's field that holds the labels: `matchLabels` (istio.type.v1beta1.WorkloadSelector:
   * DestinationRule and the security policies) or `labels` (the networking WorkloadSelector of
   * Sidecar and ServiceEntry).
   */
  readonly labelsField: "matchLabels" | "labels";
  /**
   * The selector of a security policy (PeerAuthentication, RequestAuthentication,
   * AuthorizationPolicy): hints speak of the policy, and a label is quoted as `key=value` (selector
   * syntax) rather than `key: value` (YAML). Both wordings are pinned by testdata/cases.
   */
  readonly policy?: boolean;
}

/**
 * Checks the workload selector found at `path` (nothing when it is unset): a selector without
 * labels is a warning, since it selects every workload of the namespace; empty label keys and
 * wildcards are errors, since selectors match labels literally.
 */
export function selectorIssues(selector: Partial<Record<SelectorOptions["labelsField"], Labels>> | undefined, path: FieldPath, options: SelectorOptions): FieldIssue[] {
  if (selector === undefined) return [];
  const field = options.labelsField;
  const labels = Object.entries(selector[field] ?? {});
  if (labels.length === 0) {
    return [{
      path,
      severity: "warning",
      message: "the selector has no labels, so it selects every workload in the namespace",
      hint: options.policy === true ? `add ${field}, or remove selector to make the policy namespace-wide on purpose` : "add labels, or remove the selector if that is what you want",
    }];
  }
  const issues: FieldIssue[] = [];
  for (const [key, value] of labels) {
    const labelPath = [...path, field, key];
    if (key === "") issues.push({ path: labelPath, message: "a label key is empty", hint: "write the label name, e.g. app" });
    if (key.includes("*") || value.includes("*")) {
      issues.push({
        path: labelPath,
        message: `wildcards are not supported in selectors: ${options.policy === true ? q(`${key}=${value}`) : `"${key}: ${value}"`}`,
        hint: options.policy === true ? "match exact label values; to cover several workloads, give them a common label" : "write the exact label value; a selector matches labels literally",
      });
    }
  }
  return issues;
}
