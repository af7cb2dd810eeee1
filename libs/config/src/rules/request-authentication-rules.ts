// Semantic checks of a RequestAuthentication after its schema passed: JWT rules that Istio rejects
// or that cannot verify any token. Also home of the scope checks (selector, targetRef, targetRefs)
// shared by the three security kinds. Follows istio/istio pkg/config/validation (validateJwtRule,
// validateOneOfSelectorType, validatePolicyTargetReference, validateWorkloadSelector).
import type { FieldIssue, FieldPath, SpecRule } from "../field-issue.ts";
import type { Decoded, PolicyTargetReference, WorkloadSelector } from "../schema/common.ts";
import type { JWTRule, RequestAuthenticationSpec } from "../schema/request-authentication.ts";

type Selector = Decoded<typeof WorkloadSelector>;
type TargetReference = Decoded<typeof PolicyTargetReference>;

/** Checks a RequestAuthentication spec; see the file comment for the source of each rule. */
export const checkRequestAuthentication: SpecRule<RequestAuthenticationSpec> = (spec) => {
  const issues: FieldIssue[] = [...checkPolicyScope(spec)];
  const rules = spec.jwtRules ?? [];
  if (rules.length === 0) {
    issues.push({
      path: ["spec", "jwtRules"],
      message: "the policy has no jwtRules, so it accepts no token and changes nothing",
      hint: "add a jwtRule with the issuer (and jwksUri) of the tokens to accept, or delete the policy",
      severity: "warning",
    });
  }
  rules.forEach((rule, i) => issues.push(...checkJwtRule(rule, ["spec", "jwtRules", i])));
  return issues;
};

