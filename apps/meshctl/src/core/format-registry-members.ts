// Formats the registry's Raft members (from /v1/operator/raft/configuration and /v1/status/leader)
// as the table `meshctl registry members` prints. Pure.

/** One server as the configuration endpoint lists it (Consul's shape). */
export interface RegistryMemberView {
  readonly ID: string;
  readonly Address: string;
  readonly Leader: boolean;
  readonly Voter: boolean;
}

/** Parses the configuration answer; a description of what is wrong when it is not Consul's shape. */
export function parseRaftConfiguration(body: unknown): { readonly ok: true; readonly members: RegistryMemberView[] } | { readonly ok: false; readonly detail: string } {
  const servers = (body as { Servers?: unknown } | null)?.Servers;
  if (!Array.isArray(servers)) return { ok: false, detail: "the answer has no Servers list" };
  const members: RegistryMemberView[] = [];
  for (const server of servers as unknown[]) {
    const s = server as Partial<Record<keyof RegistryMemberView, unknown>> | null;
    if (typeof s?.ID !== "string" || typeof s.Address !== "string") return { ok: false, detail: `a server without ID or Address: ${JSON.stringify(server)}` };
    members.push({ ID: s.ID, Address: s.Address, Leader: s.Leader === true, Voter: s.Voter !== false });
  }
  return { ok: true, members };
}

/** Columns ID, ADDRESS (Raft), ROLE (voter / non-voter), LEADER (*), then the leader's HTTP API address. */
export function formatRegistryMembers(members: readonly RegistryMemberView[], leaderHttp: string): string {
  const rows = [["ID", "ADDRESS", "ROLE", "LEADER"], ...members.map((m) => [m.ID, m.Address, m.Voter ? "voter" : "non-voter", m.Leader ? "*" : ""])];
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  const lines = rows.map((row) => row.map((cell, column) => (column < 3 ? cell.padEnd((widths[column] ?? 0) + 2) : cell)).join("").trimEnd());
  lines.push("", leaderHttp === "" ? "No leader known (election in progress, or no quorum)." : `Leader's HTTP API: ${leaderHttp}`);
  return `${lines.join("\n")}\n`;
}
