// Compiles the HTTPLocalRateLimitPolicies that select one inbound listener of a proxy into a
// RateLimitTable the data path asks once per request. A request passes the route-scoped policy's
// buckets (if one names its route), then the target-wide policy's; within a policy the client's
// bucket (its override's, else its own per-identity one) and then the policy's total. Tokens are
// taken only when every bucket has one, so a client refused by its own bucket does not drain the
// total. Semantics and defaults: docs/design/rate-limiting.md.
import type { MeshResource } from "@meshwork/config";
import { TokenBucket } from "./token-bucket.ts";

type RateLimitPolicy = MeshResource<"HTTPLocalRateLimitPolicy">;
type LimitSpec = { readonly requestsPerSecond: number; readonly burst?: number | undefined };

/** Per-identity buckets kept per policy scope before the least recently used is forgotten. */
export const defaultMaxIdentityBuckets = 10_000;

export interface CompileRateLimitsOptions {
  /** Namespace of the proxy's workload; also the namespace of policies that have none. */
  readonly namespace: string;
  /** Labels of the proxy's workload, matched by `targetRef.workloadSelector.matchLabels`. */
  readonly labels: Readonly<Record<string, string>>;
  /** The inbound listener port this table is for; policies with another `targetRef.port` are skipped. */
  readonly port: number;
  /** Trust domain of client SPIFFE IDs named by overrides; default `cluster.local`. */
  readonly trustDomain?: string;
  /** Cap on per-identity buckets per policy scope; default 10,000. */
  readonly maxIdentityBuckets?: number;
  /**
   * The table this one replaces. Scopes whose policy is unchanged keep their buckets, so a config
   * push does not hand every client a fresh burst.
   */
  readonly previous?: RateLimitTable;
}

/** Which limit refused a request. */
export type RateLimitKind = "total" | "identity" | "override";

export type RateLimitVerdict =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** `namespace/name` of the policy whose bucket was empty. */
      readonly policy: string;
      /** The route the policy is scoped to, or undefined for a target-wide policy. */
      readonly route: string | undefined;
      readonly limit: RateLimitKind;
      readonly requestsPerSecond: number;
    };

/** Admission of one request at `nowMs`: true = forward it, false = answer `rateLimitedReply`. */
export type Limiter = (nowMs: number) => boolean;

export interface RateLimitTable {
  /** No policy applies: the data path can leave the rate-limit layer out of the chain. */
  readonly isEmpty: boolean;
  /** `namespace/name` of the policies in effect, target-wide first (for config dumps). */
  readonly policies: readonly string[];
  /** Policies selecting this listener that were set aside, and why. */
  readonly issues: readonly string[];
  /**
   * The limiter for a request matched to HTTP route `routeName` (VirtualService `http[].name`;
   * undefined when no route was matched) from `clientIdentity` (the verified peer SPIFFE ID;
   * undefined for a plain-text or unverified client — all of those share one bucket).
   */
  limiterFor(routeName: string | undefined, clientIdentity: string | undefined): Limiter;
  /** Like `limiterFor(...)(nowMs)`, saying which limit refused the request. */
  decide(request: { readonly route: string | undefined; readonly identity: string | undefined }, nowMs: number): RateLimitVerdict;
  /** Per-identity buckets held now, over all scopes (for the stats). */
  identityBucketCount(): number;
}

/** The local reply for a rate-limited request (Envoy local_ratelimit: 429, flag RL). */
export const rateLimitedReply = Object.freeze({
  status: 429,
  flag: "RL" as const,
  headers: Object.freeze([["x-envoy-ratelimited", "true"]] as const),
  body: "local_rate_limited",
});

const allowed: RateLimitVerdict = Object.freeze({ allowed: true });
const allowAll: Limiter = () => true;

interface Stage {
  readonly bucket: TokenBucket;
  readonly denied: RateLimitVerdict;
}

function stage(limit: LimitSpec, denied: Omit<Extract<RateLimitVerdict, { allowed: false }>, "allowed" | "requestsPerSecond">): Stage {
  return {
    bucket: new TokenBucket({ ratePerSecond: limit.requestsPerSecond, burst: limit.burst ?? limit.requestsPerSecond }),
    denied: Object.freeze({ allowed: false, requestsPerSecond: limit.requestsPerSecond, ...denied }),
  };
}

