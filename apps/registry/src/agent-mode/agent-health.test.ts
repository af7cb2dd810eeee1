import { describe, expect, it } from "vitest";
import type { CheckDefinition, HealthStatus, ServiceDefinition } from "../registry-contract.ts";
import { aggregatedStatus, healthCode, serviceHealthById, serviceHealthByName } from "./agent-health.ts";
import type { AgentCheck } from "./registry-agent.ts";

const web1: ServiceDefinition = { id: "web-1", service: "web", address: "", port: 80, tags: [], meta: {} };
const web2: ServiceDefinition = { ...web1, id: "web-2" };

function check(checkId: string, status: HealthStatus, service?: ServiceDefinition): AgentCheck {
  const definition: CheckDefinition = { checkId, name: checkId, serviceId: service?.id, status, output: "", type: "ttl", ttlMs: 60_000 };
  return { check: definition, service };
}

const input = (checks: AgentCheck[], text = false) => ({ node: "n1", datacenter: "dc1", services: [web1, web2], checks, text });

describe("aggregatedStatus", () => {
  it("takes maintenance over critical over warning over passing, and no checks as passing", () => {
    expect(aggregatedStatus([])).toBe("passing");
    expect(aggregatedStatus([check("a", "passing"), check("b", "warning")])).toBe("warning");
    expect(aggregatedStatus([check("a", "warning"), check("b", "critical"), check("c", "passing")])).toBe("critical");
    // The maintenance check is critical too, but Consul names it apart.
    expect(aggregatedStatus([check("a", "passing"), check("_service_maintenance:web-1", "critical")])).toBe("maintenance");
    expect(aggregatedStatus([check("_node_maintenance", "critical")])).toBe("maintenance");
    expect([healthCode("passing"), healthCode("warning"), healthCode("critical"), healthCode("maintenance")]).toEqual([200, 429, 503, 503]);
  });
});

describe("local service health", () => {
  it("counts the node's checks for every service and its own checks only for it", () => {
    const checks = [check("service:web-1", "passing", web1), check("service:web-2", "warning", web2), check("disk", "passing")];
    const one = serviceHealthById(input(checks), "web-1");
    expect(one.status).toBe(200);
    expect(JSON.parse(String(one.body))).toMatchObject({ AggregatedStatus: "passing", Service: { ID: "web-1" }, Checks: [{ CheckID: "service:web-1", Node: "n1", ServiceName: "web" }, { CheckID: "disk", ServiceName: "" }] });
    expect(serviceHealthById(input([...checks, check("disk-full", "critical")], true), "web-1")).toMatchObject({ status: 503, body: "critical" });
  });

  it("answers the worst instance of a name, and 404 for unknown ones", () => {
    const checks = [check("service:web-1", "passing", web1), check("service:web-2", "warning", web2)];
    expect(serviceHealthByName(input(checks, true), "web")).toMatchObject({ status: 429, body: "warning" });
    const all = serviceHealthByName(input(checks), "web");
    expect((JSON.parse(String(all.body)) as { AggregatedStatus: string }[]).map((s) => s.AggregatedStatus)).toEqual(["passing", "warning"]);
    expect(serviceHealthByName(input(checks, true), "db")).toMatchObject({ status: 404, body: "ServiceName db Not Found" });
    expect(serviceHealthById(input(checks), "db-1")).toMatchObject({ status: 404 });
    expect(JSON.parse(String(serviceHealthById(input(checks), "db-1").body))).toEqual({ AggregatedStatus: "critical", Service: null, Checks: null });
  });
});
