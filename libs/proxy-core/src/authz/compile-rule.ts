// Compiles one AuthorizationPolicy rule into a predicate over an AuthzRequest, following Istio's
// builder (pilot/pkg/security/authz/model): `from` sources become principal sets, `to` operations
// permission sets, `when` conditions join every set of their kind; a rule matches when one
// principal set and one permission set match. Values of a field are ORed, `not` values negated,
// fields ANDed. A value that cannot be compiled (bad CIDR, HTTP-only field on TCP) makes an ALLOW
// rule unusable (it then matches nothing) and is dropped from a DENY/AUDIT/CUSTOM rule (which
// then matches more), exactly Istio's `checkError`.
import type { MeshResource } from "@meshwork/config";
import type { AuthzRequest } from "./authz-request.ts";
import { compileIpBlock, ipBlockContains, parseIpInto, type IpBlock, type IpFamily } from "./ip-block.ts";
import { compileHeaderValue, compileStringValue, type ValueTest } from "./istio-value-match.ts";
import { compilePathTemplate, isPathTemplate } from "./path-template.ts";
import { expandTrustDomainAliases } from "./trust-domain-aliases.ts";

/** How the port of `:authority` is treated before `hosts` match (Envoy HCM strip_port_mode). */
export type HostPortStripping = "none" | "matching" | "any";

/** One `rules[]` entry of an AuthorizationPolicy spec. */
export type AuthzRule = NonNullable<MeshResource<"AuthorizationPolicy">["spec"]["rules"]>[number];

/**
 * Per-request lazily computed attributes, owned by one engine and reset at each evaluation, so
 * that matching 100 policies parses each address and slices the path at most once.
 */
export class RequestView {
  request: AuthzRequest = {};
  private srcFamily: IpFamily | -1 = -1;
  private remoteFamily: IpFamily | -1 = -1;
  private dstFamily: IpFamily | -1 = -1;
  readonly src = new Uint32Array(4);
  readonly remote = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  /** request.path when it is a string, and where its path part ends (before "?" or "#"); -1 before computed. */
  private rawPath = "";
  private pathEndValue = -1;
  private hostValue: string | undefined | null = null;

  private readonly stripping: HostPortStripping;

  constructor(stripping: HostPortStripping) {
    this.stripping = stripping;
  }

  /** Incremented by every reset: lets per-engine indexes know whether they marked this request already. */
  generation = 0;

  reset(request: AuthzRequest): void {
    this.request = request;
    this.generation++;
    this.srcFamily = -1;
    this.remoteFamily = -1;
    this.dstFamily = -1;
    this.pathEndValue = -1;
    this.hostValue = null;
  }

  /**
   * The request's path string (query included) with pathEnd(): matching reads it in place, since
   * V8 reads characters of a sliced string much more slowly. Call pathEnd() first.
   */
  pathString(): string {
    return this.rawPath;
  }

  /** Length of the path part of pathString(), or -1 when the request has no path. */
  pathEnd(): number {
    if (this.pathEndValue === -1) {
      const p = this.request.path;
      if (typeof p !== "string") {
        this.rawPath = "";
        this.pathEndValue = -2;
      } else {
        let end = p.length;
        for (let i = 0; i < p.length; i++) {
          const c = p.charCodeAt(i);
          if (c === 63 /* ? */ || c === 35 /* # */) {
            end = i;
            break;
          }
        }
        this.rawPath = p;
        this.pathEndValue = end;
      }
    }
    return this.pathEndValue === -2 ? -1 : this.pathEndValue;
  }

  sourceFamily(): IpFamily {
    if (this.srcFamily < 0) {
      const ip = this.request.sourceIp;
      this.srcFamily = typeof ip === "string" ? parseIpInto(ip, this.src) : 0;
    }
    return this.srcFamily as IpFamily;
  }

  remoteFamilyOf(): IpFamily {
    if (this.remoteFamily < 0) {
      const ip = this.request.remoteIp ?? this.request.sourceIp;
      this.remoteFamily = typeof ip === "string" ? parseIpInto(ip, this.remote) : 0;
    }
    return this.remoteFamily as IpFamily;
  }

