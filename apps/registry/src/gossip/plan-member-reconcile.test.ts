import { describe, expect, it } from "vitest";
import { RegistryState } from "../state/registry-state.ts";
import type { RegistryCommand } from "../registry-contract.ts";
import { hostOf, planMemberReconcile, serfCheckId } from "./plan-member-reconcile.ts";
import type { ReconcileCatalogNode, ReconcileInput, ReconcileMember } from "./plan-member-reconcile.ts";

const hour = 3_600_000;

function member(name: string, state: ReconcileMember["state"], stateChangedMs = 0): ReconcileMember {
  return { name, address: `10.0.0.${name.length}:8301`, state, stateChangedMs, tags: { role: "node" } };
}

function node(name: string, serfHealth: ReconcileCatalogNode["serfHealth"], address = "10.1.1.1"): ReconcileCatalogNode {
  return { node: name, address, meta: { zone: "a" }, serfHealth };
}

function plan(partial: Partial<ReconcileInput>) {
  return planMemberReconcile({ members: [], catalog: [], selfName: "leader", nowMs: 1_000, reconnectTimeoutMs: 72 * hour, unknownSinceMs: new Map(), ...partial });
}

describe("planMemberReconcile", () => {
  it("registers a new alive member's node with serfHealth passing at its gossip host", () => {
    const { commands } = plan({ members: [member("web-1", "alive")] });
    expect(commands).toEqual([
      {
        op: "catalog-register",
        node: "web-1",
        address: "10.0.0.5",
        nodeMeta: {},
        checks: [{ checkId: "serfHealth", name: "Serf Health Status", serviceId: undefined, status: "passing", output: "Agent alive and reachable", type: "serf" }],
      },
    ]);
  });

  it("leaves an alive member with a passing serfHealth alone; a suspect member is still alive", () => {
    expect(plan({ members: [member("web-1", "alive"), member("web-2", "suspect")], catalog: [node("web-1", "passing"), node("web-2", "passing")] }).commands).toEqual([]);
  });

  it("flips a returning member back to passing, keeping the node's address and meta", () => {
    const { commands } = plan({ members: [member("web-1", "alive")], catalog: [node("web-1", "critical", "192.168.0.9")] });
    expect(commands).toMatchObject([{ op: "catalog-register", node: "web-1", address: "192.168.0.9", nodeMeta: { zone: "a" }, checks: [{ checkId: serfCheckId, status: "passing" }] }]);
  });

  it("marks a failed member's node critical at once and deregisters it after the reconnect timeout", () => {
    const failedAt = 10 * hour;
    const before = plan({ members: [member("web-1", "dead", failedAt)], catalog: [node("web-1", "passing")], nowMs: failedAt + 1 });
    expect(before.commands).toMatchObject([{ op: "catalog-register", node: "web-1", checks: [{ status: "critical", output: "Agent not live or unreachable" }] }]);
    expect(plan({ members: [member("web-1", "dead", failedAt)], catalog: [node("web-1", "critical")], nowMs: failedAt + 72 * hour - 1 }).commands).toEqual([]);
    expect(plan({ members: [member("web-1", "dead", failedAt)], catalog: [node("web-1", "critical")], nowMs: failedAt + 72 * hour }).commands).toEqual([{ op: "catalog-deregister", node: "web-1" }]);
  });

  it("ignores a failed member that is not in the catalog", () => {
    expect(plan({ members: [member("web-1", "dead")] }).commands).toEqual([]);
  });

  it("deregisters a member that left, but never the leader itself", () => {
    const { commands } = plan({ members: [member("web-1", "left"), member("leader", "left")], catalog: [node("web-1", "passing"), node("leader", "passing")] });
    expect(commands).toEqual([{ op: "catalog-deregister", node: "web-1" }]);
  });

  it("marks a serfHealth node without a member critical, then deregisters it after the reconnect timeout", () => {
    const first = plan({ catalog: [node("gone", "passing"), node("external", undefined)], nowMs: 5 });
    expect(first.commands).toMatchObject([{ op: "catalog-register", node: "gone", checks: [{ status: "critical" }] }]);
    expect([...first.unknownSinceMs]).toEqual([["gone", 5]]);
    const later = plan({ catalog: [node("gone", "critical")], nowMs: 5 + 72 * hour, unknownSinceMs: first.unknownSinceMs });
    expect(later.commands).toEqual([{ op: "catalog-deregister", node: "gone" }]);
    expect(later.unknownSinceMs.size).toBe(0);
  });

  it("leaves unknown nodes alone while the pool may not be known yet", () => {
    const { commands, unknownSinceMs } = plan({ catalog: [node("gone", "passing")], judgeUnknown: false, unknownSinceMs: new Map([["gone", 0]]) });
    expect(commands).toEqual([]);
    expect([...unknownSinceMs]).toEqual([["gone", 0]]);
  });

  it("forgets a node's unknown time once its member is known again", () => {
    const { commands, unknownSinceMs } = plan({ members: [member("back", "alive")], catalog: [node("back", "critical")], unknownSinceMs: new Map([["back", 0]]) });
    expect(unknownSinceMs.size).toBe(0);
    expect(commands).toMatchObject([{ op: "catalog-register", node: "back", checks: [{ status: "passing" }] }]);
  });

  it("converges: applying the plan to the real catalog state makes the next plan empty", () => {
    const state = new RegistryState();
    let index = 0;
    const apply = (command: RegistryCommand) => state.apply(++index, command, 0);
    apply({ op: "catalog-register", node: "web-1", address: "10.9.9.9", service: { id: "web", service: "web", address: "", port: 80, tags: [], meta: {} } });
    const catalog = (): ReconcileCatalogNode[] =>
      state.nodes().map((n) => ({ node: n.node, address: n.address, meta: n.meta, serfHealth: state.nodeChecks(n.node).find((c) => c.checkId === serfCheckId)?.status }));
    const members = [member("web-1", "dead", 0), member("web-2", "alive"), member("leader", "alive")];
    const first = plan({ members: members.map((m) => (m.name === "web-1" ? { ...m, state: "alive" as const } : m)), catalog: catalog() });
    for (const command of first.commands) apply(command);
    const failed = plan({ members, catalog: catalog() });
    for (const command of failed.commands) apply(command);
    expect(state.serviceInstances("web")[0]?.checks.map((c) => c.status)).toEqual(["critical"]);
    expect(plan({ members, catalog: catalog() }).commands).toEqual([]);
    expect(state.nodes().map((n) => n.node)).toEqual(["leader", "web-1", "web-2"]);
  });

  it("skips members whose role is neither a server nor a client agent, and does not judge their nodes unknown", () => {
    const tool = (role: string | undefined): ReconcileMember => ({ ...member(`tool-${role ?? "none"}`, "alive"), tags: role === undefined ? {} : { role } });
    const members = [tool(undefined), tool("meshctl"), { ...member("gone-tool", "left"), tags: { role: "debug" } }];
    expect(plan({ members, catalog: [node("gone-tool", "passing")] }).commands).toEqual([]);
    for (const role of ["server", "client", "consul", "node"]) {
      expect(plan({ members: [{ ...member("m", "alive"), tags: { role } }] }).commands).toMatchObject([{ op: "catalog-register", node: "m" }]);
    }
  });
});

