// TEST SUPPORT, not exported from the package: a deliberately simple AuthorizationPolicy
// evaluator written straight from Istio's documentation (authorization-policy reference,
// conditions page, security best practices) and its builder's documented error handling, with
// no precompilation, no caching and no cleverness. Property tests check compileAuthorization
// against it. Keep it obvious rather than fast.
import type { MeshResource } from "@meshwork/config";
import type { AuthzRequest } from "./authz-request.ts";

type Policy = MeshResource<"AuthorizationPolicy">;
type Rule = NonNullable<Policy["spec"]["rules"]>[number];

export interface ReferenceOptions {
  readonly rootNamespace: string;
  readonly trustDomain: string;
  readonly trustDomainAliases?: readonly string[];
  readonly extensionProviders?: readonly string[];
  /** Providers asked on TCP too (envoyExtAuthzGrpc); the others are ignored on TCP. */
  readonly tcpExtensionProviders?: readonly string[];
}

export interface ReferenceWorkload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ReferenceOutcome {
  /** "none", "check:<provider>" or "deny". */
  readonly custom: string;
  readonly decision: "allow" | "deny";
  /** `namespace/name` of the policy that decided, if any. */
  readonly policy: string | undefined;
  readonly audit: boolean;
}

/** Evaluates `request` against every policy as the docs describe. */
export function referenceAuthorize(
  policies: readonly Policy[],
  workload: ReferenceWorkload,
  options: ReferenceOptions,
  request: AuthzRequest,
): ReferenceOutcome {
  const inScope = policies.filter((p) => appliesTo(p, workload, options.rootNamespace));
  const byAction = (action: string, dryRun: boolean) =>
    inScope
      .filter((p) => (p.spec.action ?? "ALLOW") === action && isDryRun(p) === dryRun)
      .sort((a, b) => (ruleId(a, workload, 0) < ruleId(b, workload, 0) ? -1 : 1));
  const tcp = request.protocol === "tcp";

  // 1. CUSTOM.
  let custom = "none";
  const customPolicies = inScope.filter((p) => p.spec.action === "CUSTOM");
  const providers = [...new Set(customPolicies.map((p) => p.spec.provider?.name ?? ""))];
  for (const p of customPolicies) {
    const provider = p.spec.provider?.name ?? "";
    const broken = providers.length > 1 || provider === "" || (options.extensionProviders !== undefined && !options.extensionProviders.includes(provider));
    if (isDryRun(p) && broken) continue;
    if (!policyMatches(p, "CUSTOM", request, workload, options)) continue;
    if (broken) {
      custom = "deny";
      break;
    }
    const asked = !tcp || (options.tcpExtensionProviders?.includes(provider) ?? false);
    if (asked && custom === "none") custom = `check:${provider}`;
  }

  const audit = byAction("AUDIT", false).some((p) => policyMatches(p, "AUDIT", request, workload, options));
  // 2. DENY: any matching DENY policy denies.
  const denying = byAction("DENY", false).find((p) => policyMatches(p, "DENY", request, workload, options));
  if (denying) return { custom, decision: "deny", policy: nameOf(denying, workload), audit };
  // 3. No ALLOW policy: allow. 4. A matching ALLOW policy: allow. 5. Otherwise deny.
  const allows = byAction("ALLOW", false);
  if (allows.length === 0) return { custom, decision: "allow", policy: undefined, audit };
  const allowing = allows.find((p) => policyMatches(p, "ALLOW", request, workload, options));
  return { custom, decision: allowing ? "allow" : "deny", policy: allowing ? nameOf(allowing, workload) : undefined, audit };
}

function nameOf(p: Policy, w: ReferenceWorkload): string {
  return `${p.metadata.namespace ?? w.namespace}/${p.metadata.name}`;
}

function ruleId(p: Policy, w: ReferenceWorkload, i: number): string {
  return `ns[${p.metadata.namespace ?? w.namespace}]-policy[${p.metadata.name}]-rule[${i}]`;
}

function isDryRun(p: Policy): boolean {
  return ["1", "t", "T", "true", "TRUE", "True"].includes(p.metadata.annotations?.["istio.io/dry-run"] ?? "");
}

function appliesTo(p: Policy, w: ReferenceWorkload, root: string): boolean {
  const ns = p.metadata.namespace ?? w.namespace;
  if (p.spec.targetRefs || p.spec.targetRef) {
    const refs = p.spec.targetRefs ?? [p.spec.targetRef as NonNullable<typeof p.spec.targetRef>];
    return ns === w.namespace && refs.some((r) => r.kind === "Gateway" && (r.namespace ?? ns) === ns && w.labels["gateway.networking.k8s.io/gateway-name"] === r.name);
  }
  if (p.spec.selector) {
    if (ns !== root && ns !== w.namespace) return false;
    return Object.entries(p.spec.selector.matchLabels ?? {}).every(([k, v]) => w.labels[k] === v);
  }
  return ns === root || ns === w.namespace;
}

