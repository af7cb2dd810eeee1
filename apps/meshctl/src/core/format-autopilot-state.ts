// What `meshctl registry autopilot state` prints: the leader's view of every server from GET
// /v1/operator/autopilot/health (Consul's api.OperatorHealthReply; `consul operator autopilot
// state` shows the same facts): overall health, failure tolerance, and a row per server. Pure.

export interface AutopilotServerView {
  readonly ID: string;
  readonly Name: string;
  readonly Address: string;
  readonly SerfStatus: string;
  readonly Leader: boolean;
  readonly LastContact: string;
  readonly LastIndex: number;
  readonly Healthy: boolean;
  readonly Voter: boolean;
}

export interface AutopilotStateView {
  readonly Healthy: boolean;
  readonly FailureTolerance: number;
  readonly Servers: readonly AutopilotServerView[];
}

type Fields = Record<string, unknown>;
const isFields = (value: unknown): value is Fields => typeof value === "object" && value !== null && !Array.isArray(value);

function parseServer(item: unknown): AutopilotServerView | undefined {
  if (!isFields(item)) return undefined;
  const { ID, Name, Address, SerfStatus, Leader, LastContact, LastIndex, Healthy, Voter } = item;
  if (typeof ID !== "string" || typeof Name !== "string" || typeof Address !== "string") return undefined;
  if (typeof Leader !== "boolean" || typeof Healthy !== "boolean" || typeof Voter !== "boolean") return undefined;
  return {
    ID,
    Name,
    Address,
    SerfStatus: typeof SerfStatus === "string" ? SerfStatus : "",
    Leader,
    LastContact: typeof LastContact === "string" ? LastContact : "",
    LastIndex: typeof LastIndex === "number" ? LastIndex : 0,
    Healthy,
    Voter,
  };
}

/** The health answer; undefined when `body` is not one. */
export function parseAutopilotState(body: unknown): AutopilotStateView | undefined {
  if (!isFields(body) || typeof body.Healthy !== "boolean" || typeof body.FailureTolerance !== "number" || !Array.isArray(body.Servers)) return undefined;
  const servers = (body.Servers as unknown[]).map(parseServer);
  if (servers.some((server) => server === undefined)) return undefined;
  return { Healthy: body.Healthy, FailureTolerance: body.FailureTolerance, Servers: servers as AutopilotServerView[] };
}

/** Two summary lines, then NAME, ID, ADDRESS, HEALTHY, VOTER, LEADER, LAST CONTACT, LAST INDEX. */
export function formatAutopilotState(state: AutopilotStateView): string {
  const rows = [
    ["NAME", "ID", "ADDRESS", "HEALTHY", "VOTER", "LEADER", "LAST CONTACT", "LAST INDEX"],
    ...state.Servers.map((s) => [s.Name, s.ID, s.Address, String(s.Healthy), String(s.Voter), String(s.Leader), s.LastContact === "" ? "-" : s.LastContact, String(s.LastIndex)]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  const table = rows.map((row) => row.map((cell, column) => (column < row.length - 1 ? cell.padEnd((widths[column] ?? 0) + 2) : cell)).join("").trimEnd());
  return [`Healthy: ${state.Healthy}`, `Failure tolerance: ${state.FailureTolerance}`, "", ...table, ""].join("\n");
}
