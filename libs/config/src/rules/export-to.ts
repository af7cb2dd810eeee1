// `exportTo` of VirtualService, DestinationRule and ServiceEntry: the namespaces a resource is
// visible in. Istio's webhook rejects duplicates and entries that are not namespaces or `.`/`*`
// (`~` only on ServiceEntry).
import type { FieldIssue, FieldPath } from "../field-issue.ts";
import { isDnsLabel } from "./host-names.ts";

export interface ExportToOptions {
  /** metadata.namespace of the resource, when known (to spot `.` and the namespace written twice). */
  readonly namespace: string | undefined;
  /** ServiceEntry only: `~` (visible to no one) is allowed. */
  readonly allowNone?: boolean;
  /** DestinationRule with a workloadSelector: may only be exported to its own namespace. */
  readonly hasWorkloadSelector?: boolean;
}

/**
 * Checks an `exportTo` list: `.`, `*`, (`~`) or namespace names, no duplicates, no `*` or `~`
 * beside other entries. Issues point at the offending entry, in list order.
 */
export function exportToIssues(exportTo: readonly string[] | undefined, path: FieldPath, options: ExportToOptions): FieldIssue[] {
  if (exportTo === undefined || exportTo.length === 0) return [];
  const allowNone = options.allowNone === true;
  const issues: FieldIssue[] = [];
  const seen = new Map<string, number>();
  exportTo.forEach((entry, i) => {
    // "." means the resource's own namespace, so "." and that namespace's name are duplicates.
    const key = entry === "." && options.namespace !== undefined ? options.namespace : entry;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      issues.push({
        path: [...path, i],
        message:
          exportTo[earlier] === entry
            ? `"${entry}" is listed twice`
            : `"${entry}" and "${exportTo[earlier]}" both name namespace "${key}"`,
        hint: "list each namespace once",
      });
      return;
    }
    seen.set(key, i);
    if (entry === "~") {
      if (!allowNone) {
        issues.push({ path: [...path, i], message: `"~" (export to no one) is only allowed on ServiceEntry`, hint: "use \".\" to keep it in this namespace" });
      }
    } else if (entry !== "." && entry !== "*" && !isDnsLabel(entry)) {
      issues.push({
        path: [...path, i],
        message: `"${entry}" is not ".", "*"${allowNone ? ", \"~\"" : ""} or a namespace name`,
        hint: `use . (this namespace), * (all namespaces)${allowNone ? ", ~ (no one)" : ""} or namespace names`,
      });
    }
  });
  if (exportTo.length > 1 && exportTo.includes("*")) {
    issues.push({ path: [...path, exportTo.indexOf("*")], message: `"*" exports to every namespace; other entries make no sense beside it`, hint: "keep only \"*\", or list namespaces without \"*\"" });
  }
  if (allowNone && exportTo.length > 1 && exportTo.includes("~")) {
    issues.push({ path: [...path, exportTo.indexOf("~")], message: `"~" exports to no one; it cannot be combined with other entries`, hint: "keep only \"~\", or remove it" });
  }
  if (options.hasWorkloadSelector === true) {
    const own = (e: string): boolean => e === "." || (options.namespace !== undefined && e === options.namespace);
    const foreign = exportTo.findIndex((e) => !own(e));
    if (foreign !== -1) {
      issues.push({
        path: [...path, foreign],
        message: `a DestinationRule with a workloadSelector cannot be exported beyond its own namespace, but exportTo has "${exportTo[foreign]}"`,
        hint: "use exportTo: [\".\"] or remove workloadSelector",
      });
    }
  }
  return issues;
}
