// What a per-kind semantic rule reports: a problem at a field path inside a resource's spec.
// load-resources.ts turns these into ConfigIssues with file, line and column.
import type { IssueName } from "./issue-codes.ts";

/** A path into a resource from its root, e.g. ["spec", "http", 0, "route", 0, "weight"]. */
export type FieldPath = readonly (string | number)[];

export interface FieldIssue {
  /** Stable issue name from issue-codes.ts; defaults to "InvalidValue". */
  readonly name?: IssueName;
  /** Path from the resource root (starting with "spec"). */
  readonly path: FieldPath;
  /** What is wrong, quoting the offending value. */
  readonly message: string;
  /** What to do about it. */
  readonly hint?: string;
  /** Warnings do not reject the resource. */
  readonly severity?: "error" | "warning";
}

/** A per-kind semantic check run after the schema check passed; returns problems, never throws. */
export type SpecRule<Spec> = (spec: Spec, context: RuleContext) => FieldIssue[];

export interface RuleContext {
  /** metadata.namespace of the resource, or undefined when not given. */
  readonly namespace: string | undefined;
  readonly name: string;
  /** The resource's apiVersion as written (`gateway.networking.k8s.io/v1alpha3`), for checks one version adds; undefined when unknown. */
  readonly apiVersion?: string | undefined;
}
