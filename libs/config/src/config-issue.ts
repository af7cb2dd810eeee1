// The one problem type libs/config reports to its users (meshctl, the control plane's admission,
// the console): what is wrong, where (file, line, column, resource, field) and what to do.
import { displayKind } from "./display-kind.ts";
import { issueCodes, type IssueName } from "./issue-codes.ts";

export interface ResourceRef {
  /** Meshwork's kind name (`KubernetesGateway` for the Gateway API's Gateway): a key, not for display (see describeResource). */
  readonly kind: string;
  readonly namespace?: string;
  readonly name?: string;
}

export interface ConfigIssue {
  /** Stable code, e.g. "MW0010". */
  readonly code: string;
  /** Stable name, e.g. "UnknownField". */
  readonly name: IssueName;
  readonly severity: "error" | "warning" | "info";
  /** What is wrong, quoting the offending value. */
  readonly message: string;
  /** What to do about it. */
  readonly hint?: string;
  readonly file?: string;
  /** 1-based. */
  readonly line?: number;
  /** 1-based. */
  readonly column?: number;
  readonly resource?: ResourceRef;
  /** Field path as users read it, e.g. "spec.http[0].route[0].destination". */
  readonly field?: string;
}

export interface IssueDetails {
  readonly message: string;
  readonly hint?: string | undefined;
  readonly severity?: ConfigIssue["severity"] | undefined;
  readonly file?: string | undefined;
  readonly line?: number | undefined;
  readonly column?: number | undefined;
  readonly resource?: ResourceRef | undefined;
  readonly field?: string | undefined;
}

/** Builds an issue with the code and default severity of `name`; absent details are left out. */
export function makeIssue(name: IssueName, details: IssueDetails): ConfigIssue {
  const info = issueCodes[name];
  const issue: Record<string, unknown> = { code: info.code, name, severity: details.severity ?? info.severity, message: details.message };
  for (const key of ["hint", "file", "line", "column", "resource", "field"] as const) {
    if (details[key] !== undefined) issue[key] = details[key];
  }
  return issue as unknown as ConfigIssue;
}

/**
 * `VirtualService default/reviews`: how issues name a resource (the namespace only when known), by
 * the kind users write (`Gateway (gateway.networking.k8s.io)`, never `KubernetesGateway`).
 */
export function describeResource(resource: ResourceRef): string {
  const name = resource.name ?? "(unnamed)";
  return `${displayKind(resource.kind)} ${resource.namespace ? `${resource.namespace}/` : ""}${name}`;
}

/**
 * One human line: `file:line:col: error MW0010 UnknownField VirtualService default/reviews
 * spec.http[0].route[0].host: unknown field "host" (hint: ...)`.
 */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.file ? `${issue.file}${issue.line ? `:${issue.line}${issue.column ? `:${issue.column}` : ""}` : ""}: ` : "";
  const what = [issue.resource ? describeResource(issue.resource) : undefined, issue.field].filter(Boolean).join(" ");
  const hint = issue.hint ? ` (hint: ${issue.hint})` : "";
  return `${where}${issue.severity} ${issue.code} ${issue.name}${what ? ` ${what}` : ""}: ${issue.message}${hint}`;
}

const severityRank = { error: 0, warning: 1, info: 2 } as const;

/** Orders issues by file, line, column, then severity, so output is stable and reads top-down. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort(
    (a, b) =>
      (a.file ?? "").localeCompare(b.file ?? "") ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      severityRank[a.severity] - severityRank[b.severity] ||
      a.code.localeCompare(b.code),
  );
}