describe("planMemberReconcile with client agents (meshwork-registry agent)", () => {
  const client = (state: ReconcileMember["state"], stateChangedMs = 0): ReconcileMember => ({
    name: "app-1",
    address: "10.0.0.7:8301",
    state,
    stateChangedMs,
    tags: { role: "client", dc: "dc1" },
  });
  const setup = () => {
    const state = new RegistryState();
    let index = 0;
    const apply = (command: RegistryCommand) => expect(state.apply(++index, command, 0).ok).toBe(true);
    // What RegistryAgent sends (PUT /v1/catalog/register): its node with its own address and meta, a service and its check.
    const agentSync = () =>
      apply({
        op: "catalog-register",
        node: "app-1",
        address: "10.0.0.7",
        nodeMeta: { zone: "b" },
        service: { id: "api-1", service: "api", address: "", port: 9000, tags: [], meta: {} },
        checks: [{ checkId: "service:api-1", name: "api", serviceId: "api-1", status: "passing", output: "HTTP 200", type: "http" }],
      });
    const catalog = (): ReconcileCatalogNode[] =>
      state.nodes().map((n) => ({ node: n.node, address: n.address, meta: n.meta, serfHealth: state.nodeChecks(n.node).find((c) => c.checkId === serfCheckId && c.serviceId === undefined)?.status }));
    const reconcile = (members: readonly ReconcileMember[], nowMs = 1_000) => {
      const commands = plan({ members, catalog: catalog(), nowMs }).commands;
      for (const command of commands) apply(command);
      return commands;
    };
    const apiChecks = () => state.serviceInstances("api").map((instance) => instance.checks.map((c) => `${c.checkId}=${c.status}`).sort());
    return { state, agentSync, reconcile, apiChecks };
  };

  it("adds a passing serfHealth to the agent's node without touching its address, meta or services", () => {
    const { state, agentSync, reconcile, apiChecks } = setup();
    agentSync();
    expect(reconcile([client("alive")])).toMatchObject([{ op: "catalog-register", node: "app-1", address: "10.0.0.7", nodeMeta: { zone: "b" } }]);
    expect(apiChecks()).toEqual([["serfHealth=passing", "service:api-1=passing"]]);
    expect(state.nodes().find((n) => n.node === "app-1")).toMatchObject({ address: "10.0.0.7", meta: { zone: "b" } });
    // The agent's anti-entropy re-registration keeps serfHealth (it names only its own checks): nothing to do.
    agentSync();
    expect(reconcile([client("alive")])).toEqual([]);
  });

  it("takes a failed agent's services out of passing at once, back when it returns and re-registers, and reaps it after the reconnect timeout", () => {
    const { state, agentSync, reconcile, apiChecks } = setup();
    agentSync();
    reconcile([client("alive")]);
    expect(reconcile([client("dead", 1_000)], 2_000)).toMatchObject([{ op: "catalog-register", node: "app-1", checks: [{ checkId: serfCheckId, status: "critical" }] }]);
    expect(apiChecks()).toEqual([["serfHealth=critical", "service:api-1=passing"]]);
    expect(reconcile([client("dead", 1_000)], 3_000)).toEqual([]);
    // Restarted: it registers again (same node name) and gossip sees it alive.
    agentSync();
    reconcile([client("alive", 4_000)], 4_000);
    expect(apiChecks()).toEqual([["serfHealth=passing", "service:api-1=passing"]]);
    // Killed for good: deregistered with its services once failed for the reconnect timeout.
    reconcile([client("dead", 5_000)], 5_000);
    expect(reconcile([client("dead", 5_000)], 5_000 + 72 * hour)).toEqual([{ op: "catalog-deregister", node: "app-1" }]);
    expect(state.serviceInstances("api")).toEqual([]);
    expect(state.nodes().map((n) => n.node)).toEqual([]);
  });

  it("deregisters an agent that left gracefully, with whatever services it did not remove itself", () => {
    const { state, agentSync, reconcile } = setup();
    agentSync();
    reconcile([client("alive")]);
    expect(reconcile([client("left", 2_000)], 2_000)).toEqual([{ op: "catalog-deregister", node: "app-1" }]);
    expect(state.serviceInstances("api")).toEqual([]);
  });
});

describe("hostOf", () => {
  it("strips the port and IPv6 brackets", () => {
    expect(hostOf("10.0.0.5:8301")).toBe("10.0.0.5");
    expect(hostOf("[::1]:8301")).toBe("::1");
  });
});
