// What the catalog must change so that it agrees with the gossip pool (Consul's leader reconcile,
// agent/consul/leader.go: handleAliveMember / handleFailedMember / handleLeftMember /
// reconcileReaped). Pure: the leader's adapter (member-reconciler.ts) passes the members it sees,
// the catalog's nodes and the time, and proposes the commands returned through Raft.
import type { CatalogNode, HealthStatus, RegistryCommand } from "../registry-contract.ts";

/** Consul's check id and name for gossip health (structs.SerfCheckID / SerfCheckName). */
export const serfCheckId = "serfHealth";
export const serfCheckName = "Serf Health Status";
export const serfAliveOutput = "Agent alive and reachable";
export const serfFailedOutput = "Agent not live or unreachable";

/**
 * The `role` tags of members the catalog reflects: our servers ("server") and client agents
 * ("client"), and Consul's names for them ("consul", "node"). Others (tools, members of another
 * kind) are known to gossip but get no catalog node (Consul's shouldHandleMember).
 */
export const reconciledRoles: ReadonlySet<string> = new Set(["server", "client", "consul", "node"]);

/** A gossip member as the leader sees it (the part of @meshwork/gossip's MemberView used here). */
export interface ReconcileMember {
  readonly name: string;
  /** Gossip address, "host:port". */
  readonly address: string;
  readonly state: "alive" | "suspect" | "dead" | "left";
  /** When the leader saw the state change (ms of `nowMs`'s clock). */
  readonly stateChangedMs: number;
  readonly tags: Readonly<Record<string, string>>;
}

/** A catalog node with the status of its serfHealth check (undefined: no such check). */
export interface ReconcileCatalogNode {
  readonly node: string;
  readonly address: string;
  readonly meta: CatalogNode["meta"];
  readonly serfHealth: HealthStatus | undefined;
}

export interface ReconcileInput {
  /** Every member the leader's gossip core knows, itself included (alive, suspect, dead or left). */
  readonly members: readonly ReconcileMember[];
  readonly catalog: readonly ReconcileCatalogNode[];
  /** The leader's own member name (never deregistered by itself). */
  readonly selfName: string;
  readonly nowMs: number;
  /** A failed member's node is deregistered this long after it failed (Consul reconnect_timeout). */
  readonly reconnectTimeoutMs: number;
  /**
   * Nodes with a serfHealth check whose member the leader does not know (reaped by gossip, or never
   * seen by this leader), and since when (leader-local bookkeeping, reset with leadership).
   */
  readonly unknownSinceMs: ReadonlyMap<string, number>;
  /**
   * False while this member may not know the pool yet (just started, still joining): nodes with a
   * serfHealth check but no member are then left alone instead of going critical. Default true.
   */
  readonly judgeUnknown?: boolean;
}

/** The catalog writes a reconcile makes. */
export type ReconcileCommand = Extract<RegistryCommand, { readonly op: "catalog-register" | "catalog-deregister" }>;

export interface ReconcilePlan {
  /** Raft writes, in order; applying all of them makes the next plan empty (until time passes). */
  readonly commands: readonly ReconcileCommand[];
  /** The next `unknownSinceMs` to pass in. */
  readonly unknownSinceMs: ReadonlyMap<string, number>;
}

/** The host of a gossip address ("10.0.0.5:8301" → "10.0.0.5", "[::1]:8301" → "::1"). */
export function hostOf(address: string): string {
  const colon = address.lastIndexOf(":");
  const host = colon > 0 ? address.slice(0, colon) : address;
  return host.replace(/^\[|\]$/g, "");
}

function serfCheck(status: HealthStatus): NonNullable<Extract<RegistryCommand, { op: "catalog-register" }>["checks"]>[number] {
  return { checkId: serfCheckId, name: serfCheckName, serviceId: undefined, status, output: status === "passing" ? serfAliveOutput : serfFailedOutput, type: "serf" };
}

/** Registers (or re-registers) `name` with serfHealth `status`, keeping the node's address and meta when it exists. */
function registerWith(name: string, known: ReconcileCatalogNode | undefined, fallbackAddress: string, status: HealthStatus): ReconcileCommand {
  return { op: "catalog-register", node: name, address: known?.address ?? fallbackAddress, nodeMeta: { ...(known?.meta ?? {}) }, checks: [serfCheck(status)] };
}

/**
 * The catalog changes the membership implies:
 * - alive (or suspect: not failed yet) member → its node with serfHealth passing (registered if new);
 * - failed member → its node's serfHealth critical at once, the node deregistered once the member
 *   has been failed for `reconnectTimeoutMs` (a failed member not in the catalog is left alone);
 * - member that left → its node deregistered (never the leader's own);
 * - node with a serfHealth check but no member → critical at once, deregistered after
 *   `reconnectTimeoutMs` of not being known (Consul reconcileReaped).
 * Nodes without a serfHealth check that no member names (registered through the catalog API) are
 * not touched. Members whose `role` tag is not in `reconciledRoles` are skipped (their node, if any,
 * is left alone: the member is known, so it is not judged "unknown" either). Servers and client
 * agents are otherwise treated alike: a client's catalog node is the one its services live on, so
 * its failure takes them out of ?passing through the node-level serfHealth check.
 */
export function planMemberReconcile(input: ReconcileInput): ReconcilePlan {
  const catalog = new Map(input.catalog.map((node) => [node.node, node]));
  const members = new Map(input.members.map((member) => [member.name, member]));
  const commands: ReconcileCommand[] = [];
  const deregister = (node: string): void => void commands.push({ op: "catalog-deregister", node });

  for (const member of [...members.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!reconciledRoles.has(member.tags["role"] ?? "")) continue;
    const known = catalog.get(member.name);
    switch (member.state) {
      case "alive":
      case "suspect":
        if (known?.serfHealth !== "passing") commands.push(registerWith(member.name, known, hostOf(member.address), "passing"));
        break;
      case "dead":
        if (known === undefined || member.name === input.selfName) break;
        if (input.nowMs - member.stateChangedMs >= input.reconnectTimeoutMs) deregister(member.name);
        else if (known.serfHealth !== "critical") commands.push(registerWith(member.name, known, hostOf(member.address), "critical"));
        break;
      case "left":
        if (known !== undefined && member.name !== input.selfName) deregister(member.name);
        break;
    }
  }

  const unknownSinceMs = new Map<string, number>();
  for (const node of [...catalog.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))) {
    if (node.serfHealth === undefined || members.has(node.node) || node.node === input.selfName) continue;
    if (input.judgeUnknown === false) {
      const since = input.unknownSinceMs.get(node.node);
      if (since !== undefined) unknownSinceMs.set(node.node, since);
      continue;
    }
    const since = input.unknownSinceMs.get(node.node) ?? input.nowMs;
    if (input.nowMs - since >= input.reconnectTimeoutMs) {
      deregister(node.node);
      continue;
    }
    unknownSinceMs.set(node.node, since);
    if (node.serfHealth !== "critical") commands.push(registerWith(node.node, node, node.address, "critical"));
  }
  return { commands, unknownSinceMs };
}
