// Turns what an analyzer found at a field of a resource into a ConfigIssue that points at the line
// the user wrote (when the resource came from loadResources) and names the resource and field.
import { formatPath } from "../check-value.ts";
import { makeIssue, type ConfigIssue } from "../config-issue.ts";
import type { FieldPath } from "../field-issue.ts";
import type { IssueName } from "../issue-codes.ts";
import { locateField, type MeshResource } from "../load-resources.ts";

export interface FindingDetails {
  /**
   * What is wrong, quoting the names involved. Not the resource or field: formatIssue prints those
   * before the message.
   */
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
  /** Overrides the code's default severity. */
  readonly severity?: ConfigIssue["severity"];
}

/** An issue at `path` of `resource`; `namespace` is the resource's effective namespace. */
export function makeFinding(name: IssueName, at: { resource: MeshResource; namespace: string; path: FieldPath }, details: FindingDetails): ConfigIssue {
  const { resource, namespace, path } = at;
  const position = locateField(resource, path) ?? (resource.source ? { file: resource.source.file, line: resource.source.line } : {});
  return makeIssue(name, {
    message: details.message,
    hint: details.hint,
    severity: details.severity,
    ...position,
    resource: { kind: resource.kind, namespace, name: resource.metadata.name },
    field: formatPath(path),
  });
}

/** `default/reviews`: how messages name another resource, which may be in another namespace. */
export function qualifiedName(resource: MeshResource, namespace: string): string {
  return `${namespace}/${resource.metadata.name}`;
}

/** `{app: reviews, version: v1}`: labels as users write them in YAML. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ")}}`;
}

/** Quotes a value for a message. */
export function q(value: string): string {
  return JSON.stringify(value);
}
