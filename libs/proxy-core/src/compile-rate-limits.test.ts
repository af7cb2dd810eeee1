import { loadResources, type MeshResource } from "@meshwork/config";
import { createSeededRandom, forEachSeed } from "@meshwork/testing";
import { describe, expect, it } from "vitest";
import { compileRateLimits, rateLimitedReply, type CompileRateLimitsOptions } from "./compile-rate-limits.ts";

type Policy = MeshResource<"HTTPLocalRateLimitPolicy">;

/** Loads policies written as YAML specs (validated as a user's would be). */
function policies(...specs: { name: string; namespace?: string; spec: string }[]): Policy[] {
  const text = specs
    .map(
      (p) => `apiVersion: policy.meshwork.io/v1alpha1
kind: HTTPLocalRateLimitPolicy
metadata:
  name: ${p.name}
  namespace: ${p.namespace ?? "emojivoto"}
spec:
${p.spec.replace(/^/gm, "  ")}
`,
    )
    .join("---\n");
  const { resources, issues } = loadResources([{ path: "policies.yaml", text }]);
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  return resources as Policy[];
}

const proxy: CompileRateLimitsOptions = { namespace: "emojivoto", labels: { app: "web-svc", version: "v1" }, port: 8080 };
const td = "cluster.local";
const id = (sa: string, ns = "emojivoto") => `spiffe://${td}/ns/${ns}/sa/${sa}`;

/** Sends `count` requests at `nowMs` and returns how many were admitted. */
function burst(limiter: (nowMs: number) => boolean, count: number, nowMs: number): number {
  let ok = 0;
  for (let i = 0; i < count; i++) if (limiter(nowMs)) ok++;
  return ok;
}

const linkerdExample = policies({
  name: "web-rl",
  spec: `targetRef:
  workloadSelector:
    matchLabels: {app: web-svc}
total: {requestsPerSecond: 100}
identity: {requestsPerSecond: 20}
overrides:
- requestsPerSecond: 25
  clientRefs:
  - {kind: ServiceAccount, name: special-client}
  - {kind: ServiceAccount, namespace: other, name: special-client}`,
});

