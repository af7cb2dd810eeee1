// Semantic checks of an AuthorizationPolicy after its schema passed: the rules Istio's webhook
// enforces (istio/istio pkg/config/validation ValidateAuthorizationPolicy and
// pkg/config/security: ValidateAttribute, ValidateIPs, ValidatePorts, CheckServiceAccount,
// CheckValidPathTemplate), plus warnings for policies that do not do what they seem to.
import type { FieldIssue, FieldPath, SpecRule } from "../field-issue.ts";
import type { AuthorizationPolicySpec, Condition, Operation, Rule, Source } from "../schema/authorization-policy.ts";
import { closestName } from "../closest-name.ts";
import { ipBlockProblem } from "./ip-addresses.ts";
import { checkPolicyScope } from "./policy-scope.ts";
import { portProblem } from "./ports.ts";

/** Checks an AuthorizationPolicy spec; see the file comment for the source of each rule. */
export const checkAuthorizationPolicy: SpecRule<AuthorizationPolicySpec> = (spec) => {
  const issues: FieldIssue[] = [...checkPolicyScope(spec)];
  const action = spec.action ?? "ALLOW";
  const rules = spec.rules ?? [];

  if (action === "CUSTOM") {
    if (spec.provider === undefined) {
      issues.push({
        name: "MissingField",
        path: ["spec", "provider"],
        message: "a CUSTOM policy needs a provider",
        hint: "add provider.name naming an extension provider from MeshConfig extensionProviders",
      });
    } else if (!spec.provider.name) {
      issues.push({ name: "MissingField", path: ["spec", "provider", "name"], message: "provider.name is empty", hint: "name an extension provider from MeshConfig extensionProviders" });
    }
  } else if (spec.provider !== undefined) {
    issues.push({
      path: ["spec", "provider"],
      message: `provider is only used with action CUSTOM, but the action is ${action}`,
      hint: "set action: CUSTOM to delegate to the provider, or remove provider",
    });
  }

  if (rules.length === 0 && action !== "ALLOW") {
    // Without rules nothing matches: an ALLOW policy then allows nothing (useful), the others never act.
    issues.push({
      path: ["spec", "rules"],
      message: `${action === "AUDIT" ? "an" : "a"} ${action} policy without rules never matches, so it has no effect`,
      hint: `add rules, or the empty rule "- {}" to ${action === "DENY" ? "deny" : action === "AUDIT" ? "audit" : "check"} every request`,
      // Istio's webhook rejects DENY and CUSTOM policies without rules; AUDIT ones are accepted.
      severity: action === "AUDIT" ? "warning" : "error",
    });
  }

  rules.forEach((rule, i) => issues.push(...checkRule(rule, ["spec", "rules", i], action)));
  return issues;
};

type Action = NonNullable<AuthorizationPolicySpec["action"]>;

function checkRule(rule: Rule, path: FieldPath, action: Action): FieldIssue[] {
  const issues: FieldIssue[] = [];
  let hasSource = false;
  let hasOperation = false;
  let sourceWorksOnTcp = false;
  let operationWorksOnTcp = false;

  rule.from?.forEach((from, j) => {
    const fromPath = [...path, "from", j];
    if (from.source === undefined) {
      issues.push({ name: "MissingField", path: [...fromPath, "source"], message: "from entry has no source", hint: "write `- source: {namespaces: [...]}`, or remove the entry" });
      return;
    }
    hasSource = true;
    issues.push(...checkSource(from.source, [...fromPath, "source"], action));
    // Everything but the JWT identities is known on a plain TCP connection.
    const source = from.source;
    if (sourceFields.some((f) => f !== "requestPrincipals" && f !== "notRequestPrincipals" && source[f] !== undefined)) sourceWorksOnTcp = true;
  });

  rule.to?.forEach((to, j) => {
    const toPath = [...path, "to", j];
    if (to.operation === undefined) {
      issues.push({ name: "MissingField", path: [...toPath, "operation"], message: "to entry has no operation", hint: "write `- operation: {methods: [...]}`, or remove the entry" });
      return;
    }
    hasOperation = true;
    issues.push(...checkOperation(to.operation, [...toPath, "operation"]));
    if (to.operation.ports !== undefined || to.operation.notPorts !== undefined) operationWorksOnTcp = true;
  });

  rule.when?.forEach((condition, j) => issues.push(...checkCondition(condition, [...path, "when", j], action)));

  // HTTP-only attributes cannot be evaluated on TCP connections, and a DENY rule then matches them all.
  if (action === "DENY" && ((hasSource && !hasOperation && !sourceWorksOnTcp) || (hasOperation && !operationWorksOnTcp))) {
    issues.push({
      path,
      message: "this DENY rule uses only HTTP attributes, so it denies all plain TCP traffic to the workloads it covers",
      hint: "add to.operation.ports to limit the rule to the HTTP ports",
      severity: "warning",
    });
  }
  return issues;
}

