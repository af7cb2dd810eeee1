import { describe, expect, it } from "vitest";
import type { CheckDefinition, HealthStatus, PreparedQueryDefinition, PreparedQueryService, RegistryCommand } from "../registry-contract.ts";
import { RegistryState } from "../state/registry-state.ts";
import { executePreparedQuery } from "./execute-prepared-query.ts";

function check(id: string, serviceId: string | undefined, status: HealthStatus): CheckDefinition {
  return { checkId: id, name: id, serviceId, status, output: "", type: "ttl" };
}

function register(node: string, id: string, options: { tags?: string[]; meta?: Record<string, string>; nodeMeta?: Record<string, string>; checks?: CheckDefinition[]; name?: string }): RegistryCommand {
  return {
    op: "catalog-register",
    node,
    address: `10.0.0.${node.slice(1)}`,
    nodeMeta: options.nodeMeta ?? {},
    service: { id, service: options.name ?? "web", address: "", port: 80, tags: options.tags ?? [], meta: options.meta ?? {} },
    checks: options.checks ?? [],
  };
}

function catalog(): RegistryState {
  const state = new RegistryState();
  [
    register("n1", "web-1", { tags: ["primary", "v1"], nodeMeta: { zone: "a" }, checks: [check("web-1-alive", "web-1", "passing")] }),
    register("n2", "web-2", { tags: ["v1"], meta: { env: "prod" }, checks: [check("web-2-alive", "web-2", "warning")] }),
    register("n3", "web-3", { tags: ["v1", "experimental"], meta: { env: "prod" }, checks: [check("web-3-alive", "web-3", "critical")] }),
    register("n4", "web-4", { name: "Web", tags: ["V1"], nodeMeta: { zone: "a" } }),
    register("n5", "db-1", { name: "db" }),
  ].forEach((command, i) => expect(state.apply(i + 1, command, 0).ok).toBe(true));
  return state;
}

function query(service: Partial<PreparedQueryService>): PreparedQueryDefinition {
  return {
    id: "8f246b77-f3e1-ff88-5b48-8ec93abf3e05",
    name: "q",
    session: "",
    token: "",
    template: { type: "", regexp: "", removeEmptyTags: false },
    service: { service: "web", failover: { nearestN: 0, datacenters: [] }, onlyPassing: false, ignoreCheckIds: [], near: "", tags: [], nodeMeta: {}, serviceMeta: {}, ...service },
    dns: { ttl: "" },
  };
}

/** The ids in answer order: catalog order (service names sorted, "Web" before "web"; then nodes) unless shuffled or moved near. */
const ids = (state: RegistryState, service: Partial<PreparedQueryService>, options: { near?: string; limit?: number; random?: () => number } = {}, agentNode = "n9"): string[] =>
  executePreparedQuery(state, query(service), { agentNode, ...options }).instances.map((i) => i.service.id);

describe("executePreparedQuery", () => {
  const state = catalog();

  it("finds the service's instances without case, leaving out critical ones (warning passes unless OnlyPassing)", () => {
    expect(ids(state, {})).toEqual(["web-4", "web-1", "web-2"]);
    expect(ids(state, { onlyPassing: true })).toEqual(["web-4", "web-1"]);
    expect(executePreparedQuery(state, query({ service: "nope" }), { agentNode: "n1" })).toEqual({ service: "nope", instances: [], failovers: 0 });
  });

  it("ignores the checks named in IgnoreCheckIDs", () => {
    expect(ids(state, { ignoreCheckIds: ["web-3-alive"] })).toEqual(["web-4", "web-1", "web-2", "web-3"]);
    expect(ids(state, { ignoreCheckIds: ["web-2-alive"], onlyPassing: true })).toEqual(["web-4", "web-1", "web-2"]);
  });

  it("filters by tags (with !tag exclusion), node meta and service meta", () => {
    expect(ids(state, { tags: ["v1"] })).toEqual(["web-4", "web-1", "web-2"]);
    expect(ids(state, { tags: ["v1", "!primary"], ignoreCheckIds: ["web-3-alive"] })).toEqual(["web-4", "web-2", "web-3"]);
    expect(ids(state, { tags: ["!experimental"], ignoreCheckIds: ["web-3-alive"] })).toEqual(["web-4", "web-1", "web-2"]);
    expect(ids(state, { nodeMeta: { zone: "a" } })).toEqual(["web-4", "web-1"]);
    expect(ids(state, { serviceMeta: { env: "prod" } })).toEqual(["web-2"]);
    expect(ids(state, { serviceMeta: { env: "" } })).toEqual([]);
  });

  it("puts the near node first: ?near, else the query's Near, _agent being this agent's node", () => {
    expect(ids(state, {}, { near: "_agent" }, "n2")).toEqual(["web-2", "web-1", "web-4"]);
    expect(ids(state, { near: "_agent" }, {}, "n1")).toEqual(["web-1", "web-4", "web-2"]);
    expect(ids(state, { near: "n2" })).toEqual(["web-2", "web-1", "web-4"]);
    expect(ids(state, { near: "n2" }, { near: "n1" })).toEqual(["web-1", "web-4", "web-2"]);
    expect(ids(state, { near: "n2" }, { near: "_ip" })).toEqual(["web-4", "web-1", "web-2"]);
    expect(ids(state, {}, { near: "n9" })).toEqual(["web-4", "web-1", "web-2"]);
  });

  it("shuffles with the randomness given, then cuts to the limit", () => {
    const seen = new Set<string>();
    let seed = 1;
    const random = (): number => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    for (let i = 0; i < 50; i++) seen.add(ids(state, {}, { random }).join(","));
    expect(seen.size).toBeGreaterThan(1);
    for (const order of seen) expect(order.split(",").sort()).toEqual(["web-1", "web-2", "web-4"]);
    expect(ids(state, {}, { limit: 2 })).toEqual(["web-4", "web-1"]);
    expect(ids(state, {}, { near: "_agent", limit: 1 }, "n2")).toEqual(["web-2"]);
  });
});
