// `meshctl registry members|join|leave`: the registry's Raft membership through its Consul HTTP API
// (GET /v1/operator/raft/configuration and /v1/status/leader; PUT and DELETE /v1/operator/raft/peer;
// apps/registry, DESIGN.md §3.4). Any server will do: followers send membership changes on to the
// leader with a 307.

import { defineSettings } from "@meshwork/runtime";
import { formatRegistryMembers, parseRaftConfiguration, type RegistryMemberView } from "../core/format-registry-members.ts";
import { defineCommand, formatUsageError, type CommandContext } from "./command.ts";

/** Exit codes of the registry commands. */
const REGISTRY_EXIT = { ok: 0, failed: 1, usage: 2 } as const;
const EXIT_HELP = "Exit codes: 0 done, 1 the registry refused or cannot be reached, 2 usage error.";

const addrSetting = {
  registryAddr: {
    type: "string",
    default: "http://127.0.0.1:8500",
    env: "MESHWORK_REGISTRY_ADDR",
    valueName: "URL",
    description: "Consul HTTP API of any registry server (its --http-port).",
  },
} as const;

const membersSettings = defineSettings({
  ...addrSetting,
  output: { type: "string", short: "o", choices: ["text", "json"], default: "text", env: "MESHWORK_OUTPUT", description: "Output format." },
});
const joinSettings = defineSettings({
  ...addrSetting,
  id: { type: "string", required: true, valueName: "ID", description: "The new server's --node-id." },
  address: { type: "string", required: true, valueName: "HOST:PORT", description: "The new server's Raft address (its --advertise host and --raft-port)." },
});
const leaveSettings = defineSettings({
  ...addrSetting,
  id: { type: "string", required: true, valueName: "ID", description: "The --node-id of the server to remove." },
});

type Answer = { readonly ok: true; readonly status: number; readonly text: string } | { readonly ok: false; readonly message: string };

async function callRegistry(context: CommandContext, registryAddr: string, method: "GET" | "PUT" | "DELETE", path: string): Promise<Answer> {
  let url: URL;
  try {
    url = new URL(path, registryAddr);
  } catch {
    return { ok: false, message: `--registry-addr "${registryAddr}" is not a URL; use http://HOST:PORT (a registry server's --http-port)` };
  }
  try {
    const response = await context.io.fetch(url.href, { method, signal: context.signal });
    return { ok: true, status: response.status, text: await response.text() };
  } catch (error) {
    const inner = (error as { cause?: { code?: string; message?: string } }).cause;
    const cause = inner?.code ?? inner?.message ?? (error as Error).message;
    return { ok: false, message: `cannot reach the registry at ${url.origin} (${cause}); is a server running there, and is --registry-addr its --http-port?` };
  }
}

async function readMembers(context: CommandContext, registryAddr: string): Promise<{ ok: true; members: RegistryMemberView[]; leader: string } | { ok: false; message: string }> {
  const configuration = await callRegistry(context, registryAddr, "GET", "/v1/operator/raft/configuration");
  if (!configuration.ok) return configuration;
  if (configuration.status !== 200) return { ok: false, message: `the registry answered HTTP ${configuration.status}: ${configuration.text.trim()}` };
  let body: unknown;
  try {
    body = JSON.parse(configuration.text);
  } catch {
    return { ok: false, message: `${registryAddr} answered something other than JSON; is --registry-addr a registry server's --http-port?` };
  }
  const parsed = parseRaftConfiguration(body);
  if (!parsed.ok) return { ok: false, message: `unexpected /v1/operator/raft/configuration answer: ${parsed.detail}` };
  const leader = await callRegistry(context, registryAddr, "GET", "/v1/status/leader");
  if (!leader.ok) return leader;
  let leaderHttp = "";
  try {
    leaderHttp = leader.status === 200 ? String(JSON.parse(leader.text)) : "";
  } catch {
    leaderHttp = "";
  }
  return { ok: true, members: parsed.members, leader: leaderHttp };
}