interface ScopeOptions {
  readonly policy: string;
  readonly route: string | undefined;
  readonly namespace: string;
  readonly trustDomain: string;
  readonly maxIdentityBuckets: number;
}

/** The buckets of one policy for one scope (the whole listener, or one route). */
class LimitScope {
  readonly total: Stage | undefined;
  private readonly options: ScopeOptions;
  private readonly identityLimit: LimitSpec | undefined;
  private readonly overrides = new Map<string, Stage>();
  /** Insertion order is recency order: a hit moves the entry to the end, eviction takes the first. */
  private readonly identities = new Map<string, Stage>();
  private unauthenticated: Stage | undefined;

  constructor(spec: RateLimitPolicy["spec"], options: ScopeOptions) {
    this.options = options;
    const { policy, route } = options;
    this.identityLimit = spec.identity;
    this.total = spec.total ? stage(spec.total, { policy, route, limit: "total" }) : undefined;
    for (const override of spec.overrides ?? []) {
      // One bucket shared by every client of the entry, as Linkerd does.
      const shared = stage(override, { policy, route, limit: "override" });
      for (const ref of override.clientRefs) {
        const namespace = ref.namespace === undefined || ref.namespace === "" ? options.namespace : ref.namespace;
        const id = `spiffe://${options.trustDomain}/ns/${namespace}/sa/${ref.name}`;
        // Validation rejects a client in two overrides; should one slip through, the first wins.
        if (!this.overrides.has(id)) this.overrides.set(id, shared);
      }
    }
  }

  /** The client's bucket: its override's, else its own identity bucket, else none. */
  clientStage(identity: string | undefined): Stage | undefined {
    const limit = this.identityLimit;
    if (identity === undefined) {
      if (limit === undefined) return undefined;
      this.unauthenticated ??= stage(limit, { policy: this.options.policy, route: this.options.route, limit: "identity" });
      return this.unauthenticated;
    }
    const override = this.overrides.get(identity);
    if (override !== undefined) return override;
    if (limit === undefined) return undefined;
    const known = this.identities.get(identity);
    if (known !== undefined) {
      this.identities.delete(identity);
      this.identities.set(identity, known);
      return known;
    }
    if (this.identities.size >= this.options.maxIdentityBuckets) {
      // The least recently used bucket has been idle longest, so it is the likeliest to be full
      // already: forgetting it gives its client back little or nothing.
      const oldest = this.identities.keys().next().value as string;
      this.identities.delete(oldest);
    }
    const created = stage(limit, { policy: this.options.policy, route: this.options.route, limit: "identity" });
    this.identities.set(identity, created);
    return created;
  }

  get identityBucketCount(): number {
    return this.identities.size;
  }
}

interface Candidate {
  readonly policy: RateLimitPolicy;
  readonly key: string;
  /** Higher wins: 2 for a port, 1 for labels. */
  readonly specificity: number;
}

