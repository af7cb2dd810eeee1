import { describe, expect, it } from "vitest";
import type { ServiceInstance } from "../registry-contract.ts";
import { filterByState, hasTags, matchesNodeMeta, uniqueChecks } from "./catalog-view.ts";

const node = { node: "n1", address: "10.0.0.1", meta: { rack: "r1", zone: "a" }, createIndex: 1, modifyIndex: 1 };
const nodeCheck = { checkId: "serfHealth", name: "Serf", serviceId: undefined, status: "passing" as const, output: "", type: "serf" as const, node: "n1", createIndex: 1, modifyIndex: 1 };
const instance = (id: string, status: "passing" | "critical"): ServiceInstance => ({
  node,
  service: { id, service: "web", address: "", port: 80, tags: ["v1", "canary"], meta: {}, createIndex: 2, modifyIndex: 2 },
  checks: [nodeCheck, { ...nodeCheck, checkId: `c-${id}`, serviceId: id, status, type: "ttl" }],
});

describe("catalog views", () => {
  it("lists a node check once however many services the node has", () => {
    const checks = uniqueChecks([instance("a", "passing"), instance("b", "critical")]);
    expect(checks.map((c) => [c.check.checkId, c.service?.id])).toEqual([["serfHealth", undefined], ["c-a", "a"], ["c-b", "b"]]);
    expect(filterByState(checks, "critical").map((c) => c.check.checkId)).toEqual(["c-b"]);
    expect(filterByState(checks, "any")).toHaveLength(3);
  });
  it("filters by all tags and all node-meta pairs", () => {
    const web = instance("a", "passing");
    expect(hasTags(web.service, ["v1", "canary"])).toBe(true);
    expect(hasTags(web.service, ["v1", "v2"])).toBe(false);
    expect(matchesNodeMeta(node, [["rack", "r1"], ["zone", "a"]])).toBe(true);
    expect(matchesNodeMeta(node, [["rack", "r2"]])).toBe(false);
  });
});
