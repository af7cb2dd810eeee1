// Chooses the RequestAuthentications that apply to one workload (mesh → namespace → selector /
// targetRefs scope, as Istio does) and compiles their jwtRules into the data the sidecar's JWT
// authenticator needs: where each rule finds tokens, how it checks them and what it writes
// upstream. Pure: verification (crypto, key fetching) lives in the sidecar. Semantics:
// docs/design/request-authentication.md.
import type { MeshResource } from "@meshwork/config";

type RequestAuthentication = MeshResource<"RequestAuthentication">;
type JwtRuleSpec = NonNullable<RequestAuthentication["spec"]["jwtRules"]>[number];

/** Where a token is looked for. Header names are lowercase. */
export type TokenLocation =
  | { readonly type: "header"; readonly name: string; readonly prefix: string }
  | { readonly type: "param"; readonly name: string }
  | { readonly type: "cookie"; readonly name: string };

/** Where a rule's key set comes from. */
export type JwksSpec =
  | { readonly type: "inline"; readonly jwks: string }
  | { readonly type: "remote"; readonly uri: string; readonly timeoutMs: number }
  /**
   * Neither jwks nor jwksUri, and the issuer is an http(s) URL: the key set's URL is read from the
   * issuer's OpenID configuration (`<issuer>/.well-known/openid-configuration`, `jwks_uri`), as istiod does.
   */
  | { readonly type: "discovery"; readonly configurationUri: string; readonly timeoutMs: number }
  /** No key source at all: every token of this rule fails verification. */
  | { readonly type: "none" };

/** One jwtRule, compiled. */
export interface CompiledJwtRule {
  /** `namespace/name` of the policy and the rule's index in it, e.g. `foo/jwt-example[0]`. */
  readonly origin: string;
  /** Required `iss`; "" accepts any issuer (Istio allows a rule without issuer). */
  readonly issuer: string;
  /** Accepted audiences; empty accepts any `aud` (Envoy: no audience check). */
  readonly audiences: readonly string[];
  readonly jwks: JwksSpec;
  /** Indices into `RequestAuthnConfig.locations` of this rule's token locations. */
  readonly locations: readonly number[];
  readonly forwardOriginalToken: boolean;
  /** Lowercase header for the base64url payload; "" when not set. */
  readonly outputPayloadToHeader: string;
  /** `[header (lowercase), claim]` pairs. */
  readonly outputClaimToHeaders: readonly (readonly [header: string, claim: string])[];
  /** Claims whose string value is split at spaces for authorization (always includes scope and permission). */
  readonly spaceDelimitedClaims: readonly string[];
}

/** Everything the authenticator of one workload needs; built once per config push. */
export interface RequestAuthnConfig {
  /** No rule applies: the data path can leave the JWT layer out. */
  readonly isEmpty: boolean;
  readonly rules: readonly CompiledJwtRule[];
  /** Distinct token locations of all rules, deduplicated (a request is searched once per location). */
  readonly locations: readonly TokenLocation[];
  /**
   * Headers removed from every request before verification (the rules' outputPayloadToHeader and
   * outputClaimToHeaders), so a client cannot forge what the proxy would write. Lowercase.
   */
  readonly sanitizeHeaders: readonly string[];
  /** `namespace/name` of the policies in effect, mesh-wide first (for config dumps). */
  readonly policies: readonly string[];
  /** Policies that name this workload's namespace but were set aside, and why. */
  readonly issues: readonly string[];
}

export interface CompileRequestAuthenticationOptions {
  /** Istio's root namespace (`istio-system` by default): its policies without selector apply mesh-wide. */
  readonly rootNamespace: string;
}

export interface AuthnWorkload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Istio's defaults (jwt.proto): a fetch of the key set may take 5 s. */
export const defaultJwksTimeoutMs = 5_000;
/** Claims Istio always treats as space-delimited (pilot: buildSpaceDelimitedClaims). */
export const defaultSpaceDelimitedClaims: readonly string[] = Object.freeze(["permission", "scope"]);

const defaultLocations: readonly TokenLocation[] = [
  { type: "header", name: "authorization", prefix: "Bearer " },
  { type: "param", name: "access_token" },
];

/** Labels Istio puts on the pods of a Gateway API gateway (Gateway and GatewayClass targetRefs). */
const gatewayNameLabel = "gateway.networking.k8s.io/gateway-name";
const gatewayClassLabel = "gateway.networking.k8s.io/gateway-class-name";

type Scope = "mesh" | "namespace" | "workload";

/**
 * The jwtRules that apply to `workload`, from every RequestAuthentication that selects it. Unlike
 * PeerAuthentication, all matching policies combine (Istio: "as if specified as a single policy").
 * A policy applies when it is in the root namespace with no selector (mesh), in the workload's
 * namespace with no selector (namespace), has a selector whose labels the workload carries (in its
 * namespace, or any namespace from the root namespace), or has a targetRef to the Gateway (or, from
 * the root namespace, GatewayClass) whose pods the workload is. targetRefs to a Service or
 * ServiceEntry attach to waypoints, not sidecars, and are skipped with an issue.
 * Rules keep the order mesh → namespace → workload, then policy name, then rule index.
 */