  destinationFamily(): IpFamily {
    if (this.dstFamily < 0) {
      const ip = this.request.destinationIp;
      this.dstFamily = typeof ip === "string" ? parseIpInto(ip, this.dst) : 0;
    }
    return this.dstFamily as IpFamily;
  }

  /** `:authority` in lower case, its port stripped per the HCM setting. */
  host(): string | undefined {
    if (this.hostValue === null) {
      const h = this.request.host;
      if (typeof h !== "string") this.hostValue = undefined;
      else this.hostValue = stripPort(h, this.stripping, this.request.destinationPort).toLowerCase();
    }
    return this.hostValue;
  }
}

function stripPort(host: string, stripping: HostPortStripping, port: number | undefined): string {
  if (stripping === "none") return host;
  const colon = host.lastIndexOf(":");
  if (colon < 0 || host.indexOf("]", colon) >= 0) return host;
  const digits = host.slice(colon + 1);
  if (!/^\d+$/.test(digits)) return host;
  if (stripping === "matching" && Number(digits) !== port) return host;
  return host.slice(0, colon);
}

export type Predicate = (view: RequestView) => boolean;

/** ALLOW, or one of the actions whose bad values widen the rule (DENY, AUDIT, CUSTOM). */
export type RuleAction = "ALLOW" | "DENY" | "AUDIT" | "CUSTOM";

export interface RuleContext {
  /** Namespace of the policy (default namespace of `serviceAccounts`). */
  readonly policyNamespace: string;
  /** The local trust domain first, then its aliases. */
  readonly trustDomains: readonly string[];
  readonly action: RuleAction;
  readonly forTcp: boolean;
}

// Which request attribute a check reads. Checks are plain data of one shape evaluated by one
// function (matchRule), so the hot path is monomorphic: closures are kept for the rare regex and
// JWT matchers only.
const A_METHOD = 1;
const A_PATH = 2;
const A_HOST = 3;
const A_HEADER = 4;
const A_PRINCIPAL = 5;
const A_SNI = 6;
const A_SOURCE_IP = 7;
const A_REMOTE_IP = 8;
const A_DESTINATION_IP = 9;
const A_PORT = 10;
const A_OTHER = 11;

/** One field of a rule: the OR of its values, negated for `not` fields. */
interface Check {
  readonly attr: number;
  readonly negate: boolean;
  readonly header: string;
  /** Matches any value that is present (header present_match, principal "*"). */
  readonly any: boolean;
  /** Matches any non-empty value (Istio's "*" → regex ".+"). */
  readonly nonEmpty: boolean;
  readonly exact: readonly string[];
  readonly prefixes: readonly string[];
  readonly suffixes: readonly string[];
  readonly regexps: readonly RegExp[];
  /** Literal text every match of regexps[i] starts with: tested first, as it is much cheaper than the regex. */
  readonly regexpPrefixes: readonly string[];
  readonly blocks: readonly IpBlock[];
  readonly ports: readonly number[];
  readonly fns: readonly Predicate[];
}

/** A compiled rule: one permission set (from `to` + permission conditions) and one principal set must match. */
export interface RuleMatcher {
  /**
   * When every permission set needs the path to start with one of these literals (exact paths,
   * prefixes, the literal head of templates): a cheap first test that rejects most requests.
   */
  readonly pathGuard: readonly string[] | undefined;
  readonly permissions: readonly (readonly Check[])[];
  readonly principals: readonly (readonly Check[])[];
}

export type CompiledRule = { readonly ok: true; readonly rule: RuleMatcher } | { readonly ok: false; readonly error: string };

type Piece =
  | { readonly kind: "any" | "nonEmpty" }
  | { readonly kind: "exact" | "prefix" | "suffix"; readonly text: string }
  | { readonly kind: "regexp"; readonly re: RegExp; readonly prefix: string }
  | { readonly kind: "ip"; readonly block: IpBlock }
  | { readonly kind: "port"; readonly port: number }
  | { readonly kind: "fn"; readonly fn: Predicate };