const sourceFields = [
  "principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals", "namespaces", "notNamespaces",
  "serviceAccounts", "notServiceAccounts", "ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks",
] as const satisfies readonly (keyof Source)[];

/** Source fields an external authorizer (CUSTOM) cannot be given (Istio builds no match for them). */
const notWithCustom = new Set<keyof Source>([
  "principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals", "namespaces", "notNamespaces", "serviceAccounts", "notServiceAccounts",
]);

function checkSource(source: Source, path: FieldPath, action: Action): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const present = sourceFields.filter((f) => (source[f]?.length ?? 0) > 0);
  if (present.length === 0) {
    issues.push({ path, message: "source is empty", hint: "set at least one field, e.g. principals or namespaces, or remove the from entry" });
  }
  const hasServiceAccounts = present.includes("serviceAccounts") || present.includes("notServiceAccounts");
  const identityField = present.find((f) => f === "principals" || f === "notPrincipals" || f === "namespaces" || f === "notNamespaces");
  if (hasServiceAccounts && identityField !== undefined) {
    issues.push({
      name: "ExclusiveFields",
      path: [...path, identityField],
      message: `${identityField} cannot be combined with serviceAccounts or notServiceAccounts`,
      hint: 'serviceAccounts already names the namespace ("<namespace>/<service account>"); keep one of them',
    });
  }
  for (const field of sourceFields) {
    const values = source[field];
    if (values === undefined) continue;
    if (action === "CUSTOM" && notWithCustom.has(field) && values.length > 0) {
      issues.push(notSupportedWithCustom([...path, field], field));
    }
    values.forEach((value, k) => {
      const valuePath = [...path, field, k];
      if (value === "") {
        issues.push(emptyMatch(valuePath, field));
        return;
      }
      if (field.endsWith("IpBlocks") || field.endsWith("ipBlocks")) {
        const problem = ipBlockProblem(value, { allowZone: true });
        if (problem) issues.push({ path: valuePath, message: problem, hint: 'write an IPv4 or IPv6 address or CIDR range, e.g. "203.0.113.4" or "203.0.113.0/24"' });
      } else if (field === "serviceAccounts" || field === "notServiceAccounts") {
        const problem = serviceAccountProblem(value);
        if (problem) issues.push({ path: valuePath, message: problem, hint: 'write "<service account>" or "<namespace>/<service account>", without wildcards' });
      }
    });
  }
  return issues;
}

const operationFields = ["hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths"] as const satisfies readonly (keyof Operation)[];

function checkOperation(operation: Operation, path: FieldPath): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (operationFields.every((f) => (operation[f]?.length ?? 0) === 0)) {
    issues.push({ path, message: "operation is empty", hint: "set at least one field, e.g. methods or paths, or remove the to entry" });
  }
  for (const field of operationFields) {
    operation[field]?.forEach((value, k) => {
      const valuePath = [...path, field, k];
      if (value === "") {
        issues.push(emptyMatch(valuePath, field));
        return;
      }
      if (field === "ports" || field === "notPorts") {
        const problem = portProblem(value);
        if (problem) issues.push({ path: valuePath, message: problem, hint: 'write a port number between 1 and 65535 as a string, e.g. "8080"' });
      } else if (field === "paths" || field === "notPaths") {
        issues.push(...checkPath(value, valuePath));
      } else if ((field === "methods" || field === "notMethods") && value !== value.toUpperCase()) {
        issues.push({
          path: valuePath,
          message: `method ${JSON.stringify(value)} is matched case-sensitively and requests use upper case`,
          hint: `write ${JSON.stringify(value.toUpperCase())}`,
          severity: "warning",
        });
      }
    });
  }
  return issues;
}

/** A valid path segment next to a `{*}`/`{**}` template: RFC 3986 pchar characters only. */
const templateLiteral = /^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/;

/**
 * Paths are exact, prefix (`/api/*`), suffix (`*.html`) or presence (`*`) matches, or URI
 * templates where `{*}` is one segment and `{**}` any number of them (Envoy's uri_template).
 */