function checkJwtRule(rule: JWTRule, path: FieldPath): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const uriField = rule.jwksUri !== undefined ? "jwksUri" : rule.jwks_uri !== undefined ? "jwks_uri" : undefined;
  const uri = rule.jwksUri ?? rule.jwks_uri;

  if (!rule.issuer) {
    if (!uri) {
      issues.push({
        name: "MissingField",
        path: [...path, "issuer"],
        message: "the JWT rule has no issuer (and no jwksUri), so no token can be verified by it",
        hint: "set issuer to the iss claim of the accepted tokens, e.g. https://accounts.google.com",
      });
    } else {
      // Istio accepts this (the iss claim is then not checked); it is rarely what was meant.
      issues.push({
        path: [...path, "issuer"],
        message: `the JWT rule has no issuer, so tokens of any issuer signed by a key from ${JSON.stringify(uri)} are accepted`,
        hint: "set issuer to the iss claim of the accepted tokens",
        severity: "warning",
      });
    }
  }

  const keySources = (["jwksUri", "jwks_uri", "jwks"] as const).filter((k) => rule[k] !== undefined);
  if (keySources.length > 1) {
    const legacyPair = keySources.includes("jwksUri") && keySources.includes("jwks_uri");
    issues.push({
      name: "ExclusiveFields",
      path: [...path, keySources[1] as string],
      message: `fields ${keySources.map((k) => `"${k}"`).join(" and ")} cannot be set together`,
      hint: legacyPair
        ? "jwks_uri is the old spelling of jwksUri; keep only jwksUri"
        : "keep jwks to verify with the keys given inline, or jwksUri to fetch them; not both",
    });
  }

  if (uri !== undefined && uriField !== undefined) issues.push(...checkJwksUri(uri, [...path, uriField]));
  if (rule.jwks !== undefined) issues.push(...checkJwks(rule.jwks, [...path, "jwks"]));

  rule.audiences?.forEach((audience, k) => {
    if (audience === "") issues.push(emptyValue([...path, "audiences", k], "audience"));
  });

  rule.fromHeaders?.forEach((header, k) => {
    const headerPath = [...path, "fromHeaders", k, "name"];
    if (header.name === "") issues.push({ name: "MissingField", path: headerPath, message: "the header name is empty", hint: "name the header carrying the token, e.g. x-jwt-assertion" });
    else if (!isHeaderToken(header.name)) issues.push(badHeaderName(headerPath, header.name));
  });
  rule.fromParams?.forEach((param, k) => {
    if (param === "") issues.push(emptyValue([...path, "fromParams", k], "query parameter name"));
  });
  rule.fromCookies?.forEach((cookie, k) => {
    if (cookie === "") issues.push(emptyValue([...path, "fromCookies", k], "cookie name"));
  });

  if (rule.outputPayloadToHeader !== undefined && rule.outputPayloadToHeader !== "" && !isHeaderToken(rule.outputPayloadToHeader)) {
    issues.push(badHeaderName([...path, "outputPayloadToHeader"], rule.outputPayloadToHeader));
  }

  rule.outputClaimToHeaders?.forEach((entry, k) => {
    const entryPath = [...path, "outputClaimToHeaders", k];
    if (entry.header === "") {
      issues.push({ name: "MissingField", path: [...entryPath, "header"], message: "the header name is empty", hint: "name the header to set, e.g. x-jwt-sub" });
    } else if (entry.header.startsWith(":")) {
      issues.push({
        path: [...entryPath, "header"],
        message: `${JSON.stringify(entry.header)} is an HTTP/2 pseudo-header, which cannot be set from a claim`,
        hint: "use an ordinary header name, e.g. x-jwt-claim",
      });
    } else if (!/^[-_A-Za-z0-9]+$/.test(entry.header)) {
      issues.push({
        path: [...entryPath, "header"],
        message: `${JSON.stringify(entry.header)} is not a valid header name here`,
        hint: "use only letters, digits, '-' and '_', e.g. x-jwt-sub",
      });
    }
    if (entry.claim === "") {
      issues.push({ name: "MissingField", path: [...entryPath, "claim"], message: "the claim name is empty", hint: "name the claim to copy, e.g. sub" });
    }
  });

  rule.spaceDelimitedClaims?.forEach((claim, k) => {
    if (claim === "") issues.push(emptyValue([...path, "spaceDelimitedClaims", k], "claim name"));
  });

  if (rule.timeout !== undefined && rule.timeout < 1) {
    issues.push({
      path: [...path, "timeout"],
      message: `timeout of ${rule.timeout}ms is too short to fetch a key set`,
      hint: "use at least 1ms, e.g. 5s, or remove timeout",
    });
  }
  return issues;
}