type One = (value: string) => readonly Piece[] | Piece | string;
type All = (values: readonly string[]) => Predicate | string;
interface Generator {
  readonly attr: number;
  readonly httpOnly: boolean;
  readonly header?: string;
  readonly one?: One;
  readonly all?: All;
}

interface Field {
  readonly name: string;
  readonly gen: Generator;
  readonly values: readonly string[] | undefined;
  readonly notValues: readonly string[] | undefined;
}

/** Whether a compiled rule matches the request in `view`. */
export function matchRule(rule: RuleMatcher, view: RequestView): boolean {
  const guard = rule.pathGuard;
  if (guard !== undefined) {
    const end = view.pathEnd();
    if (end < 0) return false;
    const path = view.pathString();
    let possible = false;
    for (let i = 0; i < guard.length; i++) {
      if (hasPrefix(path, guard[i] as string, end)) {
        possible = true;
        break;
      }
    }
    if (!possible) return false;
  }
  return matchRuleUnguarded(rule, view);
}

/** matchRule without the path guard, for callers that checked it already (PathGuardIndex). */
export function matchRuleUnguarded(rule: RuleMatcher, view: RequestView): boolean {
  const permissions = rule.permissions;
  let permitted = false;
  for (let i = 0; i < permissions.length; i++) {
    if (allChecks(permissions[i] as readonly Check[], view)) {
      permitted = true;
      break;
    }
  }
  if (!permitted) return false;
  const principals = rule.principals;
  for (let i = 0; i < principals.length; i++) if (allChecks(principals[i] as readonly Check[], view)) return true;
  return false;
}

function allChecks(checks: readonly Check[], view: RequestView): boolean {
  for (let i = 0; i < checks.length; i++) {
    const c = checks[i] as Check;
    if (evalCheck(c, view) === c.negate) return false;
  }
  return true;
}

function evalCheck(c: Check, view: RequestView): boolean {
  const request = view.request;
  let value: unknown;
  switch (c.attr) {
    case A_METHOD:
      value = request.method;
      break;
    case A_PATH: {
      const end = view.pathEnd();
      return end >= 0 && matchStrings(c, view.pathString(), end, view);
    }
    case A_HOST:
      value = view.host();
      break;
    case A_HEADER: {
      const headers = request.headers;
      value = typeof headers === "function" ? headers(c.header) : undefined;
      break;
    }
    case A_PRINCIPAL:
      value = request.sourcePrincipal;
      break;
    case A_SNI:
      // Envoy reads requestedServerName() as "" without SNI.
      value = request.sni ?? "";
      break;
    case A_SOURCE_IP:
      return anyBlock(c.blocks, view.sourceFamily(), view.src);
    case A_REMOTE_IP:
      return anyBlock(c.blocks, view.remoteFamilyOf(), view.remote);
    case A_DESTINATION_IP:
      return anyBlock(c.blocks, view.destinationFamily(), view.dst);
    case A_PORT:
      return c.ports.includes(request.destinationPort as number);
    default:
      return anyFn(c.fns, view);
  }
  return typeof value === "string" && matchStrings(c, value, value.length, view);
}

/** The string tests of a check against value[0, end). */
function matchStrings(c: Check, value: string, end: number, view: RequestView): boolean {
  if (c.any || (c.nonEmpty && end > 0)) return true;
  const exact = c.exact;
  for (let i = 0; i < exact.length; i++) {
    const e = exact[i] as string;
    if (e.length === end && hasPrefix(value, e, end)) return true;
  }
  const prefixes = c.prefixes;
  for (let i = 0; i < prefixes.length; i++) if (hasPrefix(value, prefixes[i] as string, end)) return true;
  const suffixes = c.suffixes;
  for (let i = 0; i < suffixes.length; i++) if (hasSuffix(value, suffixes[i] as string, end)) return true;
  const regexps = c.regexps;
  if (regexps.length > 0) {
    const whole = end === value.length ? value : value.slice(0, end);
    const regexpPrefixes = c.regexpPrefixes;
    for (let i = 0; i < regexps.length; i++) if (hasPrefix(value, regexpPrefixes[i] as string, end) && (regexps[i] as RegExp).test(whole)) return true;
  }
  return c.fns.length > 0 && anyFn(c.fns, view);
}

