// `meshctl registry autopilot get-config|set-config|state`: the registry's autopilot (dead server
// cleanup, server health, promotion of new servers) through its Consul HTTP API, as `consul
// operator autopilot get-config|set-config|state` uses it (/v1/operator/autopilot/configuration
// and /health). Any server will do: followers forward these to the leader, where autopilot runs.
// set-config reads the configuration, changes the flagged fields and writes it back with ?cas= of
// the index read, so two operators changing it at once cannot overwrite each other unseen.

import { defineSettings } from "@meshwork/runtime";
import { formatAutopilotConfig, isGoDuration, mergeAutopilotConfig, parseAutopilotConfig, type AutopilotConfigChanges } from "../core/format-autopilot-config.ts";
import { formatAutopilotState, parseAutopilotState } from "../core/format-autopilot-state.ts";
import { defineCommand, formatUsageError, type CommandContext } from "./command.ts";
import { REGISTRY_EXIT, addrSetting, callRegistry, registryRefused } from "./registry-commands.ts";

const EXIT_HELP = "Exit codes: 0 done, 1 the registry refused or cannot be reached (or the configuration changed meanwhile), 2 usage error.";
const CONFIG_PATH = "/v1/operator/autopilot/configuration";
const outputSettings = defineSettings({
  ...addrSetting,
  output: { type: "string", short: "o", choices: ["text", "json"], default: "text", env: "MESHWORK_OUTPUT", description: "Output format." },
});
const setSettings = defineSettings({
  ...addrSetting,
  // A string with choices, not a switch: a switch defaults to false, and "not given" must keep the value read.
  cleanupDeadServers: { type: "string", choices: ["true", "false"], valueName: "BOOL", description: "Remove failed servers from the Raft configuration (CleanupDeadServers)." },
  lastContactThreshold: { type: "string", valueName: "DURATION", description: 'A server the leader has not heard from for longer is unhealthy, e.g. "200ms" (LastContactThreshold).' },
  maxTrailingLogs: { type: "number", integer: true, valueName: "N", description: "A server further behind the leader's log than N entries is unhealthy (MaxTrailingLogs)." },
  minQuorum: { type: "number", integer: true, valueName: "N", description: "Dead server cleanup never leaves fewer than N voters; 0 means no floor (MinQuorum)." },
  serverStabilizationTime: { type: "string", valueName: "DURATION", description: 'A new server becomes a voter after being healthy this long, e.g. "10s" (ServerStabilizationTime).' },
});

type Read = { ok: true; body: Record<string, unknown> } | { ok: false; code: number };

/** GET `path` (200, or also 429 for /health) as a JSON object, or writes why not and gives the exit code. */
async function readJson(context: CommandContext, command: string, registryAddr: string, path: string, accepted: readonly number[]): Promise<Read> {
  const answer = await callRegistry(context, registryAddr, "GET", path);
  if (!answer.ok) {
    context.io.writeErr(formatUsageError(command, answer.message));
    return { ok: false, code: REGISTRY_EXIT.failed };
  }
  if (!accepted.includes(answer.status)) return { ok: false, code: registryRefused(context, command, answer) };
  if (typeof answer.body !== "object" || answer.body === null || Array.isArray(answer.body)) {
    context.io.writeErr(formatUsageError(command, `${registryAddr} answered ${path} with something other than a JSON object; is --registry-addr a registry server's --http-port?`));
    return { ok: false, code: REGISTRY_EXIT.failed };
  }
  return { ok: true, body: answer.body as Record<string, unknown> };
}

function notUnderstood(context: CommandContext, command: string, path: string): number {
  context.io.writeErr(formatUsageError(command, `unexpected ${path} answer: not Consul's autopilot shape; is --registry-addr a registry server's --http-port?`));
  return REGISTRY_EXIT.failed;
}

export const registryAutopilotGetConfigCommand = defineCommand({
  name: "registry autopilot get-config",
  summary: `Show the registry's autopilot configuration (GET ${CONFIG_PATH}).`,
  usage: "meshctl registry autopilot get-config [--registry-addr URL] [-o text|json]",
  description: "Prints the autopilot settings the leader works with (consul operator autopilot get-config). -o json prints the registry's answer (Consul's JSON, with its CreateIndex and ModifyIndex).",
  footer: ["Examples:", "  meshctl registry autopilot get-config", "  meshctl registry autopilot get-config -o json", "", EXIT_HELP].join("\n"),
  settings: outputSettings,
  run: async (settings, context) => {
    const name = "registry autopilot get-config";
    const read = await readJson(context, name, settings.registryAddr, CONFIG_PATH, [200]);
    if (!read.ok) return read.code;
    const config = parseAutopilotConfig(read.body);
    if (config === undefined) return notUnderstood(context, name, CONFIG_PATH);
    context.io.writeOut(settings.output === "json" ? `${JSON.stringify(read.body, null, 2)}\n` : formatAutopilotConfig(config));
    return REGISTRY_EXIT.ok;
  },
});