/** Istio fetches the key set itself, so only http and https URLs with a host work. */
function checkJwksUri(uri: string, path: FieldPath): FieldIssue[] {
  const quoted = JSON.stringify(uri);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(uri)?.[1];
  if (scheme === undefined) {
    return [{ path, message: `${quoted} is not a URL`, hint: `write the full URL, e.g. https://${uri.replace(/^\/+/, "")}` }];
  }
  if (scheme.toLowerCase() !== "http" && scheme.toLowerCase() !== "https") {
    return [{ path, message: `URL scheme "${scheme}" of ${quoted} is not supported`, hint: "use an http:// or https:// URL" }];
  }
  const authority = /^[^:]+:\/\/([^/?#]*)/.exec(uri)?.[1] ?? "";
  const hostPort = /^(?:[^@]*@)?(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::([0-9]*))?$/.exec(authority);
  if (/\s/.test(uri) || hostPort === null) {
    return [{ path, message: `${quoted} is not a valid URL`, hint: "write it as https://host[:port]/path, without spaces" }];
  }
  const port = hostPort[2];
  if (port !== undefined && port !== "" && (Number(port) < 1 || Number(port) > 65535)) {
    return [{ path, message: `port ${port} in ${quoted} is out of range`, hint: "use a port between 1 and 65535" }];
  }
  return [];
}

/** A JSON Web Key Set (RFC 7517 §5): an object whose `keys` is a list of keys, each with a `kty`. */
function checkJwks(text: string, path: FieldPath): FieldIssue[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's own message differs between Node versions; keep ours stable.
    return [{ path, message: "jwks is not valid JSON", hint: 'give the key set as JSON: {"keys": [{"kty": "RSA", ...}]}' }];
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return [{ path, message: "jwks is not a JSON Web Key Set (a JSON object with a \"keys\" list)", hint: 'write {"keys": [{"kty": "RSA", ...}]}' }];
  }
  const keys = (parsed as Record<string, unknown>)["keys"];
  if (keys === undefined) {
    const singleKey = "kty" in parsed;
    return [{
      path,
      message: 'jwks has no "keys" list',
      hint: singleKey ? 'this is a single key; wrap it in a set: {"keys": [<the key>]}' : 'write {"keys": [{"kty": "RSA", ...}]}',
    }];
  }
  if (!Array.isArray(keys)) return [{ path, message: 'the "keys" of jwks is not a list', hint: 'write {"keys": [{"kty": "RSA", ...}]}' }];
  if (keys.length === 0) return [{ path, message: "jwks contains no keys, so no token can be verified", hint: "add the issuer's public keys to the \"keys\" list" }];
  const bad = keys.findIndex((key) => typeof key !== "object" || key === null || typeof (key as Record<string, unknown>)["kty"] !== "string");
  if (bad >= 0) {
    return [{ path, message: `key ${bad} of jwks is not a JSON Web Key (an object with "kty")`, hint: 'each key needs at least "kty" (e.g. "RSA", "EC") and its public parameters' }];
  }
  return [];
}

/** An HTTP header field name (RFC 9110 §5.1: a token). */
function isHeaderToken(name: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name);
}

function badHeaderName(path: FieldPath, name: string): FieldIssue {
  return {
    path,
    message: name.startsWith(":") ? `${JSON.stringify(name)} is an HTTP/2 pseudo-header, not usable here` : `${JSON.stringify(name)} is not a valid HTTP header name`,
    hint: "use an ordinary header name: letters, digits and - _ . ! # $ % & ' * + ^ ` | ~, no spaces or colons",
  };
}

function emptyValue(path: FieldPath, what: string): FieldIssue {
  return { path, message: `empty ${what}`, hint: `remove the empty entry or write the ${what}` };
}

// ---------------------------------------------------------------------------------------------
// Scope checks shared by PeerAuthentication, RequestAuthentication and AuthorizationPolicy.

/** Checks a workload selector at `path`: no empty keys, no wildcards; labels expected. */
export function checkWorkloadSelector(selector: Selector | undefined, path: FieldPath): FieldIssue[] {
  if (selector === undefined) return [];
  const labels = Object.entries(selector.matchLabels ?? {});
  if (labels.length === 0) {
    return [{
      path,
      message: "the selector has no labels, so it selects every workload in the namespace",
      hint: "add matchLabels, or remove selector to make the policy namespace-wide on purpose",
      severity: "warning",
    }];
  }
  const issues: FieldIssue[] = [];
  for (const [key, value] of labels) {
    const labelPath = [...path, "matchLabels", key];
    if (key === "") issues.push({ path: labelPath, message: "a label key is empty", hint: "write the label name, e.g. app" });
    if (key.includes("*") || value.includes("*")) {
      issues.push({
        path: labelPath,
        message: `wildcards are not supported in selectors: ${JSON.stringify(`${key}=${value}`)}`,
        hint: "match exact label values; to cover several workloads, give them a common label",
      });
    }
  }
  return issues;
}

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
  issues.push(...checkWorkloadSelector(spec.selector, ["spec", "selector"]));
  if (spec.targetRef !== undefined) issues.push(...checkTargetReference(spec.targetRef, ["spec", "targetRef"]));
  spec.targetRefs?.forEach((ref, i) => issues.push(...checkTargetReference(ref, ["spec", "targetRefs", i])));
  return issues;
}