function checkPath(path: string, fieldPath: FieldPath): FieldIssue[] {
  const quoted = JSON.stringify(path);
  const isTemplate = path.includes("{*}") || path.includes("{**}");
  let sawMatchAny = false;
  for (const segment of path.replace(/^\/+|\/+$/g, "").split("/")) {
    if (segment === "{*}" || segment === "{**}") {
      if (sawMatchAny) {
        return [{ path: fieldPath, message: `${quoted}: {**} must be the last template operator, but ${segment} follows it`, hint: "keep {**} as the last {*} or {**} in the path, e.g. /api/{*}/files/{**}" }];
      }
      sawMatchAny = segment === "{**}";
      continue;
    }
    if (segment.includes("{") || segment.includes("}")) {
      return [{
        path: fieldPath,
        message: `${quoted} contains "{" or "}" outside a {*} or {**} segment`,
        hint: "templates match whole segments only: use /{*}/ for one segment, /{**} for the rest; named variables like {id} are not supported",
      }];
    }
    if (isTemplate && !templateLiteral.test(segment)) {
      return [{
        path: fieldPath,
        message: `${quoted} mixes a template with the segment ${JSON.stringify(segment)}`,
        hint: segment.includes("*")
          ? "in a path with {*} or {**}, '*' prefix/suffix wildcards are not allowed: use {*} for a whole segment"
          : "segments next to {*} or {**} may use only letters, digits and - . _ ~ % ! $ & ' ( ) + , ; : @ =",
      }];
    }
  }
  if (!isTemplate && path.length > 1 && path.slice(1, -1).includes("*")) {
    return [{
      path: fieldPath,
      message: `${quoted}: "*" is a wildcard only at the start or end of a path; here it matches a literal "*"`,
      hint: 'use a prefix ("/api/*"), a suffix ("*.html"), or {*} for one segment ("/api/{*}/users")',
      severity: "warning",
    }];
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// Conditions (`when`): https://istio.io/latest/docs/reference/config/security/conditions/

/** Attributes used as `key` on their own. */
const plainAttributes = [
  "source.ip", "remote.ip", "source.namespace", "source.serviceAccount", "source.principal",
  "request.auth.principal", "request.auth.audiences", "request.auth.presenter",
  "destination.ip", "destination.port", "connection.sni",
] as const;

/** Attributes followed by a name in brackets; claims may be nested: request.auth.claims[a][b]. */
const mapAttributes = ["request.headers", "request.auth.claims", "request.experimental.inline.headers"] as const;

const experimentalPrefix = "experimental.envoy.filters.";

/** Attributes of Istio's old RBAC API that the current API replaced. */
const replacedAttributes: Readonly<Record<string, string>> = {
  "destination.namespace": "the policy applies to its own namespace (metadata.namespace); remove the condition",
  "destination.labels": "choose workloads with the policy's selector instead",
  "destination.name": "it was only supported by the removed v1alpha1 RBAC API; use the selector or to.operation.hosts",
  "destination.user": "it was only supported by the removed v1alpha1 RBAC API; use the selector",
};

function checkCondition(condition: Condition, path: FieldPath, action: Action): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const { key } = condition;
  const keyPath = [...path, "key"];
  const values = condition.values ?? [];
  const notValues = condition.notValues ?? [];

  if (key === "") {
    issues.push({ name: "MissingField", path: keyPath, message: "the condition key is empty", hint: "name an attribute, e.g. request.headers[version] or source.ip" });
    return issues;
  }
  const keyIssue = conditionKeyProblem(key, keyPath);
  if (keyIssue) issues.push(keyIssue);
  if (values.length === 0 && notValues.length === 0) {
    issues.push({
      name: "MissingField",
      path: [...path, "values"],
      message: `the condition on ${JSON.stringify(key)} has neither values nor notValues`,
      hint: "add values (or notValues) to compare the attribute with",
    });
  }
  if (action === "CUSTOM" && (key === "source.namespace" || key === "source.serviceAccount" || key === "source.principal" || key.startsWith("request.auth."))) {
    issues.push(notSupportedWithCustom(keyPath, key));
  }
  if (keyIssue) return issues;

  for (const field of ["values", "notValues"] as const) {
    (condition[field] ?? []).forEach((value, k) => {
      const valuePath = [...path, field, k];
      if (value === "") {
        issues.push(emptyMatch(valuePath, field));
        return;
      }
      let problem: string | undefined;
      let hint = "";
      if (key === "source.ip" || key === "remote.ip" || key === "destination.ip") {
        problem = ipBlockProblem(value, { allowZone: true });
        hint = 'write an IPv4 or IPv6 address or CIDR range, e.g. "10.1.2.3" or "10.1.0.0/16"';
      } else if (key === "destination.port") {
        problem = portProblem(value);
        hint = 'write a port number between 1 and 65535 as a string, e.g. "8080"';
      } else if (key === "source.serviceAccount") {
        problem = serviceAccountProblem(value);
        hint = 'write "<namespace>/<service account>", without wildcards';
      }
      if (problem) issues.push({ path: valuePath, message: problem, hint });
    });
  }
  return issues;
}

/** Why `key` is not an attribute Istio knows, with a "did you mean" hint; undefined when it is. */
function conditionKeyProblem(key: string, path: FieldPath): FieldIssue | undefined {
  const quoted = JSON.stringify(key);
  if ((plainAttributes as readonly string[]).includes(key)) return undefined;
  const open = key.indexOf("[");
  const base = open < 0 ? key : key.slice(0, open);
  const brackets = open < 0 ? "" : key.slice(open);
  const nested = /^(\[[^[\]]+\])+$/;
  const single = /^\[[^[\]]+\]$/;

  if ((mapAttributes as readonly string[]).includes(base)) {
    const example = base === "request.auth.claims" ? "request.auth.claims[iss]" : `${base}[x-custom-token]`;
    if (brackets === "") return { path, message: `${quoted} needs a name in brackets`, hint: `write e.g. ${example}` };
    const shape = base === "request.auth.claims" ? nested : single;
    if (!shape.test(brackets)) {
      return {
        path,
        message: `${quoted} is malformed: expected ${base}[name]${base === "request.auth.claims" ? " (nested: [a][b])" : ""}`,
        hint: `write e.g. ${example}`,
      };
    }
    return undefined;
  }
  if (key.startsWith(experimentalPrefix)) {
    if (base.length > experimentalPrefix.length && nested.test(brackets)) return undefined;
    return { path, message: `${quoted} is malformed: expected ${experimentalPrefix}<filter>[<metadata key>]`, hint: `write e.g. ${experimentalPrefix}network.mysql_proxy[db.table]` };
  }
  if ((plainAttributes as readonly string[]).includes(base)) {
    return { path, message: `${JSON.stringify(base)} takes no name in brackets`, hint: `write ${base}` };
  }
  const replacedBy = replacedAttributes[base];
  if (replacedBy !== undefined) return { path, message: `attribute ${JSON.stringify(base)} is not supported`, hint: replacedBy };

  // A map attribute written with a dot: request.auth.claims.iss → request.auth.claims[iss].
  for (const map of mapAttributes) {
    if (key.startsWith(`${map}.`)) {
      return { path, message: `unknown attribute ${quoted}`, hint: `did you mean ${JSON.stringify(`${map}[${key.slice(map.length + 1)}]`)}? names go in brackets` };
    }
  }
  const near = closestName(base, [...plainAttributes, ...mapAttributes]);
  if (near !== undefined) {
    const suggestion = (mapAttributes as readonly string[]).includes(near) ? `${near}${brackets === "" ? "[name]" : brackets}` : near;
    return { path, message: `unknown attribute ${quoted}`, hint: `did you mean ${JSON.stringify(suggestion)}?` };
  }
  return {
    path,
    message: `unknown attribute ${quoted}`,
    hint: "use one of request.headers[...], request.auth.claims[...], request.auth.principal, source.ip, remote.ip, source.namespace, source.principal, destination.port, connection.sni, ... (istio.io/latest/docs/reference/config/security/conditions/)",
  };
}

// ---------------------------------------------------------------------------------------------
// Value checks.

function notSupportedWithCustom(path: FieldPath, what: string): FieldIssue {
  return {
    path,
    message: `${what} is not supported with action CUSTOM`,
    hint: "the external authorizer receives the request itself: check identities there, or move this match to an ALLOW/DENY policy",
  };
}

function emptyMatch(path: FieldPath, field: string): FieldIssue {
  return { path, message: `empty value in ${field}`, hint: 'remove it; to match any non-empty value write "*"' };
}

/** "sa" or "namespace/sa", no wildcards (Istio CheckServiceAccount). */
function serviceAccountProblem(value: string): string | undefined {
  if (value.includes("*")) return `${JSON.stringify(value)}: wildcards are not supported in service accounts`;
  const parts = value.split("/");
  if (parts.length > 2 || parts.some((p) => p === "")) return `${JSON.stringify(value)} is not a service account name`;
  return undefined;
}
