import { describe, expect, it } from "vitest";
import { mergeTrafficPolicy, type TrafficPolicySpec } from "./merge-traffic-policy.ts";

const top: TrafficPolicySpec = {
  loadBalancer: { simple: "RANDOM" },
  connectionPool: { tcp: { maxConnections: 10 } },
  outlierDetection: { consecutive5xxErrors: 7 },
  tls: { mode: "ISTIO_MUTUAL" },
  portLevelSettings: [{ port: { number: 9090 }, loadBalancer: { simple: "ROUND_ROBIN" } }],
};

describe("mergeTrafficPolicy", () => {
  it("uses the top-level policy when nothing overrides it", () => {
    expect(mergeTrafficPolicy(top, undefined, 80)).toEqual({
      loadBalancer: { simple: "RANDOM" },
      connectionPool: { tcp: { maxConnections: 10 } },
      outlierDetection: { consecutive5xxErrors: 7 },
      tls: { mode: "ISTIO_MUTUAL" },
    });
  });

  it("lets a portLevelSettings entry replace all four settings for its port", () => {
    expect(mergeTrafficPolicy(top, undefined, 9090)).toEqual({
      loadBalancer: { simple: "ROUND_ROBIN" },
      connectionPool: undefined,
      outlierDetection: undefined,
      tls: undefined,
    });
  });

  it("lets a subset override field by field, keeping the rest of the top level", () => {
    const merged = mergeTrafficPolicy(top, { loadBalancer: { simple: "LEAST_REQUEST" } }, 80);
    expect(merged.loadBalancer).toEqual({ simple: "LEAST_REQUEST" });
    expect(merged.connectionPool).toEqual({ tcp: { maxConnections: 10 } });
    expect(merged.tls).toEqual({ mode: "ISTIO_MUTUAL" });
  });

  it("applies the top level's port settings before the subset's fields", () => {
    const merged = mergeTrafficPolicy(top, { tls: { mode: "DISABLE" } }, 9090);
    expect(merged).toEqual({ loadBalancer: { simple: "ROUND_ROBIN" }, connectionPool: undefined, outlierDetection: undefined, tls: { mode: "DISABLE" } });
  });

  it("lets the subset's own port settings replace everything for that port", () => {
    const subset: TrafficPolicySpec = { loadBalancer: { simple: "RANDOM" }, portLevelSettings: [{ port: { number: 80 }, connectionPool: { http: { maxRetries: 1 } } }] };
    expect(mergeTrafficPolicy(top, subset, 80)).toEqual({ loadBalancer: undefined, connectionPool: { http: { maxRetries: 1 } }, outlierDetection: undefined, tls: undefined });
  });

  it("is all undefined without any policy", () => {
    expect(mergeTrafficPolicy(undefined, undefined, 80)).toEqual({ loadBalancer: undefined, connectionPool: undefined, outlierDetection: undefined, tls: undefined });
  });
});