export function compileRequestAuthentication(
  policies: readonly RequestAuthentication[],
  workload: AuthnWorkload,
  options: CompileRequestAuthenticationOptions,
): RequestAuthnConfig {
  const issues: string[] = [];
  const selected: { policy: RequestAuthentication; scope: Scope; key: string }[] = [];
  for (const policy of policies) {
    const namespace = policy.metadata.namespace ?? "default";
    if (namespace !== workload.namespace && namespace !== options.rootNamespace) continue;
    const key = `${namespace}/${policy.metadata.name}`;
    const scope = policyScope(policy, namespace, workload, options.rootNamespace, key, issues);
    if (scope !== undefined) selected.push({ policy, scope, key });
  }
  const order: Record<Scope, number> = { mesh: 0, namespace: 1, workload: 2 };
  selected.sort((a, b) => order[a.scope] - order[b.scope] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const locations: TokenLocation[] = [];
  const locationIndex = new Map<string, number>();
  const indexOf = (location: TokenLocation): number => {
    const id = location.type === "header" ? `h:${location.name}:${location.prefix}` : `${location.type[0]}:${location.name}`;
    let index = locationIndex.get(id);
    if (index === undefined) {
      index = locations.length;
      locations.push(Object.freeze(location));
      locationIndex.set(id, index);
    }
    return index;
  };

  const rules: CompiledJwtRule[] = [];
  const sanitize = new Set<string>();
  for (const { policy, key } of selected) {
    (policy.spec.jwtRules ?? []).forEach((rule, i) => {
      const compiled = compileRule(rule, `${key}[${i}]`, indexOf);
      if (compiled.outputPayloadToHeader !== "") sanitize.add(compiled.outputPayloadToHeader);
      for (const [header] of compiled.outputClaimToHeaders) sanitize.add(header);
      rules.push(compiled);
    });
  }
  return Object.freeze({
    isEmpty: rules.length === 0,
    rules: Object.freeze(rules),
    locations: Object.freeze(locations),
    sanitizeHeaders: Object.freeze([...sanitize]),
    policies: Object.freeze(selected.map((s) => s.key)),
    issues: Object.freeze(issues),
  });
}

function policyScope(
  policy: RequestAuthentication,
  namespace: string,
  workload: AuthnWorkload,
  rootNamespace: string,
  key: string,
  issues: string[],
): Scope | undefined {
  const spec = policy.spec;
  const targets = spec.targetRefs && spec.targetRefs.length > 0 ? spec.targetRefs : spec.targetRef ? [spec.targetRef] : undefined;
  if (targets) {
    // A policy with targetRefs never applies namespace-wide, even when no target matches.
    for (const target of targets) {
      const group = target.group === undefined || target.group === "core" ? "" : target.group;
      if (group === "gateway.networking.k8s.io" && target.kind === "Gateway") {
        if (namespace === workload.namespace && workload.labels[gatewayNameLabel] === target.name) return "workload";
      } else if (group === "gateway.networking.k8s.io" && target.kind === "GatewayClass") {
        if (namespace === rootNamespace && workload.labels[gatewayClassLabel] === target.name) return "workload";
      } else if (namespace === workload.namespace) {
        issues.push(`RequestAuthentication ${key}: targetRef ${target.kind} ${JSON.stringify(target.name)} attaches to a waypoint, not to sidecars; skipped`);
      }
    }
    return undefined;
  }
  const matchLabels = spec.selector?.matchLabels;
  if (matchLabels === undefined || Object.keys(matchLabels).length === 0) {
    if (namespace === rootNamespace) return "mesh";
    return namespace === workload.namespace ? "namespace" : undefined;
  }
  for (const label in matchLabels) if (workload.labels[label] !== matchLabels[label]) return undefined;
  return "workload";
}

function compileRule(rule: JwtRuleSpec, origin: string, indexOf: (location: TokenLocation) => number): CompiledJwtRule {
  const own: TokenLocation[] = [];
  for (const header of rule.fromHeaders ?? []) own.push({ type: "header", name: header.name.toLowerCase(), prefix: header.prefix ?? "" });
  for (const name of rule.fromParams ?? []) own.push({ type: "param", name });
  for (const name of rule.fromCookies ?? []) own.push({ type: "cookie", name });
  const uri = rule.jwksUri ?? rule.jwks_uri;
  const timeoutMs = rule.timeout ?? defaultJwksTimeoutMs;
  const issuer = rule.issuer ?? "";
  const jwks: JwksSpec =
    rule.jwks !== undefined && rule.jwks !== ""
      ? { type: "inline", jwks: rule.jwks }
      : uri !== undefined && uri !== ""
        ? { type: "remote", uri, timeoutMs }
        : /^https?:\/\/[^/?#]/i.test(issuer)
          ? { type: "discovery", configurationUri: `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`, timeoutMs }
          : { type: "none" };
  const spaceDelimited = new Set([...defaultSpaceDelimitedClaims, ...(rule.spaceDelimitedClaims ?? [])]);
  return Object.freeze({
    origin,
    issuer: rule.issuer ?? "",
    audiences: Object.freeze([...(rule.audiences ?? [])]),
    jwks: Object.freeze(jwks),
    locations: Object.freeze([...new Set((own.length > 0 ? own : defaultLocations).map(indexOf))]),
    forwardOriginalToken: rule.forwardOriginalToken ?? false,
    outputPayloadToHeader: (rule.outputPayloadToHeader ?? "").toLowerCase(),
    outputClaimToHeaders: Object.freeze((rule.outputClaimToHeaders ?? []).map((c) => Object.freeze([c.header.toLowerCase(), c.claim] as const))),
    spaceDelimitedClaims: Object.freeze([...spaceDelimited].sort()),
  });
}