// Hand-written: String.prototype.startsWith/endsWith are calls into the runtime that V8 does not
// inline, several times slower than this loop for the short literals of policies.
function hasPrefix(s: string, prefix: string, end: number): boolean {
  const n = prefix.length;
  if (end < n) return false;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) !== prefix.charCodeAt(i)) return false;
  return true;
}

function hasSuffix(s: string, suffix: string, end: number): boolean {
  const n = suffix.length;
  const offset = end - n;
  if (offset < 0) return false;
  for (let i = 0; i < n; i++) if (s.charCodeAt(offset + i) !== suffix.charCodeAt(i)) return false;
  return true;
}

function anyBlock(blocks: readonly IpBlock[], family: IpFamily, address: Uint32Array): boolean {
  if (family === 0) return false;
  for (let i = 0; i < blocks.length; i++) if (ipBlockContains(blocks[i] as IpBlock, family, address)) return true;
  return false;
}

function anyFn(fns: readonly Predicate[], view: RequestView): boolean {
  for (let i = 0; i < fns.length; i++) if ((fns[i] as Predicate)(view)) return true;
  return false;
}

/** Compiles a rule for one action and protocol; an error when Istio would skip the rule. */
export function compileRule(rule: AuthzRule, ctx: RuleContext): CompiledRule {
  const basePrincipal: Field[] = [];
  const basePermission: Field[] = [];
  for (const condition of rule.when ?? []) {
    const key = condition.key;
    const gen = conditionGenerator(key, ctx);
    if (typeof gen === "string") return { ok: false, error: gen };
    const field: Field = { name: key, gen: gen.gen, values: condition.values, notValues: condition.notValues };
    (gen.kind === "principal" ? basePrincipal : basePermission).push(field);
  }
  const principals: Check[][] = [];
  for (const from of rule.from ?? []) {
    const s = from.source;
    const fields: Field[] = [];
    if (s) {
      fields.push(
        { name: "principals", gen: sourcePrincipalGen(ctx), values: s.principals, notValues: s.notPrincipals },
        { name: "requestPrincipals", gen: requestPrincipalGen, values: s.requestPrincipals, notValues: s.notRequestPrincipals },
        { name: "serviceAccounts", gen: serviceAccountGen(ctx.policyNamespace), values: s.serviceAccounts, notValues: s.notServiceAccounts },
        { name: "namespaces", gen: namespaceGen, values: s.namespaces, notValues: s.notNamespaces },
        { name: "remoteIpBlocks", gen: remoteIpGen, values: s.remoteIpBlocks, notValues: s.notRemoteIpBlocks },
        { name: "ipBlocks", gen: sourceIpGen, values: s.ipBlocks, notValues: s.notIpBlocks },
      );
    }
    const checks = compileFields([...fields, ...basePrincipal], ctx);
    if (typeof checks === "string") return { ok: false, error: checks };
    principals.push(checks);
  }
  if ((rule.from ?? []).length === 0) {
    const checks = compileFields(basePrincipal, ctx);
    if (typeof checks === "string") return { ok: false, error: checks };
    principals.push(checks);
  }
  const permissions: Check[][] = [];
  for (const to of rule.to ?? []) {
    const o = to.operation;
    const fields: Field[] = [];
    if (o) {
      fields.push(
        { name: "methods", gen: methodGen, values: o.methods, notValues: o.notMethods },
        { name: "ports", gen: destinationPortGen, values: o.ports, notValues: o.notPorts },
        { name: "paths", gen: pathGen, values: o.paths, notValues: o.notPaths },
        { name: "hosts", gen: hostGen, values: o.hosts, notValues: o.notHosts },
      );
    }
    const checks = compileFields([...fields, ...basePermission], ctx);
    if (typeof checks === "string") return { ok: false, error: checks };
    permissions.push(checks);
  }
  if ((rule.to ?? []).length === 0) {
    const checks = compileFields(basePermission, ctx);
    if (typeof checks === "string") return { ok: false, error: checks };
    permissions.push(checks);
  }
  return { ok: true, rule: { pathGuard: pathGuardOf(permissions), permissions, principals } };
}

