// `meshctl proxy-status` and `meshctl proxy-config`: what the control plane pushed to each proxy and
// whether the proxy took it (its /debug/syncz and /debug/config_dump, DESIGN.md §3.2). A proxy is
// connected to one replica; proxy-status asks every replica given, proxy-config finds the one.
import { defineSettings } from "@meshwork/runtime";
import { formatProxyStatus, type SynczEntry } from "../core/format-proxy-status.ts";
import { callJsonApi, errorOf } from "./call-json-api.ts";
import { defineCommand, formatUsageError } from "./command.ts";
import { controlPlaneTarget } from "./config-commands.ts";

const PROXY_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const replicasSetting = {
  controlPlane: {
    type: "list",
    default: ["http://127.0.0.1:15014"],
    env: "MESHWORK_CONTROL_PLANE",
    valueName: "URL",
    description: "Admin port of each control-plane replica (its --admin-port); proxies connect to any one of them.",
  },
} as const;

const statusSettings = defineSettings({
  ...replicasSetting,
  output: { type: "string", short: "o", choices: ["table", "json"], default: "table", env: "MESHWORK_OUTPUT", valueName: "FORMAT", description: "Output format." },
});

export const proxyStatusCommand = defineCommand({
  name: "proxy-status",
  summary: "Show each proxy's config sync state (SYNCED / STALE / NACKED) per resource type.",
  usage: "meshctl proxy-status [--control-plane URL,...] [-o table|json]",
  description: [
    "Asks every control-plane replica for the proxies connected to it (/debug/syncz): SYNCED means the proxy ACKed",
    "the last config sent, STALE that it has not answered yet, NACKED that it rejected it (and keeps its last good",
    "config); the NACK errors are listed under the table. REVISION is the config revision (GET /api/v1/config) the",
    "replica last computed the proxy's config from: until a debounced push starts, a proxy is SYNCED at the one before.",
  ].join("\n"),
  footer: ["Examples:", "  meshctl proxy-status", "  meshctl proxy-status --control-plane http://127.0.0.1:15014,http://127.0.0.1:15114", "", "Exit codes: 0 printed (1 when a proxy is NACKED or a replica cannot be reached), 2 usage error."].join("\n"),
  settings: statusSettings,
  run: async (settings, context) => {
    const entries: SynczEntry[] = [];
    let failed = false;
    for (const base of settings.controlPlane) {
      const answer = await callJsonApi(context, controlPlaneTarget(base), "GET", "/debug/syncz");
      if (!answer.ok || answer.status !== 200 || !Array.isArray(answer.body)) {
        failed = true;
        context.io.writeErr(formatUsageError("proxy-status", answer.ok ? `${base}: HTTP ${answer.status}: ${errorOf(answer.body)}` : answer.message));
        continue;
      }
      entries.push(...(answer.body as SynczEntry[]));
    }
    context.io.writeOut(settings.output === "json" ? `${JSON.stringify(entries, null, 2)}\n` : formatProxyStatus(entries));
    return failed || entries.some((e) => e.state === "NACKED") ? PROXY_EXIT.failed : PROXY_EXIT.ok;
  },
});

/** `proxy-config` sections → the resource type in the config dump. */
const sections = { clusters: "cluster", endpoints: "endpoints", listeners: "listener", routes: "routeTable", secrets: "trustBundle", all: undefined } as const;
type Section = keyof typeof sections;

const configSettings = defineSettings({
  ...replicasSetting,
  output: { type: "string", short: "o", choices: ["short", "json"], default: "short", env: "MESHWORK_OUTPUT", valueName: "FORMAT", description: "short: one line per resource; json: the resources as pushed." },
});

export const proxyConfigCommand = defineCommand({
  name: "proxy-config",
  summary: "Show the config the control plane pushed to one proxy: clusters, endpoints, listeners, routes, secrets.",
  usage: "meshctl proxy-config PROXY [clusters|endpoints|listeners|routes|secrets|all] [--control-plane URL,...] [-o short|json]",
  description: "Reads /debug/config_dump?proxy=PROXY from the replica the proxy is connected to (PROXY is its node id, as proxy-status lists it).",
  footer: ["Examples:", "  meshctl proxy-config reviews-v1-7f9c routes", "  meshctl proxy-config productpage-v1-1 clusters -o json", "", "Exit codes: 0 printed, 1 the proxy is not connected to any replica given, 2 usage error."].join("\n"),
  settings: configSettings,
  positionals: { min: 1, max: 2 },
  run: async (settings, context, args) => {
    const [proxy = "", sectionName = "all"] = args;
    if (!(sectionName in sections)) {
      context.io.writeErr(formatUsageError("proxy-config", `unknown section "${sectionName}"; use one of ${Object.keys(sections).join(", ")}`));
      return PROXY_EXIT.usage;
    }
    const type = sections[sectionName as Section];
    const reasons: string[] = [];
    for (const base of settings.controlPlane) {
      const format = settings.output === "short" ? "&format=text" : "";
      const answer = await callJsonApi(context, controlPlaneTarget(base), "GET", `/debug/config_dump?proxy=${encodeURIComponent(proxy)}${format}`);
      if (!answer.ok || answer.status !== 200) {
        reasons.push(answer.ok ? `${base}: ${errorOf(answer.body)}` : answer.message);
        continue;
      }
      if (settings.output === "short") {
        const prefix = type === undefined ? undefined : shortPrefix[type];
        const lines = String(answer.body).split("\n").filter((line) => line !== "" && (prefix === undefined || line.startsWith(`${prefix} `)));
        context.io.writeOut(lines.length > 0 ? `${lines.join("\n")}\n` : `No ${sectionName} pushed to ${proxy}.\n`);
      } else {
        const resources = (answer.body as { resources: Record<string, unknown> }).resources;
        context.io.writeOut(`${JSON.stringify(type === undefined ? resources : resources[type], null, 2)}\n`);
      }
      return PROXY_EXIT.ok;
    }
    context.io.writeErr(formatUsageError("proxy-config", `proxy "${proxy}" was not found:\n${reasons.map((r) => `  ${r}`).join("\n")}\nRun "meshctl proxy-status" for the connected proxies.`));
    return PROXY_EXIT.failed;
  },
});

/** The first word of each type's lines in the control plane's text dump. */
const shortPrefix = { cluster: "cluster", endpoints: "endpoints", listener: "listener", routeTable: "routes", trustBundle: "trust-bundle" } as const;