/** "A policy matches if any of its rules matches"; no rules: matches nothing. */
function policyMatches(p: Policy, action: string, req: AuthzRequest, w: ReferenceWorkload, o: ReferenceOptions): boolean {
  return (p.spec.rules ?? []).some((rule) => ruleMatches(rule, action, req, p.metadata.namespace ?? w.namespace, o));
}

/** Outcome of checking one field: true/false, or "skip" when a value could not be used. */
type Check = boolean | "bad";

const httpOnlyKeys = ["hosts", "notHosts", "methods", "notMethods", "paths", "notPaths", "requestPrincipals", "notRequestPrincipals"];

function ruleMatches(rule: Rule, action: string, req: AuthzRequest, policyNs: string, o: ReferenceOptions): boolean {
  const tcp = req.protocol === "tcp";
  const lenient = action !== "ALLOW";
  // Each field: OR of usable values, AND NOT (OR of usable notValues). A bad value (unparsable, or
  // HTTP-only on TCP) voids an ALLOW rule and is ignored in the other actions.
  let voided = false;
  const field = (name: string, values: readonly string[] | undefined, test: (v: string) => Check, isNot: boolean): boolean => {
    if (!values || values.length === 0) return true;
    const httpOnly = httpOnlyKeys.includes(name) || name.startsWith("request.");
    const results: Check[] = values.map((v) => (tcp && httpOnly ? "bad" : test(v)));
    if (results.includes("bad") && !lenient) voided = true;
    const usable = results.filter((r) => r !== "bad");
    if (usable.length === 0) return true;
    const any = usable.some((r) => r === true);
    return isNot ? !any : any;
  };
  // Fields whose values are judged together (requestPrincipals, claims): all good or all bad.
  const group = (_name: string, values: readonly string[] | undefined, test: (v: string) => boolean, isNot: boolean): boolean => {
    if (!values || values.length === 0) return true;
    if (tcp) {
      if (!lenient) voided = true;
      return true;
    }
    const any = values.some(test);
    return isNot ? !any : any;
  };
  // Every field is looked at, without short-circuits, so that each bad value is seen.
  const both = (name: string, values: readonly string[] | undefined, notValues: readonly string[] | undefined, test: (v: string) => Check) =>
    [field(name, values, test, false), field(name, notValues, test, true)].every(Boolean);
  const bothGroup = (name: string, values: readonly string[] | undefined, notValues: readonly string[] | undefined, test: (v: string) => boolean) =>
    [group(name, values, test, false), group(name, notValues, test, true)].every(Boolean);

  const conditions = (): boolean | "unknown" => {
    let ok = true;
    for (const c of rule.when ?? []) {
      const r = condition(c.key, c.values, c.notValues);
      if (r === "unknown") return "unknown";
      ok = ok && r;
    }
    return ok;
  };
  const condition = (key: string, values: readonly string[] | undefined, notValues: readonly string[] | undefined): boolean | "unknown" => {
    const claimPath = key.startsWith("request.auth.claims") ? bracketNames(key.slice("request.auth.claims".length)) : undefined;
    if (key === "source.ip") return both(key, values, notValues, (v) => ipIn(v, req.sourceIp));
    if (key === "remote.ip") return both(key, values, notValues, (v) => ipIn(v, req.remoteIp ?? req.sourceIp));
    if (key === "destination.ip") return both(key, values, notValues, (v) => ipIn(v, req.destinationIp));
    if (key === "destination.port") return both(key, values, notValues, (v) => portIs(v, req.destinationPort));
    if (key === "source.namespace") return both(key, values, notValues, (v) => namespaceIs(v, req.sourcePrincipal));
    if (key === "source.principal") return both(key, values, notValues, (v) => principalIs(v, req.sourcePrincipal, o));
    if (key === "source.serviceAccount") return both(key, values, notValues, (v) => serviceAccountIs(v, policyNs, req.sourcePrincipal));
    if (key === "connection.sni") return both(key, values, notValues, (v) => glob(v, req.sni ?? ""));
    if (key === "request.auth.principal") return bothGroup(key, values, notValues, (v) => requestPrincipalIs(v, req));
    if (key === "request.auth.audiences") return bothGroup(key, values, notValues, (v) => claimIs(["aud"], v, req));
    if (key === "request.auth.presenter") return bothGroup(key, values, notValues, (v) => claimIs(["azp"], v, req));
    if (claimPath) return bothGroup(key, values, notValues, (v) => claimIs(claimPath, v, req));
    const header = /^request\.headers\[(.+)\]$/.exec(key);
    if (header) return both(key, values, notValues, (v) => headerIs(v, req.headers?.(String(header[1]).toLowerCase())));
    return "unknown";
  };

  const when = conditions();
  if (when === "unknown") return false; // Istio skips a rule with an unknown attribute.
  const fromOk =
    (rule.from ?? []).length === 0 ||
    (rule.from ?? []).map(({ source: s }) => {
      if (!s) return true;
      return [
        both("principals", s.principals, s.notPrincipals, (v) => principalIs(v, req.sourcePrincipal, o)),
        bothGroup("requestPrincipals", s.requestPrincipals, s.notRequestPrincipals, (v) => requestPrincipalIs(v, req)),
        both("namespaces", s.namespaces, s.notNamespaces, (v) => namespaceIs(v, req.sourcePrincipal)),
        both("serviceAccounts", s.serviceAccounts, s.notServiceAccounts, (v) => serviceAccountIs(v, policyNs, req.sourcePrincipal)),
        both("ipBlocks", s.ipBlocks, s.notIpBlocks, (v) => ipIn(v, req.sourceIp)),
        both("remoteIpBlocks", s.remoteIpBlocks, s.notRemoteIpBlocks, (v) => ipIn(v, req.remoteIp ?? req.sourceIp)),
      ].every(Boolean);
    }).includes(true);
  const toOk =
    (rule.to ?? []).length === 0 ||
    (rule.to ?? []).map(({ operation: op }) => {
      if (!op) return true;
      return [
        both("hosts", op.hosts, op.notHosts, (v) => req.host !== undefined && headerIs(v.toLowerCase(), req.host.toLowerCase())),
        both("methods", op.methods, op.notMethods, (v) => headerIs(v, req.method)),
        both("paths", op.paths, op.notPaths, (v) => pathIs(v, req.path)),
        both("ports", op.ports, op.notPorts, (v) => portIs(v, req.destinationPort)),
      ].every(Boolean);
    }).includes(true);
  // Evaluate everything before looking at `voided`, so every field had its say.
  const result = when && fromOk && toOk;
  return voided ? false : result;
}