function pathGuardOf(permissions: readonly (readonly Check[])[]): string[] | undefined {
  const literals: string[] = [];
  for (const checks of permissions) {
    const path = checks.find(
      (c) => c.attr === A_PATH && !c.negate && !c.any && !c.nonEmpty && c.suffixes.length === 0 && c.fns.length === 0,
    );
    if (!path) return undefined;
    literals.push(...path.exact, ...path.prefixes, ...path.regexpPrefixes);
  }
  return literals.length > 0 ? [...new Set(literals)] : undefined;
}

function compileFields(fields: readonly Field[], ctx: RuleContext): Check[] | string {
  const checks: Check[] = [];
  for (const field of fields) {
    const values = field.values ?? [];
    const notValues = field.notValues ?? [];
    if (values.length === 0 && notValues.length === 0) continue;
    for (const [list, negate] of [
      [values, false],
      [notValues, true],
    ] as const) {
      const check = compileValues(field, list, negate, ctx);
      if (typeof check === "string") return check;
      if (check) checks.push(check);
    }
  }
  // Cheapest checks first: the first failing one ends the set.
  return checks.sort((a, b) => checkCost(a) - checkCost(b));
}

function checkCost(c: Check): number {
  if (c.attr === A_PORT || c.attr === A_METHOD) return 0;
  if (c.attr === A_SOURCE_IP || c.attr === A_REMOTE_IP || c.attr === A_DESTINATION_IP) return 2;
  if (c.fns.length > 0 || c.attr === A_OTHER) return 5;
  if (c.regexps.length > 0) return 4;
  return c.attr === A_HEADER || c.attr === A_HOST ? 3 : 1;
}

/** The OR of a field's values as one check; undefined when none is left (no constraint); a string when the rule must be skipped. */
function compileValues(field: Field, values: readonly string[], negate: boolean, ctx: RuleContext): Check | undefined | string {
  if (values.length === 0) return undefined;
  const { gen } = field;
  const fail = (error: string): string | undefined => (ctx.action === "ALLOW" ? `${field.name}: ${error}` : undefined);
  if (gen.all) {
    const p = ctx.forTcp && gen.httpOnly ? `"${field.name}" is HTTP only` : gen.all(values);
    if (typeof p === "string") return fail(p);
    return buildCheck(A_OTHER, "", negate, [{ kind: "fn", fn: p }]);
  }
  const pieces: Piece[] = [];
  for (const value of values) {
    const p = ctx.forTcp && gen.httpOnly ? `"${field.name}" is HTTP only` : (gen.one as One)(value);
    if (typeof p === "string") {
      const error = fail(p);
      if (error !== undefined) return error;
      continue;
    }
    if (Array.isArray(p)) pieces.push(...(p as readonly Piece[]));
    else pieces.push(p as Piece);
  }
  return pieces.length === 0 ? undefined : buildCheck(gen.attr, gen.header ?? "", negate, pieces);
}

function buildCheck(attr: number, header: string, negate: boolean, pieces: readonly Piece[]): Check {
  const texts = (kind: "exact" | "prefix" | "suffix") =>
    pieces.flatMap((p) => (p.kind === kind ? [(p as { text: string }).text] : []));
  const fns = pieces.flatMap((p) => (p.kind === "fn" ? [p.fn] : []));
  return {
    attr: fns.length > 0 && pieces.every((p) => p.kind === "fn") ? A_OTHER : attr,
    negate,
    header,
    any: pieces.some((p) => p.kind === "any"),
    nonEmpty: pieces.some((p) => p.kind === "nonEmpty"),
    exact: [...new Set(texts("exact"))],
    prefixes: texts("prefix"),
    suffixes: texts("suffix"),
    regexps: pieces.flatMap((p) => (p.kind === "regexp" ? [p.re] : [])),
    regexpPrefixes: pieces.flatMap((p) => (p.kind === "regexp" ? [p.prefix] : [])),
    blocks: pieces.flatMap((p) => (p.kind === "ip" ? [p.block] : [])),
    ports: pieces.flatMap((p) => (p.kind === "port" ? [p.port] : [])),
    fns,
  };
}