// Precedence when several policies claim the same scope: a port-specific policy over a port-less
// one, a labelled selector over a namespace-wide one, then namespace/name order (Istio would take
// the oldest; creation times are not part of the model). Linkerd allows one policy per Server.
function byPrecedence(a: Candidate, b: Candidate): number {
  return b.specificity - a.specificity || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

function selects(policy: RateLimitPolicy, options: CompileRateLimitsOptions): boolean {
  if ((policy.metadata.namespace ?? options.namespace) !== options.namespace) return false;
  const port = policy.spec.targetRef.port;
  if (port !== undefined && port !== options.port) return false;
  const labels = policy.spec.targetRef.workloadSelector?.matchLabels ?? {};
  for (const [key, value] of Object.entries(labels)) if (options.labels[key] !== value) return false;
  return true;
}

interface TableState {
  readonly scopes: Map<string, LimitScope>;
}

const tableStates = new WeakMap<RateLimitTable, TableState>();

/**
 * Builds the rate-limit table of inbound listener `options.port` of a proxy from every
 * HTTPLocalRateLimitPolicy in the mesh (those not selecting it are skipped). At most one
 * target-wide policy and one policy per route name apply; the others are reported in `issues`.
 */
export function compileRateLimits(policies: readonly RateLimitPolicy[], options: CompileRateLimitsOptions): RateLimitTable {
  const trustDomain = options.trustDomain ?? "cluster.local";
  const maxIdentityBuckets = options.maxIdentityBuckets ?? defaultMaxIdentityBuckets;
  if (!(maxIdentityBuckets >= 1)) throw new RangeError(`compileRateLimits: maxIdentityBuckets must be ≥ 1, got ${maxIdentityBuckets}`);
  const previous = options.previous ? tableStates.get(options.previous)?.scopes : undefined;
  const issues: string[] = [];

  const targetWide: Candidate[] = [];
  const byRoute = new Map<string, Candidate[]>();
  for (const policy of policies) {
    if (!selects(policy, options)) continue;
    const candidate: Candidate = {
      policy,
      key: `${policy.metadata.namespace ?? options.namespace}/${policy.metadata.name}`,
      specificity: (policy.spec.targetRef.port !== undefined ? 2 : 0) + (Object.keys(policy.spec.targetRef.workloadSelector?.matchLabels ?? {}).length > 0 ? 1 : 0),
    };
    const routes = policy.spec.routes ?? [];
    if (routes.length === 0) {
      targetWide.push(candidate);
      continue;
    }
    for (const route of new Set(routes)) {
      const list = byRoute.get(route) ?? [];
      list.push(candidate);
      byRoute.set(route, list);
    }
  }

  const scopes = new Map<string, LimitScope>();
  const scopeFor = (candidate: Candidate, route: string | undefined): LimitScope => {
    // Everything a scope's buckets depend on; an unchanged key keeps the previous buckets.
    const { total, identity, overrides } = candidate.policy.spec;
    const key = JSON.stringify([candidate.key, route ?? null, total, identity, overrides, options.namespace, trustDomain, maxIdentityBuckets]);
    const scope =
      previous?.get(key) ?? new LimitScope(candidate.policy.spec, { policy: candidate.key, route, namespace: options.namespace, trustDomain, maxIdentityBuckets });
    scopes.set(key, scope);
    return scope;
  };
  const pick = (candidates: Candidate[], where: string): Candidate | undefined => {
    candidates.sort(byPrecedence);
    const [winner, ...rest] = candidates;
    for (const loser of rest) issues.push(`HTTPLocalRateLimitPolicy ${loser.key} is ignored for ${where}: ${winner?.key} applies there`);
    return winner;
  };

  const wideWinner = pick(targetWide, `port ${options.port}`);
  const wide = wideWinner ? scopeFor(wideWinner, undefined) : undefined;
  const routeScopes = new Map<string, LimitScope>();
  const routePolicies: string[] = [];
  for (const [route, candidates] of [...byRoute].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const winner = pick(candidates, `route "${route}" on port ${options.port}`);
    if (!winner) continue;
    routeScopes.set(route, scopeFor(winner, route));
    if (!routePolicies.includes(winner.key)) routePolicies.push(winner.key);
  }

  const stagesFor = (route: string | undefined, identity: string | undefined): Stage[] => {
    const stages: Stage[] = [];
    const scoped = route === undefined ? undefined : routeScopes.get(route);
    for (const scope of [scoped, wide]) {
      if (scope === undefined) continue;
      const client = scope.clientStage(identity);
      if (client !== undefined) stages.push(client);
      if (scope.total !== undefined) stages.push(scope.total);
    }
    return stages;
  };
  const run = (stages: readonly Stage[], nowMs: number): RateLimitVerdict => {
    for (const s of stages) if (!s.bucket.hasTokens(nowMs)) return s.denied;
    for (const s of stages) s.bucket.take(nowMs);
    return allowed;
  };

  const isEmpty = wide === undefined && routeScopes.size === 0;
  const table: RateLimitTable = {
    isEmpty,
    policies: [...(wideWinner ? [wideWinner.key] : []), ...routePolicies.filter((p) => p !== wideWinner?.key)],
    issues,
    limiterFor(routeName, clientIdentity) {
      if (isEmpty) return allowAll;
      const stages = stagesFor(routeName, clientIdentity);
      if (stages.length === 0) return allowAll;
      return (nowMs) => run(stages, nowMs).allowed;
    },
    decide(request, nowMs) {
      if (isEmpty) return allowed;
      return run(stagesFor(request.route, request.identity), nowMs);
    },
    identityBucketCount() {
      let count = 0;
      for (const scope of new Set(scopes.values())) count += scope.identityBucketCount;
      return count;
    },
  };
  tableStates.set(table, { scopes });
  return table;
}
