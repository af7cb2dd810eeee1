// The collector a rule writes its problems into, in the order it finds them: error() and warn() at
// a field path, or add() for the issues a shared check returns.
import type { FieldIssue, FieldPath } from "../field-issue.ts";

/** Collects a rule's issues in the order found; `warn` ones do not reject the resource. */
export class IssueList {
  readonly list: FieldIssue[] = [];
  error(path: FieldPath, message: string, hint?: string, name: FieldIssue["name"] = "InvalidValue"): void {
    this.list.push({ name, path, message, ...(hint !== undefined ? { hint } : {}) });
  }
  warn(path: FieldPath, message: string, hint?: string): void {
    this.list.push({ name: "InvalidValue", path, message, severity: "warning", ...(hint !== undefined ? { hint } : {}) });
  }
  /** Appends the issues a shared check returned (e.g. labelIssues), keeping their order. */
  add(issues: readonly FieldIssue[]): void {
    this.list.push(...issues);
  }
}