// ---- generators, one per attribute -------------------------------------------------------------

/** Istio's StringMatcher: "*" → ".+" (non-empty), "*abc" suffix, "abc*" prefix, else exact. */
function stringPiece(pattern: string): Piece {
  if (pattern === "*") return { kind: "nonEmpty" };
  if (pattern.startsWith("*")) return { kind: "suffix", text: pattern.slice(1) };
  if (pattern.endsWith("*")) return { kind: "prefix", text: pattern.slice(0, -1) };
  return { kind: "exact", text: pattern };
}

/** Istio's HeaderMatcher: like stringPiece, but "*" is present_match (true even for ""). */
function headerPiece(pattern: string): Piece {
  return pattern === "*" ? { kind: "any" } : stringPiece(pattern);
}

function ipGen(attr: number): Generator {
  return {
    attr,
    httpOnly: false,
    one: (value) => {
      const block: IpBlock | undefined = compileIpBlock(value);
      if (!block) return `"${value}" is not an IP address or CIDR block`;
      return { kind: "ip", block };
    },
  };
}
const sourceIpGen = ipGen(A_SOURCE_IP);
const remoteIpGen = ipGen(A_REMOTE_IP);
const destinationIpGen = ipGen(A_DESTINATION_IP);

const destinationPortGen: Generator = {
  attr: A_PORT,
  httpOnly: false,
  one: (value) => {
    // Go's strconv.Atoi, then the range check of convertToPort.
    if (!/^[+-]?\d{1,10}$/.test(value)) return `"${value}" is not a port number`;
    const port = Number(value);
    if (port < 0 || port > 65535) return `port ${value} is out of range [0, 65535]`;
    return { kind: "port", port };
  },
};

