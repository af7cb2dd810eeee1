import { createSeededRandom } from "@meshwork/testing";
import { describe, expect, it } from "vitest";
import { expectDistribution } from "../tests/chi-square.ts";
import { countPicks, here, makeEndpoints } from "../tests/endpoints.ts";
import { balancerKind, createLoadBalancer } from "./create-load-balancer.ts";
import { hashString } from "./hash-string.ts";

describe("balancerKind", () => {
  it("defaults to LEAST_REQUEST and lets consistentHash win over simple", () => {
    expect(balancerKind(undefined)).toEqual({ type: "least-request" });
    expect(balancerKind({ simple: "LEAST_CONN" })).toEqual({ type: "least-request" });
    expect(balancerKind({ simple: "ROUND_ROBIN" })).toEqual({ type: "round-robin" });
    expect(balancerKind({ simple: "RANDOM" })).toEqual({ type: "random" });
    expect(balancerKind({ simple: "RANDOM", consistentHash: {} })).toEqual({ type: "ring-hash", minimumRingSize: 1024 });
    expect(balancerKind({ consistentHash: { maglev: {} } })).toEqual({ type: "maglev", tableSize: 65537 });
    expect(balancerKind({ consistentHash: { ringHash: { minimumRingSize: 4096 } } })).toEqual({ type: "ring-hash", minimumRingSize: 4096 });
  });
});

describe("createLoadBalancer with locality", () => {
  const remote = { region: "us", zone: "us-1", subZone: "a" };
  // 4 local endpoints (2 unhealthy) and 4 remote ones: P0 health = 1.4 × 50 % = 70 % of traffic.
  const endpoints = makeEndpoints(8, (i) => ({ locality: i < 4 ? here : remote, healthy: !(i === 0 || i === 1) }));

  it("keeps 70 % in the half-healthy local priority and fails the rest over (chi-square)", () => {
    for (const kind of [balancerKind({ simple: "RANDOM" }), balancerKind(undefined), balancerKind({ simple: "ROUND_ROBIN" })]) {
      const random = createSeededRandom(21);
      const lb = createLoadBalancer(kind, endpoints, { random: () => random.next(), activeRequests: () => 0, locality: { proxy: here } });
      const counts = countPicks(8, 40_000, () => lb.pick());
      expect((counts[0] ?? 0) + (counts[1] ?? 0)).toBe(0);
      expectDistribution(counts, [0, 0, 35, 35, 7.5, 7.5, 7.5, 7.5]);
    }
  });

  it("keeps a hashed key on one endpoint within its priority", () => {
    const random = createSeededRandom(2);
    const lb = createLoadBalancer(balancerKind({ consistentHash: { maglev: { tableSize: 251 } } }), makeEndpoints(6), {
      random: () => random.next(),
      activeRequests: () => 0,
      locality: { proxy: here },
    });
    const key = hashString("user-1");
    expect(new Set(Array.from({ length: 20 }, () => lb.pick(key))).size).toBe(1);
  });
});