describe("compileRateLimits", () => {
  it("is empty, and allows everything, when no policy selects the listener", () => {
    const table = compileRateLimits(linkerdExample, { ...proxy, labels: { app: "voting" } });
    expect(table.isEmpty).toBe(true);
    expect(burst(table.limiterFor(undefined, id("a")), 10_000, 0)).toBe(10_000);
    expect(compileRateLimits(linkerdExample, { ...proxy, namespace: "other" }).isEmpty).toBe(true);
  });

  it("gives each identity its own bucket: one client's flood leaves the others theirs", () => {
    const table = compileRateLimits(linkerdExample, proxy);
    expect(table.policies).toEqual(["emojivoto/web-rl"]);
    expect(burst(table.limiterFor(undefined, id("noisy")), 1000, 0)).toBe(20);
    expect(burst(table.limiterFor(undefined, id("quiet")), 1000, 0)).toBe(20);
    expect(table.identityBucketCount()).toBe(2);
    // One second later each has refilled 20.
    expect(burst(table.limiterFor(undefined, id("noisy")), 1000, 1000)).toBe(20);
  });

  it("shares one bucket between all clients without an identity", () => {
    const table = compileRateLimits(linkerdExample, proxy);
    expect(burst(table.limiterFor(undefined, undefined), 15, 0)).toBe(15);
    expect(burst(table.limiterFor(undefined, undefined), 15, 0)).toBe(5);
    expect(table.decide({ route: undefined, identity: undefined }, 0)).toEqual({
      allowed: false,
      policy: "emojivoto/web-rl",
      route: undefined,
      limit: "identity",
      requestsPerSecond: 20,
    });
  });

  it("limits overridden ServiceAccounts by their override's bucket, shared by the entry's clients", () => {
    const table = compileRateLimits(linkerdExample, proxy);
    expect(burst(table.limiterFor(undefined, id("special-client")), 20, 0)).toBe(20);
    expect(burst(table.limiterFor(undefined, id("special-client", "other")), 20, 0)).toBe(5);
    expect(table.decide({ route: undefined, identity: id("special-client") }, 0)).toMatchObject({ allowed: false, limit: "override", requestsPerSecond: 25 });
    // Overrides hold no per-identity bucket.
    expect(table.identityBucketCount()).toBe(0);
    // Another trust domain is another identity: no override.
    expect(burst(table.limiterFor(undefined, "spiffe://example.org/ns/emojivoto/sa/special-client"), 30, 0)).toBe(20);
  });

  it("stops everyone at the total, and a client refused by its own bucket does not drain the total", () => {
    const table = compileRateLimits(linkerdExample, proxy);
    // A flood from one identity: 20 admitted, 980 refused by the identity bucket.
    expect(burst(table.limiterFor(undefined, id("noisy")), 1000, 0)).toBe(20);
    // The total (100) still has 80 for the others.
    let admittedOthers = 0;
    for (let i = 0; i < 10; i++) admittedOthers += burst(table.limiterFor(undefined, id(`c${i}`)), 20, 0);
    expect(admittedOthers).toBe(80);
    expect(table.decide({ route: undefined, identity: id("c9") }, 0)).toMatchObject({ allowed: false, limit: "total", requestsPerSecond: 100 });
  });

  it("takes no token from a client's bucket when the total refuses the request", () => {
    const table = compileRateLimits(policies({ name: "p", spec: "targetRef: {}\ntotal: {requestsPerSecond: 10}\nidentity: {requestsPerSecond: 1, burst: 5}" }), proxy);
    expect(burst(table.limiterFor(undefined, id("a")), 5, 0)).toBe(5);
    expect(burst(table.limiterFor(undefined, id("b")), 5, 0)).toBe(5);
    // The total is empty: c is refused 100 times, by the total.
    expect(burst(table.limiterFor(undefined, id("c")), 100, 0)).toBe(0);
    expect(table.decide({ route: undefined, identity: id("c") }, 0)).toMatchObject({ allowed: false, limit: "total" });
    // Half a second later the total has 5 again and c's own bucket is still full.
    expect(burst(table.limiterFor(undefined, id("c")), 100, 500)).toBe(5);
  });

  it("applies a route-scoped policy before the target-wide one, only to its route", () => {
    const table = compileRateLimits(
      [
        ...linkerdExample,
        ...policies({ name: "vote-rl", spec: "targetRef: {workloadSelector: {matchLabels: {app: web-svc}}}\nroutes: [vote]\ntotal: {requestsPerSecond: 5, burst: 2}" }),
      ],
      proxy,
    );
    expect(table.policies).toEqual(["emojivoto/web-rl", "emojivoto/vote-rl"]);
    expect(burst(table.limiterFor("vote", id("a")), 10, 0)).toBe(2);
    expect(table.decide({ route: "vote", identity: id("a") }, 0)).toEqual({ allowed: false, policy: "emojivoto/vote-rl", route: "vote", limit: "total", requestsPerSecond: 5 });
    // Other routes only see the target-wide limits; refusals on "vote" took nothing from "a".
    expect(burst(table.limiterFor("list", id("a")), 100, 0)).toBe(18);
    // 200 ms later the route bucket has one more token (5/s).
    expect(burst(table.limiterFor("vote", id("b")), 10, 200)).toBe(1);
  });

  it("keeps per-route buckets separate when one policy names several routes", () => {
    const table = compileRateLimits(policies({ name: "r", spec: "targetRef: {}\nroutes: [a, b]\ntotal: {requestsPerSecond: 3}" }), proxy);
    expect(burst(table.limiterFor("a", undefined), 10, 0)).toBe(3);
    expect(burst(table.limiterFor("b", undefined), 10, 0)).toBe(3);
    expect(burst(table.limiterFor(undefined, undefined), 10, 0)).toBe(10);
  });

  it("honours targetRef.port: each listener has its own buckets", () => {
    const portless = policies({ name: "all-ports", spec: "targetRef: {}\ntotal: {requestsPerSecond: 4}" });
    const on8080 = compileRateLimits(portless, proxy);
    const on9090 = compileRateLimits(portless, { ...proxy, port: 9090 });
    expect(burst(on8080.limiterFor(undefined, undefined), 10, 0)).toBe(4);
    expect(burst(on9090.limiterFor(undefined, undefined), 10, 0)).toBe(4);
    const only9090 = policies({ name: "p", spec: "targetRef: {port: 9090}\ntotal: {requestsPerSecond: 4}" });
    expect(compileRateLimits(only9090, proxy).isEmpty).toBe(true);
    expect(compileRateLimits(only9090, { ...proxy, port: 9090 }).isEmpty).toBe(false);
  });

  it("picks one target-wide policy per listener by specificity, and reports the others", () => {
    const set = policies(
      { name: "namespace-wide", spec: "targetRef: {}\ntotal: {requestsPerSecond: 1}" },
      { name: "by-label", spec: "targetRef: {workloadSelector: {matchLabels: {app: web-svc}}}\ntotal: {requestsPerSecond: 2}" },
      { name: "by-port", spec: "targetRef: {port: 8080}\ntotal: {requestsPerSecond: 3}" },
      { name: "by-label-and-port", spec: "targetRef: {workloadSelector: {matchLabels: {version: v1}}, port: 8080}\ntotal: {requestsPerSecond: 4}" },
    );
    const table = compileRateLimits(set, proxy);
    expect(table.policies).toEqual(["emojivoto/by-label-and-port"]);
    expect(burst(table.limiterFor(undefined, undefined), 10, 0)).toBe(4);
    expect(table.issues).toEqual([
      'HTTPLocalRateLimitPolicy emojivoto/by-port is ignored for port 8080: emojivoto/by-label-and-port applies there',
      'HTTPLocalRateLimitPolicy emojivoto/by-label is ignored for port 8080: emojivoto/by-label-and-port applies there',
      'HTTPLocalRateLimitPolicy emojivoto/namespace-wide is ignored for port 8080: emojivoto/by-label-and-port applies there',
    ]);
  });

  it("caps per-identity buckets, forgetting the least recently used", () => {
    const table = compileRateLimits(policies({ name: "p", spec: "targetRef: {}\nidentity: {requestsPerSecond: 1}" }), { ...proxy, maxIdentityBuckets: 3 });
    for (const sa of ["a", "b", "c"]) expect(table.limiterFor(undefined, id(sa))(0)).toBe(true);
    // Touch "a" so "b" is the least recently used.
    expect(table.limiterFor(undefined, id("a"))(0)).toBe(false);
    expect(table.limiterFor(undefined, id("d"))(0)).toBe(true);
    expect(table.identityBucketCount()).toBe(3);
    // "a" and "c" are still drained; "b" was forgotten and comes back with a full bucket.
    expect(table.limiterFor(undefined, id("a"))(0)).toBe(false);
    expect(table.limiterFor(undefined, id("c"))(0)).toBe(false);
    expect(table.limiterFor(undefined, id("b"))(0)).toBe(true);
  });

  it("holds at most the cap under a flood of distinct identities, and the total still protects", () => {
    const table = compileRateLimits(policies({ name: "p", spec: "targetRef: {}\ntotal: {requestsPerSecond: 1000}\nidentity: {requestsPerSecond: 10}" }), proxy);
    let ok = 0;
    for (let i = 0; i < 20_000; i++) if (table.limiterFor(undefined, id(`sa-${i}`))(i / 20)) ok++;
    expect(table.identityBucketCount()).toBe(10_000);
    // 1 s of traffic: the total admits its burst (1000) plus what 1 s refills (1000).
    expect(ok).toBeLessThanOrEqual(2000);
    expect(ok).toBeGreaterThanOrEqual(1990);
  });

  it("over a simulated 10 s at 3× the rate, admits about rate × 10 + burst per identity, identities isolated", () => {
    forEachSeed({ runs: 10 }, (seed) => {
      const random = createSeededRandom(seed);
      const rate = random.int(5, 100);
      const policy = policies({ name: "p", spec: `targetRef: {}\nidentity: {requestsPerSecond: ${rate}}` });
      const [a, b, c] = ["a", "b", "c"].map((sa) => id(sa)) as [string, string, string];
      const randomArrivals = (client: string, count: number) => Array.from({ length: count }, () => ({ client, t: random.next() * 10_000 }));
      // a floods at 3× its rate; b is paced at exactly its rate; c arrives at random at its rate.
      const flood = randomArrivals(a, 3 * rate * 10);
      const paced = Array.from({ length: rate * 10 }, (_, i) => ({ client: b, t: (i * 1000) / rate }));
      const others = [...paced, ...randomArrivals(c, rate * 10)];
      const run = (events: { client: string; t: number }[]) => {
        const table = compileRateLimits(policy, proxy);
        const counts = new Map<string, number>();
        for (const e of [...events].sort((x, y) => x.t - y.t)) if (table.limiterFor(undefined, e.client)(e.t)) counts.set(e.client, (counts.get(e.client) ?? 0) + 1);
        return counts;
      };
      const withFlood = run([...flood, ...others]);
      const expected = rate * 10 + rate; // burst = requestsPerSecond
      expect(withFlood.get(a)).toBeLessThanOrEqual(expected);
      expect(withFlood.get(a)).toBeGreaterThanOrEqual(Math.floor(0.95 * expected));
      expect(withFlood.get(b)).toBe(rate * 10);
      // Isolation: b and c get exactly what they get when a is silent.
      const alone = run(others);
      expect([withFlood.get(b), withFlood.get(c)]).toEqual([alone.get(b), alone.get(c)]);
    });
  });

  it("keeps unchanged policies' buckets across a recompile, and resets changed ones", () => {
    const first = compileRateLimits(linkerdExample, proxy);
    expect(burst(first.limiterFor(undefined, id("a")), 50, 0)).toBe(20);
    const same = compileRateLimits(linkerdExample, { ...proxy, previous: first });
    expect(same.limiterFor(undefined, id("a"))(0)).toBe(false);
    const changed = compileRateLimits(
      policies({ name: "web-rl", spec: "targetRef: {workloadSelector: {matchLabels: {app: web-svc}}}\ntotal: {requestsPerSecond: 100}\nidentity: {requestsPerSecond: 30}" }),
      { ...proxy, previous: same },
    );
    expect(burst(changed.limiterFor(undefined, id("a")), 50, 0)).toBe(30);
  });

  it("describes the local reply: 429, flag RL, x-envoy-ratelimited", () => {
    expect(rateLimitedReply).toEqual({ status: 429, flag: "RL", headers: [["x-envoy-ratelimited", "true"]], body: "local_rate_limited" });
  });
});