/** The peer's SPIFFE ID must be present (mTLS) and match; Istio prefixes "spiffe://" to both sides, so "*" means "any peer". */
function sourcePrincipalGen(ctx: RuleContext): Generator {
  return {
    attr: A_PRINCIPAL,
    httpOnly: false,
    // Aliasing (MigrateTrustDomain) may expand a value into several.
    one: (value) => (value === "*" ? { kind: "any" } : expandTrustDomainAliases([value], ctx.trustDomains).map(stringPiece)),
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `namespaces`: regex `.*\/ns/<ns>/.*` over "spiffe://<principal>", `*` in the value meaning `.*`. */
const namespaceGen: Generator = {
  attr: A_PRINCIPAL,
  httpOnly: false,
  one: (value) => {
    if (!value.includes("*")) {
      const inner = `/ns/${value}/`;
      const head = `ns/${value}/`;
      return {
        kind: "fn",
        fn: (view) => {
          const p = view.request.sourcePrincipal;
          return typeof p === "string" && (p.includes(inner) || p.startsWith(head));
        },
      };
    }
    const glob = value.split("*").map(escapeRegExp).join(".*");
    // The "/" before "ns" may be the last character of "spiffe://".
    return { kind: "regexp", re: new RegExp(`^(?:.*/)?ns/${glob}/.*$`, "s"), prefix: "" };
  },
};

/** `serviceAccounts`: "<sa>" (policy namespace) or "<ns>/<sa>", regex `spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?`. */
function serviceAccountGen(policyNamespace: string): Generator {
  return {
    attr: A_PRINCIPAL,
    httpOnly: false,
    one: (value) => {
      const slash = value.indexOf("/");
      const ns = slash < 0 ? policyNamespace : value.slice(0, slash);
      const sa = slash < 0 ? value : value.slice(slash + 1);
      return { kind: "regexp", re: new RegExp(`^.+/ns/${escapeRegExp(ns)}/(?:.+/|)sa/${escapeRegExp(sa)}(?:/.+)?$`, "s"), prefix: "" };
    },
  };
}

/** Istio's extended request principal matcher: the value splits at its last "/" into issuer and subject. */
function compileRequestPrincipal(value: string): { iss: ValueTest; sub: ValueTest } {
  const any: ValueTest = (v) => v.length > 0;
  const idx = value.lastIndexOf("/");
  const found = idx >= 0;
  const iss = found ? value.slice(0, idx) : value;
  const sub = found ? value.slice(idx + 1) : "";
  if (value === "*") return { iss: any, sub: any };
  if (value.startsWith("*")) {
    if (found) {
      const issSuffix = iss.slice(1);
      return { iss: iss === "*" ? any : (v) => v.endsWith(issSuffix), sub: (v) => v === sub };
    }
    const subSuffix = value.slice(1);
    return { iss: any, sub: (v) => v.endsWith(subSuffix) };
  }
  if (value.endsWith("*")) {
    if (found) {
      const subPrefix = sub.slice(0, -1);
      return { iss: (v) => v === iss, sub: sub === "*" ? any : (v) => v.startsWith(subPrefix) };
    }
    const issPrefix = value.slice(0, -1);
    return { iss: (v) => v.startsWith(issPrefix), sub: any };
  }
  return { iss: (v) => v === iss, sub: (v) => v === sub };
}

const requestPrincipalGen: Generator = {
  attr: A_OTHER,
  httpOnly: true,
  all: (values) => {
    const matchers = values.map(compileRequestPrincipal);
    return (view) => {
      const claims = view.request.requestAuth?.claims;
      if (!claims) return false;
      const iss = claims["iss"];
      const sub = claims["sub"];
      if (typeof iss !== "string" || typeof sub !== "string") return false;
      for (let i = 0; i < matchers.length; i++) {
        const m = matchers[i] as { iss: ValueTest; sub: ValueTest };
        if (m.iss(iss) && m.sub(sub)) return true;
      }
      return false;
    };
  },
};

/** A JWT claim (nested path) that is a string matching a value, or a list holding one. */
function claimGen(path: readonly string[]): Generator {
  return {
    attr: A_OTHER,
    httpOnly: true,
    all: (values) => {
      const tests = values.map((v) => compileStringValue(v));
      const test = (s: string): boolean => {
        for (let i = 0; i < tests.length; i++) if ((tests[i] as ValueTest)(s)) return true;
        return false;
      };
      return (view) => {
        let cur: unknown = view.request.requestAuth?.claims;
        for (let i = 0; i < path.length; i++) {
          if (typeof cur !== "object" || cur === null || Array.isArray(cur)) return false;
          cur = (cur as Record<string, unknown>)[path[i] as string];
        }
        if (typeof cur === "string") return test(cur);
        if (Array.isArray(cur)) {
          for (const item of cur) if (typeof item === "string" && test(item)) return true;
        }
        return false;
      };
    },
  };
}

function headerGen(name: string): Generator {
  return { attr: A_HEADER, header: name.toLowerCase(), httpOnly: true, one: headerPiece };
}

/** `request.experimental.inline.headers[x]`: matches any of the comma-separated values. */
function inlineHeaderGen(name: string): Generator {
  const lower = name.toLowerCase();
  return {
    attr: A_OTHER,
    httpOnly: true,
    one: (value) => {
      const test = compileHeaderValue(value);
      return {
        kind: "fn",
        fn: (view) => {
          const headers = view.request.headers;
          const v = typeof headers === "function" ? headers(lower) : undefined;
          if (typeof v !== "string") return false;
          return value === "*" || v.split(",").some(test);
        },
      };
    },
  };
}

const hostGen: Generator = { attr: A_HOST, httpOnly: true, one: (value) => headerPiece(value.toLowerCase()) };

const methodGen: Generator = { attr: A_METHOD, httpOnly: true, one: headerPiece };

const pathGen: Generator = {
  attr: A_PATH,
  httpOnly: true,
  one: (value) => {
    if (!isPathTemplate(value)) return stringPiece(value);
    const re = compilePathTemplate(value);
    // The literal text before the first operator, e.g. "/static/" for "/static/{*}/logo".
    return re instanceof RegExp ? { kind: "regexp", re, prefix: value.slice(0, value.indexOf("{")) } : re.error;
  },
};

const sniGen: Generator = { attr: A_SNI, httpOnly: false, one: stringPiece };

function envoyFilterGen(filter: string, key: string): Generator {
  return {
    attr: A_OTHER,
    httpOnly: false,
    all: (values) => {
      const tests = values.map((v) =>
        v.startsWith("[") && v.endsWith("]")
          ? { list: true, test: compileStringValue(v.replace(/^\[+|\]+$/g, "")) }
          : { list: false, test: compileStringValue(v) },
      );
      return (view) => {
        const read = view.request.filterMetadata;
        if (typeof read !== "function") return false;
        const value = read(filter, key);
        for (const t of tests) {
          if (t.list) {
            if (Array.isArray(value) && value.some((item) => typeof item === "string" && t.test(item))) return true;
          } else if (typeof value === "string" && t.test(value)) {
            return true;
          }
        }
        return false;
      };
    },
  };
}

/** Names inside one `[...]`, e.g. "[User-Agent]" → "User-Agent". */
function nameInBrackets(text: string): string | undefined {
  if (text.length >= 2 && text.startsWith("[") && text.endsWith("]")) return text.slice(1, -1);
  return undefined;
}

/** Names inside `[a][b]...`; undefined when malformed. */
export function namesInNestedBrackets(text: string): string[] | undefined {
  const names: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] !== "[") return undefined;
    const end = text.indexOf("]", i);
    if (end < 0) return undefined;
    const name = text.slice(i + 1, end);
    if (name.includes("[")) return undefined;
    names.push(name);
    i = end + 1;
  }
  return names.length === 0 ? undefined : names;
}