export const registryAutopilotSetConfigCommand = defineCommand({
  name: "registry autopilot set-config",
  summary: `Change the registry's autopilot configuration (PUT ${CONFIG_PATH}?cas=).`,
  usage:
    "meshctl registry autopilot set-config [--cleanup-dead-servers true|false] [--last-contact-threshold DURATION] [--max-trailing-logs N] [--min-quorum N] [--server-stabilization-time DURATION] [--registry-addr URL]",
  description: [
    "Reads the configuration, changes the fields given by flags and writes it back only if nobody changed it",
    "in between (?cas= of the ModifyIndex read), as consul operator autopilot set-config does. Fields not",
    "flagged keep their value. The configuration lives in the leader's memory: a new leader starts from its own flags.",
  ].join("\n"),
  footer: ["Examples:", "  meshctl registry autopilot set-config --cleanup-dead-servers=false", "  meshctl registry autopilot set-config --server-stabilization-time 30s --min-quorum 3", "", EXIT_HELP].join("\n"),
  settings: setSettings,
  run: async (settings, context) => {
    const name = "registry autopilot set-config";
    const usage = (message: string): number => {
      context.io.writeErr(formatUsageError(name, message));
      return REGISTRY_EXIT.usage;
    };
    const changes: { -readonly [K in keyof AutopilotConfigChanges]: AutopilotConfigChanges[K] } = {};
    if (settings.cleanupDeadServers !== undefined) changes.CleanupDeadServers = settings.cleanupDeadServers === "true";
    for (const [flag, field, value] of [
      ["--last-contact-threshold", "LastContactThreshold", settings.lastContactThreshold],
      ["--server-stabilization-time", "ServerStabilizationTime", settings.serverStabilizationTime],
    ] as const) {
      if (value === undefined) continue;
      if (!isGoDuration(value)) return usage(`invalid ${flag} "${value}": use a duration such as "200ms", "10s" or "1m30s"`);
      changes[field] = value;
    }
    for (const [flag, field, value] of [
      ["--max-trailing-logs", "MaxTrailingLogs", settings.maxTrailingLogs],
      ["--min-quorum", "MinQuorum", settings.minQuorum],
    ] as const) {
      if (value === undefined) continue;
      if (value < 0) return usage(`invalid ${flag} ${value}: use a whole number ≥ 0`);
      changes[field] = value;
    }
    if (Object.keys(changes).length === 0) {
      return usage("nothing to change: give at least one of --cleanup-dead-servers, --last-contact-threshold, --max-trailing-logs, --min-quorum, --server-stabilization-time");
    }

    const read = await readJson(context, name, settings.registryAddr, CONFIG_PATH, [200]);
    if (!read.ok) return read.code;
    const current = parseAutopilotConfig(read.body);
    if (current === undefined) return notUnderstood(context, name, CONFIG_PATH);
    const answer = await callRegistry(context, settings.registryAddr, "PUT", `${CONFIG_PATH}?cas=${current.ModifyIndex}`, mergeAutopilotConfig(read.body, changes));
    if (!answer.ok) {
      context.io.writeErr(formatUsageError(name, answer.message));
      return REGISTRY_EXIT.failed;
    }
    if (answer.status !== 200) return registryRefused(context, name, answer);
    if (answer.body !== true) {
      // The compare-and-set lost: someone changed the configuration after it was read.
      context.io.writeErr(formatUsageError(name, "the configuration changed while this command ran and was not updated; run it again"));
      return REGISTRY_EXIT.failed;
    }
    context.io.writeOut("Configuration updated.\n");
    return REGISTRY_EXIT.ok;
  },
});

export const registryAutopilotStateCommand = defineCommand({
  name: "registry autopilot state",
  summary: "Show the health of the registry's servers as autopilot on the leader sees them (GET /v1/operator/autopilot/health).",
  usage: "meshctl registry autopilot state [--registry-addr URL] [-o text|json]",
  description: [
    "Prints whether the cluster is healthy, how many servers it can lose (failure tolerance), and per server its name, id,",
    "Raft address, health, voter and leader status, when the leader last heard from it and its last log index",
    "(consul operator autopilot state). An unhealthy cluster is printed too (the registry answers it with HTTP 429).",
  ].join("\n"),
  footer: ["Examples:", "  meshctl registry autopilot state", "  meshctl registry autopilot state -o json", "", EXIT_HELP].join("\n"),
  settings: outputSettings,
  run: async (settings, context) => {
    const name = "registry autopilot state";
    const path = "/v1/operator/autopilot/health";
    const read = await readJson(context, name, settings.registryAddr, path, [200, 429]);
    if (!read.ok) return read.code;
    const state = parseAutopilotState(read.body);
    if (state === undefined) return notUnderstood(context, name, path);
    context.io.writeOut(settings.output === "json" ? `${JSON.stringify(read.body, null, 2)}\n` : formatAutopilotState(state));
    return REGISTRY_EXIT.ok;
  },
});
