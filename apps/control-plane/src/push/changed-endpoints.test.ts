import { describe, expect, it } from "vitest";
import { changedEndpoints } from "./changed-endpoints.ts";
import { encodeProxyResources } from "./encode-proxy-resources.ts";
import type { NamedResource, ProxyResources } from "@meshwork/proxy-core";

const endpoints = (name: string, address: string): NamedResource<"endpoints"> => ({
  name,
  body: { cluster: name, endpoints: [{ address, weight: 1, healthy: true, locality: { region: "", zone: "", subZone: "" }, host: address, port: 80, labels: {}, origin: "test" }] },
});
const encoded = (list: NamedResource<"endpoints">[]) =>
  encodeProxyResources({ cluster: [], endpoints: list, listener: [], routeTable: [], trustBundle: [] } satisfies ProxyResources).endpoints;

describe("changedEndpoints", () => {
  it("sends the clusters whose endpoints differ from the held ones, and new clusters", () => {
    const held = encoded([endpoints("a", "10.0.0.1"), endpoints("b", "10.0.0.2")]);
    const next = encoded([endpoints("a", "10.0.0.1"), endpoints("b", "10.0.0.3"), endpoints("c", "10.0.0.4")]);
    expect(changedEndpoints(held.digests, next).map((r) => r.name)).toEqual(["b", "c"]);
    expect(changedEndpoints(next.digests, next)).toEqual([]);
  });

  it("diffs once per (held, next) pair but never answers for another pair (no stale diff)", () => {
    const held = encoded([endpoints("a", "10.0.0.1")]);
    const next = encoded([endpoints("a", "10.0.0.2")]);
    const first = changedEndpoints(held.digests, next);
    expect(changedEndpoints(held.digests, next)).toBe(first);
    const other = encoded([endpoints("a", "10.0.0.1")]);
    expect(changedEndpoints(next.digests, other).map((r) => r.name)).toEqual(["a"]);
    expect(changedEndpoints(other.digests, next).map((r) => r.name)).toEqual(["a"]);
  });
});
