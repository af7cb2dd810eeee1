// Semantic check on a Kubernetes Namespace: it is cluster-scoped, so a metadata.namespace on it
// (which kubectl ignores too) is pointed out rather than silently read.
import type { SpecRule } from "../field-issue.ts";
import type { NamespaceSpec } from "../schema/namespace.ts";
import { IssueList } from "./issue-list.ts";

/** A Namespace names no namespace of its own; the spec needs no check beyond its schema. */
export const checkNamespace: SpecRule<NamespaceSpec> = (_spec, context) => {
  const issues = new IssueList();
  if (context.namespace !== undefined) issues.warn(["metadata", "namespace"], `a Namespace is cluster-scoped; metadata.namespace ${JSON.stringify(context.namespace)} is ignored`, "remove metadata.namespace");
  return issues.list;
};