export const registryMembersCommand = defineCommand({
  name: "registry members",
  summary: "List the registry's Raft servers: id, Raft address, role, and which one leads.",
  usage: "meshctl registry members [--registry-addr URL] [-o text|json]",
  description: "Asks a registry server for the Raft configuration (GET /v1/operator/raft/configuration) and the leader (GET /v1/status/leader).",
  footer: ["Examples:", "  meshctl registry members", "  MESHWORK_REGISTRY_ADDR=http://10.0.0.1:8500 meshctl registry members -o json", "", EXIT_HELP].join("\n"),
  settings: membersSettings,
  run: async (settings, context) => {
    const read = await readMembers(context, settings.registryAddr);
    if (!read.ok) {
      context.io.writeErr(formatUsageError("registry members", read.message));
      return REGISTRY_EXIT.failed;
    }
    const json = { members: read.members.map((m) => ({ id: m.ID, address: m.Address, role: m.Voter ? "voter" : "non-voter", leader: m.Leader })), leaderHttpAddress: read.leader };
    context.io.writeOut(settings.output === "json" ? `${JSON.stringify(json, null, 2)}\n` : formatRegistryMembers(read.members, read.leader));
    return REGISTRY_EXIT.ok;
  },
});

function validAddress(address: string): boolean {
  const match = /^(.+):(\d{1,5})$/.exec(address);
  const port = Number(match?.[2]);
  return match !== null && port >= 1 && port <= 65535 && !/\s|\//.test(match[1] ?? "");
}

/** Runs a membership change and explains the answer. */
async function changeMembership(context: CommandContext, command: string, registryAddr: string, method: "PUT" | "DELETE", path: string, done: string): Promise<number> {
  const answer = await callRegistry(context, registryAddr, method, path);
  if (!answer.ok) {
    context.io.writeErr(formatUsageError(command, answer.message));
    return REGISTRY_EXIT.failed;
  }
  if (answer.status !== 200) {
    context.io.writeErr(formatUsageError(command, `the registry answered HTTP ${answer.status}: ${answer.text.trim()}`));
    return answer.status === 400 ? REGISTRY_EXIT.usage : REGISTRY_EXIT.failed;
  }
  context.io.writeOut(`${done}\n`);
  return REGISTRY_EXIT.ok;
}

export const registryJoinCommand = defineCommand({
  name: "registry join",
  summary: "Add a server to the registry's Raft cluster (start it first with an empty --data-dir and no --peers).",
  usage: "meshctl registry join --id ID --address HOST:RAFT_PORT [--registry-addr URL]",
  description: [
    "Adds a voter (PUT /v1/operator/raft/peer?id=ID&address=HOST:PORT): the leader proposes the membership change and",
    "the new server catches up through the log or a snapshot. One change at a time; it returns once the change is applied.",
  ].join("\n"),
  footer: ["Examples:", "  meshctl registry join --id n4 --address 10.0.0.4:8300", "", EXIT_HELP].join("\n"),
  settings: joinSettings,
  run: async (settings, context) => {
    if (!validAddress(settings.address)) {
      context.io.writeErr(formatUsageError("registry join", `invalid --address "${settings.address}": use the new server's Raft address HOST:PORT, e.g. 10.0.0.4:8300`));
      return REGISTRY_EXIT.usage;
    }
    const query = new URLSearchParams({ id: settings.id, address: settings.address });
    return changeMembership(context, "registry join", settings.registryAddr, "PUT", `/v1/operator/raft/peer?${query}`, `Added server ${settings.id} (${settings.address}) to the registry.`);
  },
});

export const registryLeaveCommand = defineCommand({
  name: "registry leave",
  summary: "Remove a server from the registry's Raft cluster.",
  usage: "meshctl registry leave --id ID [--registry-addr URL]",
  description: [
    "Removes a member (DELETE /v1/operator/raft/peer?id=ID) so the quorum no longer counts it. Stop that server",
    "afterwards (a stopped server that is still a member keeps counting against the quorum).",
  ].join("\n"),
  footer: ["Examples:", "  meshctl registry leave --id n4", "", EXIT_HELP].join("\n"),
  settings: leaveSettings,
  run: async (settings, context) => {
    const read = await readMembers(context, settings.registryAddr);
    if (!read.ok) {
      context.io.writeErr(formatUsageError("registry leave", read.message));
      return REGISTRY_EXIT.failed;
    }
    if (!read.members.some((m) => m.ID === settings.id)) {
      const ids = read.members.map((m) => m.ID).join(", ");
      context.io.writeErr(formatUsageError("registry leave", `--id ${settings.id} is not a member of the registry (members: ${ids}); see meshctl registry members`));
      return REGISTRY_EXIT.usage;
    }
    const query = new URLSearchParams({ id: settings.id });
    return changeMembership(context, "registry leave", settings.registryAddr, "DELETE", `/v1/operator/raft/peer?${query}`, `Removed server ${settings.id} from the registry.`);
  },
});
