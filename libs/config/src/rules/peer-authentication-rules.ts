// Semantic checks of a PeerAuthentication after its schema passed: port-level settings Istio
// rejects, and policies that change nothing. Follows istio/istio pkg/config/validation
// (ValidatePeerAuthentication) and the CRD's CEL rules.
import type { FieldIssue, SpecRule } from "../field-issue.ts";
import type { PeerAuthenticationSpec } from "../schema/peer-authentication.ts";
import { selectorIssues } from "./labels.ts";
import { policySelector } from "./policy-scope.ts";
import { portProblem } from "./ports.ts";

/** Checks a PeerAuthentication spec; see the file comment for the source of each rule. */
export const checkPeerAuthentication: SpecRule<PeerAuthenticationSpec> = (spec) => {
  const issues: FieldIssue[] = [...selectorIssues(spec.selector, ["spec", "selector"], policySelector)];
  const ports = spec.portLevelMtls;

  if (ports !== undefined) {
    const hasLabels = Object.keys(spec.selector?.matchLabels ?? {}).length > 0;
    if (!hasLabels) {
      // Port numbers are workload (container) ports, which only mean something for chosen workloads.
      issues.push({
        path: ["spec", "portLevelMtls"],
        message: "portLevelMtls needs a workload selector: mesh- and namespace-wide policies cannot set per-port modes",
        hint: "add selector.matchLabels for the workloads whose ports these are, or move the ports to a workload policy",
      });
    }
    const entries = Object.entries(ports);
    if (entries.length === 0) {
      issues.push({ path: ["spec", "portLevelMtls"], message: "portLevelMtls is empty", hint: "add a port, e.g. 8080: {mode: DISABLE}, or remove portLevelMtls" });
    }
    for (const [port] of entries) {
      // The schema lets only digits through, so the problem is always the range.
      const problem = portProblem(port);
      if (problem !== undefined) issues.push({ path: ["spec", "portLevelMtls", port], message: problem, hint: "use a workload port between 1 and 65535" });
    }
  }

  const modes = [spec.mtls?.mode, ...Object.values(ports ?? {}).map((m) => m.mode)];
  if (modes.every((mode) => mode === undefined || mode === "UNSET")) {
    issues.push({
      path: spec.mtls !== undefined ? ["spec", "mtls"] : ["spec"],
      message: "every mode is UNSET, so the policy inherits everything and changes nothing",
      hint: "set mtls.mode to STRICT, PERMISSIVE or DISABLE, or delete the policy",
      severity: "warning",
    });
  }
  return issues;
};