type ConditionKind = { readonly kind: "principal" | "permission"; readonly gen: Generator };

/** The generator of a `when` key, or an error for an unknown or malformed key (Istio skips the rule). */
function conditionGenerator(key: string, ctx: RuleContext): ConditionKind | string {
  switch (key) {
    case "destination.ip":
      return { kind: "permission", gen: destinationIpGen };
    case "destination.port":
      return { kind: "permission", gen: destinationPortGen };
    case "connection.sni":
      return { kind: "permission", gen: sniGen };
    case "source.ip":
      return { kind: "principal", gen: sourceIpGen };
    case "remote.ip":
      return { kind: "principal", gen: remoteIpGen };
    case "source.namespace":
      return { kind: "principal", gen: namespaceGen };
    case "source.serviceAccount":
      return { kind: "principal", gen: serviceAccountGen(ctx.policyNamespace) };
    case "source.principal":
      return { kind: "principal", gen: sourcePrincipalGen(ctx) };
    case "request.auth.principal":
      return { kind: "principal", gen: requestPrincipalGen };
    case "request.auth.audiences":
      return { kind: "principal", gen: claimGen(["aud"]) };
    case "request.auth.presenter":
      return { kind: "principal", gen: claimGen(["azp"]) };
  }
  if (key.startsWith("experimental.envoy.filters.")) {
    const rest = key.slice("experimental.".length).replace(/\]$/, "");
    const open = rest.indexOf("[");
    if (open < 0) return `invalid key "${key}": expected experimental.envoy.filters.<filter>[<key>]`;
    return { kind: "permission", gen: envoyFilterGen(rest.slice(0, open), rest.slice(open + 1)) };
  }
  if (key.startsWith("request.headers")) {
    const name = nameInBrackets(key.slice("request.headers".length));
    if (name === undefined) return `invalid key "${key}": expected request.headers[<name>]`;
    return { kind: "principal", gen: headerGen(name) };
  }
  if (key.startsWith("request.experimental.inline.headers")) {
    const name = nameInBrackets(key.slice("request.experimental.inline.headers".length));
    if (name === undefined) return `invalid key "${key}": expected request.experimental.inline.headers[<name>]`;
    return { kind: "principal", gen: inlineHeaderGen(name) };
  }
  if (key.startsWith("request.auth.claims")) {
    const names = namesInNestedBrackets(key.slice("request.auth.claims".length));
    if (!names) return `invalid key "${key}": expected request.auth.claims[<name>] or request.auth.claims[<a>][<b>]`;
    return { kind: "principal", gen: claimGen(names) };
  }
  return `unknown attribute "${key}" in when (see https://istio.io/latest/docs/reference/config/security/conditions/)`;
}
