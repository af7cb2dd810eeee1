// Compiles the AuthorizationPolicies that apply to one workload into an AuthorizationEngine the
// inbound data path asks once per request: CUSTOM (checkCustom) → DENY → ALLOW (evaluate), AUDIT
// marking, dry-run results on the side. Built once per config push; evaluation allocates nothing
// on the common paths. Semantics and deviations: docs/design/authorization.md.
import type { MeshResource } from "@meshwork/config";
import type { AuthzRequest } from "./authz-request.ts";
import type { AllowDecision, AuthzDecision, CustomDecision, DenyDecision, DryRunResult } from "./authz-decision.ts";
import { compileRule, matchRuleUnguarded, RequestView, type HostPortStripping, type RuleAction, type RuleMatcher } from "./compile-rule.ts";
import { PathGuardIndex } from "./path-guard-index.ts";
import { policyApplies, type AuthzWorkload } from "./policy-applies.ts";

type AuthorizationPolicy = MeshResource<"AuthorizationPolicy">;

export interface CompileAuthorizationOptions {
  /** Istio's root namespace: its policies without selector apply mesh-wide. Istio's default is "istio-system". */
  readonly rootNamespace: string;
  /** The mesh's trust domain ("cluster.local" by default in Istio). */
  readonly trustDomain: string;
  /** Other trust domains whose identities count as local (MeshConfig trustDomainAliases). */
  readonly trustDomainAliases?: readonly string[];
  /**
   * Names of the MeshConfig extensionProviders this sidecar can call. A CUSTOM policy naming another
   * provider denies the requests its rules match, as Istio does. Undefined: every name is accepted.
   */
  readonly extensionProviders?: readonly string[];
  /**
   * The providers Istio also applies to TCP connections: the envoyExtAuthzGrpc ones (Envoy's
   * network ext_authz filter). A CUSTOM policy naming any other provider (envoyExtAuthzHttp) is
   * ignored on TCP, as Istio ignores it there (it logs that at debug level). Default: none.
   */
  readonly tcpExtensionProviders?: readonly string[];
  /** Port handling of `:authority` before `hosts` match; default "none" (Istio sidecars keep the port). */
  readonly hostPortStripping?: HostPortStripping;
}

/** One policy in effect for the workload, for config dumps. */
export interface AppliedPolicy {
  /** `namespace/name`. */
  readonly name: string;
  readonly action: RuleAction;
  readonly dryRun: boolean;
  readonly provider?: string;
}

export interface AuthorizationEngine {
  /** No policy applies: the data path can leave the authorization layer out. */
  readonly isEmpty: boolean;
  /** Some CUSTOM policy applies: checkCustom may ask an external authorizer. */
  readonly hasCustom: boolean;
  readonly policies: readonly AppliedPolicy[];
  /** Rules set aside (as Istio's builder skips them) and annotations not understood, with the reason. */
  readonly issues: readonly string[];
  /**
   * Step 1, CUSTOM: whether a CUSTOM policy's rules match, and so whether to ask its provider. Ask
   * it; when it allows, go on to evaluate(); when it denies, reply with the provider's answer. On
   * TCP only providers named in `tcpExtensionProviders` are asked (CUSTOM with an HTTP provider
   * does not apply to TCP).
   */
  checkCustom(request: AuthzRequest): CustomDecision;
  /** Step 2, DENY then ALLOW, with the AUDIT mark and dry-run results. Never throws. */
  evaluate(request: AuthzRequest): AuthzDecision;
}

interface RuleEntry {
  readonly id: string;
  readonly policy: string;
  readonly index: number;
  /** A dry-run CUSTOM rule: it still triggers the provider (Istio's documented limitation) but never denies for a bad provider. */
  readonly dryRun: boolean;
  readonly http: RuleMatcher | undefined;
  readonly tcp: RuleMatcher | undefined;
}

interface Bucket {
  readonly rules: RuleEntry[];
  /** Number of policies of this kind (an ALLOW policy whose rules were all skipped still counts). */
  policies: number;
}