// ---- single attributes, from the reference page's field descriptions ----

/** "Exact match, prefix match (abc*), suffix match (*abc) and presence match (*)", presence meaning non-empty. */
function glob(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern === "*") return value !== "";
  if (pattern.startsWith("*")) return value.endsWith(pattern.slice(1));
  if (pattern.endsWith("*")) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}

/** Header matching: "*" is presence, even of an empty value. */
function headerIs(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  return pattern === "*" ? true : glob(pattern, value);
}

function pathIs(pattern: string, rawPath: string | undefined): Check {
  if (rawPath === undefined) return false;
  const path = rawPath.split(/[?#]/)[0] as string;
  if (!pattern.includes("{*}") && !pattern.includes("{**}")) return glob(pattern, path);
  // Templates: {*} is one non-empty segment, {**} any run of characters including "/"; nothing
  // but literals after {**}; no other "*", "{" or "}".
  const segs = pattern.split("/");
  if (segs[0] !== "") return "bad";
  let regex = "^";
  let afterAny = false;
  const chars = "[a-zA-Z0-9\\-._~%!$&'()+,;:@=";
  for (const seg of segs.slice(1)) {
    if (seg === "{*}" || seg === "{**}") {
      if (afterAny) return "bad";
      afterAny = seg === "{**}";
      regex += seg === "{*}" ? `/${chars}]+` : `/${chars}/]*`;
    } else if (seg.includes("*") || seg.includes("{") || seg.includes("}")) {
      return "bad";
    } else {
      regex += `/${escape(seg)}`;
    }
  }
  return new RegExp(`${regex}$`).test(path);
}

function portIs(value: string, port: number | undefined): Check {
  if (!/^[+-]?\d{1,10}$/.test(value) || Number(value) > 65535 || Number(value) < 0) return "bad";
  return port === Number(value);
}

/** Principals need mTLS; "cluster.local" and the aliases stand for the local trust domain. */
function principalIs(pattern: string, principal: string | undefined, o: ReferenceOptions): boolean {
  if (principal === undefined) return false;
  if (pattern === "*") return true;
  const domains = [o.trustDomain, ...(o.trustDomainAliases ?? [])];
  const parts = pattern.split("/");
  const candidates = [pattern];
  const td = parts[0] as string;
  const tdIsLocal = td === "cluster.local" || domains.some((d) => d === td || d === "*" || (d.endsWith("*") && td.startsWith(d.slice(0, -1))) || (d.startsWith("*") && td.endsWith(d.slice(1))));
  if (parts.length === 5 && td !== "*" && tdIsLocal) {
    candidates.length = 0;
    for (const d of domains) candidates.push(td.startsWith("*") && d.endsWith(td.slice(1)) ? pattern : [d, ...parts.slice(1)].join("/"));
  }
  return candidates.some((c) => glob(c, principal));
}

function namespaceIs(pattern: string, principal: string | undefined): boolean {
  if (principal === undefined) return false;
  const ns = pattern.split("*").map(escape).join(".*");
  return new RegExp(`^spiffe://.*/ns/${ns}/.*$`, "s").test(`spiffe://${principal}`);
}

function serviceAccountIs(value: string, policyNs: string, principal: string | undefined): boolean {
  if (principal === undefined) return false;
  const [ns, sa] = value.includes("/") ? [value.slice(0, value.indexOf("/")), value.slice(value.indexOf("/") + 1)] : [policyNs, value];
  return new RegExp(`^spiffe://.+/ns/${escape(ns)}/(.+/|)sa/${escape(sa)}(/.+)?$`, "s").test(`spiffe://${principal}`);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** "<iss>/<sub>", split at the last "/"; wildcards as in the builder. */
function requestPrincipalIs(pattern: string, req: AuthzRequest): boolean {
  const iss = req.requestAuth?.claims["iss"];
  const sub = req.requestAuth?.claims["sub"];
  if (typeof iss !== "string" || typeof sub !== "string") return false;
  if (pattern === "*") return iss !== "" && sub !== "";
  const cut = pattern.lastIndexOf("/");
  const pIss = cut < 0 ? pattern : pattern.slice(0, cut);
  const pSub = cut < 0 ? "" : pattern.slice(cut + 1);
  if (pattern.startsWith("*")) {
    if (cut < 0) return iss !== "" && sub.endsWith(pattern.slice(1));
    return (pIss === "*" ? iss !== "" : iss.endsWith(pIss.slice(1))) && sub === pSub;
  }
  if (pattern.endsWith("*")) {
    if (cut < 0) return iss.startsWith(pattern.slice(0, -1)) && sub !== "";
    return iss === pIss && (pSub === "*" ? sub !== "" : sub.startsWith(pSub.slice(0, -1)));
  }
  return iss === pIss && sub === pSub;
}

function claimIs(path: readonly string[], pattern: string, req: AuthzRequest): boolean {
  let v: unknown = req.requestAuth?.claims;
  for (const key of path) v = v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
  if (typeof v === "string") return glob(pattern, v);
  return Array.isArray(v) && v.some((item) => typeof item === "string" && glob(pattern, item));
}

function bracketNames(text: string): string[] | undefined {
  const m = /^(\[[^[\]]*\])+$/.exec(text);
  return m ? [...text.matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1] as string) : undefined;
}

/** IPs as BigInt: IPv4 and IPv4-mapped IPv6 as 32 bits, IPv6 as 128. */
function ipIn(block: string, address: string | undefined): Check {
  const [base, bits] = block.split("/") as [string, string | undefined];
  const b = toBigInt(base);
  if (!b || (bits !== undefined && !/^\d{1,3}$/.test(bits))) return "bad";
  const prefix = bits === undefined ? b.width : Number(bits);
  if (prefix > b.width) return "bad";
  if (address === undefined) return false;
  const a = toBigInt(address);
  if (!a || a.width !== b.width) return false;
  const shift = BigInt(b.width - prefix);
  return a.value >> shift === b.value >> shift;
}

function toBigInt(text: string): { value: bigint; width: number } | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p, i) => p > 255 || (String(v4[i + 1]).length > 1 && String(v4[i + 1]).startsWith("0")))) return undefined;
    return { value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n), width: 32 };
  }
  let t = text.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  if (!t.includes(":")) return undefined;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (tail) {
    const v = toBigInt(tail[1] as string);
    if (!v) return undefined;
    t = t.slice(0, -(tail[1] as string).length) + `${(v.value >> 16n).toString(16)}:${(v.value & 0xffffn).toString(16)}`;
  }
  const halves = t.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0] as string);
  const rest = halves.length === 2 ? groups(halves[1] as string) : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill("0"), ...rest];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const value = all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (value >> 32n === 0xffffn) return { value: value & 0xffffffffn, width: 32 };
  return { value, width: 128 };
}
