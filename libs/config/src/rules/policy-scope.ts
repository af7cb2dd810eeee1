// How a security policy (PeerAuthentication, RequestAuthentication, AuthorizationPolicy) chooses
// what it applies to: a workload selector, or targetRef/targetRefs naming a Gateway, Service or
// ServiceEntry. Follows istio/istio pkg/config/validation (validateOneOfSelectorType,
// validatePolicyTargetReference, validateWorkloadSelector).
import type { FieldIssue, FieldPath } from "../field-issue.ts";
import type { Decoded, PolicyTargetReference, WorkloadSelector } from "../schema/common.ts";
import { selectorIssues, type SelectorOptions } from "./labels.ts";

type Selector = Decoded<typeof WorkloadSelector>;
type TargetReference = Decoded<typeof PolicyTargetReference>;

/** How the security policies' `selector` is checked (selectorIssues). */
export const policySelector: SelectorOptions = { labelsField: "matchLabels", policy: true };

/** Gateway API and core kinds a security policy may attach to (Istio: allowedTargetRefs). */
const allowedTargets: readonly { group: string; kind: string }[] = [
  { group: "", kind: "Service" },
  { group: "networking.istio.io", kind: "ServiceEntry" },
  { group: "gateway.networking.k8s.io", kind: "Gateway" },
  { group: "gateway.networking.k8s.io", kind: "GatewayClass" },
];

function checkTargetReference(ref: TargetReference, path: FieldPath): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (ref.name === "") issues.push({ name: "MissingField", path: [...path, "name"], message: "the target name is empty", hint: "name the Gateway or Service to attach to" });
  if (ref.namespace !== undefined && ref.namespace !== "") {
    issues.push({
      path: [...path, "namespace"],
      message: `cross-namespace references are not supported (namespace ${JSON.stringify(ref.namespace)})`,
      hint: "remove namespace and create the policy in the target's namespace",
    });
  }
  const group = ref.group === undefined || ref.group === "core" ? "" : ref.group;
  if (!allowedTargets.some((t) => t.group === group && t.kind === ref.kind)) {
    const sameKind = allowedTargets.find((t) => t.kind === ref.kind);
    const described = `${group === "" ? "core" : group}/${ref.kind}`;
    issues.push({
      path: [...path, sameKind ? "group" : "kind"],
      message: `a policy cannot attach to ${described}`,
      hint: sameKind
        ? sameKind.group === "" ? `a ${ref.kind} is in the core group: remove group` : `set group: ${sameKind.group}`
        : "attach to a Gateway (group gateway.networking.k8s.io), GatewayClass, Service or ServiceEntry (group networking.istio.io)",
    });
  }
  return issues;
}

/**
 * Checks how a security policy chooses what it applies to: at most one of selector, targetRef and
 * targetRefs, a well-formed selector, and targets Istio can attach a policy to.
 */
export function checkPolicyScope(spec: { selector?: Selector; targetRef?: TargetReference; targetRefs?: TargetReference[] }): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const set = (["selector", "targetRef", "targetRefs"] as const).filter((k) =>
    k === "targetRefs" ? (spec.targetRefs?.length ?? 0) > 0 : spec[k] !== undefined,
  );
  if (set.length > 1) {
    issues.push({
      name: "ExclusiveFields",
      path: ["spec", set[1] as string],
      message: `fields ${set.map((k) => `"${k}"`).join(" and ")} cannot be set together`,
      hint: "keep one of selector (sidecars by label), targetRef or targetRefs (gateways and services)",
    });
  }
  issues.push(...selectorIssues(spec.selector, ["spec", "selector"], policySelector));
  if (spec.targetRef !== undefined) issues.push(...checkTargetReference(spec.targetRef, ["spec", "targetRef"]));
  spec.targetRefs?.forEach((ref, i) => issues.push(...checkTargetReference(ref, ["spec", "targetRefs", i])));
  return issues;
}