/**
 * Compiles the policies that apply to `workload` (mesh-wide from the root namespace, namespace-wide,
 * or by selector / targetRefs). Policies of other workloads are ignored; nothing throws.
 */
export function compileAuthorization(
  policies: readonly AuthorizationPolicy[],
  workload: AuthzWorkload,
  options: CompileAuthorizationOptions,
): AuthorizationEngine {
  const trustDomains = [options.trustDomain, ...(options.trustDomainAliases ?? [])];
  const issues: string[] = [];
  const applied: AppliedPolicy[] = [];
  const bucket = (): Bucket => ({ rules: [], policies: 0 });
  const deny = bucket();
  const allow = bucket();
  const audit = bucket();
  const dryDeny = bucket();
  const dryAllow = bucket();
  const customByProvider = new Map<string, Bucket>();

  const sorted = [...(Array.isArray(policies) ? policies : [])].sort((a, b) => compareIds(policyKey(a, workload), policyKey(b, workload)));
  for (const policy of sorted) {
    try {
      addPolicy(policy);
    } catch (err) {
      // Only a resource that bypassed schema validation gets here (e.g. no metadata).
      issues.push(`malformed AuthorizationPolicy skipped: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  function addPolicy(policy: AuthorizationPolicy): void {
    if (policy.kind !== "AuthorizationPolicy" || !policyApplies(policy, workload, options.rootNamespace)) return;
    const namespace = policy.metadata.namespace ?? workload.namespace;
    const name = `${namespace}/${policy.metadata.name}`;
    const spec = policy.spec ?? {};
    const action: RuleAction = spec.action ?? "ALLOW";
    const dryRun = readDryRun(policy, name, issues);
    const provider = action === "CUSTOM" ? (spec.provider?.name ?? "") : undefined;
    applied.push({ name, action, dryRun, ...(provider !== undefined ? { provider } : {}) });
    let target: Bucket;
    if (action === "CUSTOM") {
      const key = provider as string;
      target = customByProvider.get(key) ?? bucket();
      customByProvider.set(key, target);
    } else if (action === "AUDIT") {
      // Istio generates shadow rules for a dry-run AUDIT policy, which affect nothing; it still logs nothing.
      if (dryRun) return;
      target = audit;
    } else if (action === "DENY") {
      target = dryRun ? dryDeny : deny;
    } else {
      target = dryRun ? dryAllow : allow;
    }
    target.policies++;
    const rules = spec.rules ?? [];
    // No rules: a policy that never matches (an ALLOW one thus allows nothing).
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      const id = `ns[${namespace}]-policy[${policy.metadata.name}]-rule[${i}]`;
      if (!rule || typeof rule !== "object") {
        issues.push(`${name} rule ${i}: skipped: not an object`);
        continue;
      }
      const ctx = { policyNamespace: namespace, trustDomains, action };
      const http = safeCompile(() => compileRule(rule, { ...ctx, forTcp: false }));
      const tcp = safeCompile(() => compileRule(rule, { ...ctx, forTcp: true }));
      // A rule skipped on TCP only (HTTP-only fields in an ALLOW rule) is normal; Istio logs it at debug level.
      if (!http.ok) issues.push(`${name} rule ${i}: skipped: ${http.error}`);
      target.rules.push({ id, policy: name, index: i, dryRun, http: http.ok ? http.rule : undefined, tcp: tcp.ok ? tcp.rule : undefined });
    }
  }

  for (const b of [deny, allow, audit, dryDeny, dryAllow, ...customByProvider.values()]) b.rules.sort((x, y) => compareIds(x.id, y.id));
  const providers = [...customByProvider.keys()].sort();
  const known = options.extensionProviders;
  const customPlans = providers.map((provider) => {
    const rules = (customByProvider.get(provider) as Bucket).rules;
    let badReason: string | undefined;
    if (providers.length > 1) badReason = `several CUSTOM providers select this workload (${providers.join(", ")}); Istio allows one`;
    else if (provider === "") badReason = "the CUSTOM policy names no provider";
    else if (known && !known.includes(provider)) badReason = `provider "${provider}" is not defined in MeshConfig extensionProviders`;
    if (badReason) issues.push(`CUSTOM provider "${provider}": requests matching its policies are denied: ${badReason}`);
    const appliesToTcp = options.tcpExtensionProviders?.includes(provider) ?? false;
    return { provider, rules, enforced: rules.filter((r) => !r.dryRun), badReason, appliesToTcp };
  });

  const view = new RequestView(options.hostPortStripping ?? "none");
  const decisions = new Map<RuleEntry, { allow: [AllowDecision, AllowDecision]; deny: [DenyDecision, DenyDecision] }>();
  const allRules = [...deny.rules, ...allow.rules];
  for (const r of allRules) {
    const allowOf = (auditMark: boolean): AllowDecision =>
      Object.freeze({ type: "allow", policy: r.policy, rule: r.index, effectivePolicyId: r.id, audit: auditMark });
    const denyOf = (auditMark: boolean): DenyDecision =>
      Object.freeze({
        type: "deny",
        policy: r.policy,
        rule: r.index,
        effectivePolicyId: r.id,
        audit: auditMark,
        reason: `denied by DENY policy ${r.policy} rule ${r.index}`,
        responseCodeDetails: `rbac_access_denied_matched_policy[${r.id}]`,
      });
    decisions.set(r, { allow: [allowOf(false), allowOf(true)], deny: [denyOf(false), denyOf(true)] });
  }
  const allowNames = applied.filter((p) => p.action === "ALLOW" && !p.dryRun).map((p) => p.name);
  const noAllowMatch: [DenyDecision, DenyDecision] = [false, true].map((auditMark) =>
    Object.freeze({
      type: "deny" as const,
      policy: undefined,
      rule: undefined,
      effectivePolicyId: "none",
      audit: auditMark,
      reason: `no ALLOW policy matched (ALLOW policies: ${allowNames.join(", ")})`,
      responseCodeDetails: "rbac_access_denied_matched_policy[none]",
    }),
  ) as [DenyDecision, DenyDecision];
  const noPolicy: [AllowDecision, AllowDecision] = [false, true].map((auditMark) =>
    Object.freeze({ type: "allow" as const, policy: undefined, rule: undefined, effectivePolicyId: "none", audit: auditMark }),
  ) as [AllowDecision, AllowDecision];
  const noCustom: CustomDecision = Object.freeze({ type: "none" });
  const hasDryRun = dryDeny.policies > 0 || dryAllow.policies > 0;
  const hasAllow = allow.policies > 0;

  const indexes = new Map<readonly RuleEntry[], { http: PathGuardIndex; tcp: PathGuardIndex }>();
  const indexOf = (rules: readonly RuleEntry[]) => {
    let index = indexes.get(rules);
    if (!index) {
      index = { http: new PathGuardIndex(rules.map((r) => r.http)), tcp: new PathGuardIndex(rules.map((r) => r.tcp)) };
      indexes.set(rules, index);
    }
    return index;
  };
  for (const b of [deny, allow, audit, dryDeny, dryAllow]) indexOf(b.rules);
  for (const plan of customPlans) {
    indexOf(plan.rules);
    indexOf(plan.enforced);
  }

  /** The first rule (in Envoy's order) matching the request in `view`. */
  const first = (rules: readonly RuleEntry[], isTcp: boolean): RuleEntry | undefined => {
    const both = indexOf(rules);
    const index = isTcp ? both.tcp : both.http;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i] as RuleEntry;
      const rule = isTcp ? r.tcp : r.http;
      if (rule === undefined) continue;
      if (rule.pathGuard !== undefined && !index.passes(i, view)) continue;
      if (matchRuleUnguarded(rule, view)) return r;
    }
    return undefined;
  };

  function evaluate(request: AuthzRequest): AuthzDecision {
    try {
      view.reset(request ?? {});
      const isTcp = request?.protocol === "tcp";
      const auditMark = audit.rules.length > 0 && first(audit.rules, isTcp) !== undefined ? 1 : 0;
      let decision: AuthzDecision;
      const denied = first(deny.rules, isTcp);
      if (denied) decision = (decisions.get(denied) as { deny: [DenyDecision, DenyDecision] }).deny[auditMark];
      else if (!hasAllow) decision = noPolicy[auditMark];
      else {
        const allowed = first(allow.rules, isTcp);
        decision = allowed ? (decisions.get(allowed) as { allow: [AllowDecision, AllowDecision] }).allow[auditMark] : noAllowMatch[auditMark];
      }
      if (!hasDryRun) return decision;
      const dryRun: { deny?: DryRunResult["deny"]; allow?: DryRunResult["allow"] } = {};
      if (dryDeny.policies > 0) {
        const r = first(dryDeny.rules, isTcp);
        dryRun.deny = { denied: r !== undefined, policy: r?.policy };
      }
      if (dryAllow.policies > 0) {
        const r = first(dryAllow.rules, isTcp);
        dryRun.allow = { allowed: r !== undefined, policy: r?.policy };
      }
      return { ...decision, dryRun };
    } catch {
      // A request so malformed that a matcher threw (e.g. a throwing headers accessor): deny.
      return noAllowMatch[0];
    }
  }

  function checkCustom(request: AuthzRequest): CustomDecision {
    if (customPlans.length === 0) return noCustom;
    try {
      view.reset(request ?? {});
      const isTcp = request?.protocol === "tcp";
      for (const plan of customPlans) {
        const r = first(plan.badReason ? plan.enforced : plan.rules, isTcp);
        if (!r) continue;
        if (plan.badReason) {
          return {
            type: "deny",
            policy: r.policy,
            rule: r.index,
            effectivePolicyId: r.id,
            audit: false,
            reason: `CUSTOM policy ${r.policy}: ${plan.badReason}`,
            responseCodeDetails: `rbac_access_denied_matched_policy[${r.id}-bad-custom-action]`,
          };
        }
        // envoyExtAuthzHttp providers are not applied to TCP traffic (Istio ignores them on TCP
        // filter chains); envoyExtAuthzGrpc ones are (Envoy's network ext_authz filter).
        if (isTcp && !plan.appliesToTcp) continue;
        return { type: "check", provider: plan.provider, policy: r.policy, effectivePolicyId: r.id };
      }
      return noCustom;
    } catch {
      return { ...noAllowMatch[0], reason: "CUSTOM: the request could not be evaluated" };
    }
  }

  return {
    isEmpty: applied.length === 0,
    hasCustom: customPlans.length > 0,
    policies: applied,
    issues,
    checkCustom,
    evaluate,
  };
}

function safeCompile(compile: () => ReturnType<typeof compileRule>): ReturnType<typeof compileRule> {
  try {
    return compile();
  } catch (err) {
    // Only a policy that bypassed schema validation gets here (e.g. a number where a string list belongs).
    return { ok: false, error: `malformed rule: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Envoy keeps RBAC policies in a map ordered by id; the first matching id is the one reported. */
function policyKey(policy: AuthorizationPolicy, workload: AuthzWorkload): string {
  return `ns[${policy?.metadata?.namespace ?? workload.namespace}]-policy[${policy?.metadata?.name}]`;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The `istio.io/dry-run` annotation, parsed as Go's strconv.ParseBool. */
function readDryRun(policy: AuthorizationPolicy, name: string, issues: string[]): boolean {
  const value = policy.metadata.annotations?.["istio.io/dry-run"];
  if (value === undefined) return false;
  if (["1", "t", "T", "true", "TRUE", "True"].includes(value)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) return false;
  issues.push(`${name}: annotation istio.io/dry-run="${value}" is not a boolean; the policy is enforced (use "true" or "false")`);
  return false;
}
