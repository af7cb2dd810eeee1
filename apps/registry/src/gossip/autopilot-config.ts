// Autopilot's settings (Consul's autopilot stanza and /v1/operator/autopilot/configuration): the
// domain type with durations in ms, Consul's defaults, and the JSON shape both ways (durations as
// Go duration strings, "200ms", "10s").
import { badRequest } from "../http/http-error.ts";

export interface AutopilotConfig {
  /** Remove failed servers from the Raft configuration (Consul's CleanupDeadServers, default true). */
  readonly cleanupDeadServers: boolean;
  /** A server not heard from by the leader for longer is unhealthy (LastContactThreshold, 200 ms). */
  readonly lastContactThresholdMs: number;
  /** A server further behind the leader's log is unhealthy (MaxTrailingLogs, 250). */
  readonly maxTrailingLogs: number;
  /** Dead server cleanup never leaves fewer voters than this (MinQuorum, 0: no floor). */
  readonly minQuorum: number;
  /** A new server is promoted to voter after being healthy this long (ServerStabilizationTime, 10 s). */
  readonly serverStabilizationTimeMs: number;
}

export const DEFAULT_AUTOPILOT_CONFIG: AutopilotConfig = {
  cleanupDeadServers: true,
  lastContactThresholdMs: 200,
  maxTrailingLogs: 250,
  minQuorum: 0,
  serverStabilizationTimeMs: 10_000,
};

/** A Go duration string as Consul prints one ("0s", "200ms", "10s", "1m30s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = (ms % 60_000) / 1000;
  return `${minutes > 0 ? `${minutes}m` : ""}${seconds > 0 || minutes === 0 ? `${seconds}s` : ""}`;
}

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration ("250ms", "10s", "1m30s") into ms; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return undefined;
  return Math.round(parts.reduce((sum, [, value, unit]) => sum + Number(value) * (UNIT_MS[unit as string] as number), 0));
}

/** The configuration in Consul's JSON shape (api.AutopilotConfiguration). */
export function encodeAutopilotConfig(config: AutopilotConfig, index: { readonly createIndex: number; readonly modifyIndex: number }): Record<string, string | number | boolean> {
  return {
    CleanupDeadServers: config.cleanupDeadServers,
    LastContactThreshold: formatDuration(config.lastContactThresholdMs),
    MaxTrailingLogs: config.maxTrailingLogs,
    MinQuorum: config.minQuorum,
    ServerStabilizationTime: formatDuration(config.serverStabilizationTimeMs),
    RedundancyZoneTag: "",
    DisableUpgradeMigration: false,
    UpgradeVersionTag: "",
    CreateIndex: index.createIndex,
    ModifyIndex: index.modifyIndex,
  };
}

/**
 * Reads a PUT body in Consul's shape over `current`: fields left out keep their value (Consul
 * takes the body as the whole configuration; the API client always sends every field). Throws a
 * 400 naming the field and the expected form.
 */
export function parseAutopilotConfig(body: unknown, current: AutopilotConfig): AutopilotConfig {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badRequest('PUT /v1/operator/autopilot/configuration needs a JSON object, e.g. {"CleanupDeadServers": false}');
  }
  const fields = body as Record<string, unknown>;
  const bool = (name: string, fallback: boolean): boolean => {
    const value = fields[name];
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") throw badRequest(`autopilot configuration: ${name} must be true or false, got ${JSON.stringify(value)}`);
    return value;
  };
  const count = (name: string, fallback: number): number => {
    const value = fields[name];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw badRequest(`autopilot configuration: ${name} must be a whole number ≥ 0, got ${JSON.stringify(value)}`);
    return value;
  };
  const duration = (name: string, fallback: number): number => {
    const value = fields[name];
    if (value === undefined) return fallback;
    // Consul's API client sends durations as strings; a number is nanoseconds (Go's encoding).
    const ms = typeof value === "string" ? parseDuration(value) : typeof value === "number" && value >= 0 ? Math.round(value / 1e6) : undefined;
    if (ms === undefined) throw badRequest(`autopilot configuration: ${name} must be a duration such as "200ms" or "10s", got ${JSON.stringify(value)}`);
    return ms;
  };
  return {
    cleanupDeadServers: bool("CleanupDeadServers", current.cleanupDeadServers),
    lastContactThresholdMs: duration("LastContactThreshold", current.lastContactThresholdMs),
    maxTrailingLogs: count("MaxTrailingLogs", current.maxTrailingLogs),
    minQuorum: count("MinQuorum", current.minQuorum),
    serverStabilizationTimeMs: duration("ServerStabilizationTime", current.serverStabilizationTimeMs),
  };
}
