// What `meshctl registry autopilot get-config` prints and what `set-config` sends: the autopilot
// configuration as GET /v1/operator/autopilot/configuration answers it (Consul's
// api.AutopilotConfiguration), printed as `consul operator autopilot get-config` does ("Name = value"
// lines), and the changes the set-config flags ask for merged over it. Pure.

/** The fields the registry acts on, plus the index set-config passes back as ?cas=. */
export interface AutopilotConfigView {
  readonly CleanupDeadServers: boolean;
  readonly LastContactThreshold: string;
  readonly MaxTrailingLogs: number;
  readonly MinQuorum: number;
  readonly ServerStabilizationTime: string;
  readonly ModifyIndex: number;
}

/** What set-config changes; a field left out keeps the value read. */
export type AutopilotConfigChanges = Partial<Omit<AutopilotConfigView, "ModifyIndex">>;

type Fields = Record<string, unknown>;
const isFields = (value: unknown): value is Fields => typeof value === "object" && value !== null && !Array.isArray(value);

/** The configuration answer; undefined when `body` is not one. */
export function parseAutopilotConfig(body: unknown): AutopilotConfigView | undefined {
  if (!isFields(body)) return undefined;
  const { CleanupDeadServers, LastContactThreshold, MaxTrailingLogs, MinQuorum, ServerStabilizationTime, ModifyIndex } = body;
  if (typeof CleanupDeadServers !== "boolean" || typeof LastContactThreshold !== "string" || typeof ServerStabilizationTime !== "string") return undefined;
  if (typeof MaxTrailingLogs !== "number" || typeof MinQuorum !== "number" || typeof ModifyIndex !== "number") return undefined;
  return { CleanupDeadServers, LastContactThreshold, MaxTrailingLogs, MinQuorum, ServerStabilizationTime, ModifyIndex };
}

/** `Name = value` lines in Consul's order (the fields the registry does not support are left out). */
export function formatAutopilotConfig(config: AutopilotConfigView): string {
  return [
    `CleanupDeadServers = ${config.CleanupDeadServers}`,
    `LastContactThreshold = ${config.LastContactThreshold}`,
    `MaxTrailingLogs = ${config.MaxTrailingLogs}`,
    `MinQuorum = ${config.MinQuorum}`,
    `ServerStabilizationTime = ${config.ServerStabilizationTime}`,
    "",
  ].join("\n");
}

/**
 * The PUT body: the whole answer read (so fields this CLI does not know survive, as Consul's CLI
 * sends every field back) with `changes` over it and the indexes dropped (they go in ?cas=).
 */
export function mergeAutopilotConfig(read: Readonly<Fields>, changes: AutopilotConfigChanges): Fields {
  const { CreateIndex: _create, ModifyIndex: _modify, ...rest } = read;
  return { ...rest, ...changes };
}

/** Whether `text` is a Go duration the registry takes ("0", "200ms", "10s", "1m30s"). */
export function isGoDuration(text: string): boolean {
  return text === "0" || /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text);
}
