// `meshctl registry members|join|leave`: the registry's Raft membership through its Consul HTTP API
// (GET /v1/operator/raft/configuration and /v1/status/leader; PUT and DELETE /v1/operator/raft/peer;
// apps/registry, DESIGN.md §3.4), and its gossip pool (GET /v1/agent/members: status and protocol
// of every member; `join --id` finds a server's Raft address in its gossip tags). Any server will
// do: followers send membership changes on to the leader with a 307.

import { defineSettings } from "@meshwork/runtime";
import { formatRegistryMembers, parseRaftConfiguration, type RegistryMemberView } from "../core/format-registry-members.ts";
import { callJsonApi, errorOf, type JsonAnswer } from "./call-json-api.ts";
import { defineCommand, formatUsageError, type CommandContext } from "./command.ts";

/** Exit codes of the registry commands (the snapshot commands too). */
export const REGISTRY_EXIT = { ok: 0, failed: 1, usage: 2 } as const;
const EXIT_HELP = "Exit codes: 0 done, 1 the registry refused or cannot be reached, 2 usage error.";

/** `--registry-addr`, shared by every registry command. */
export const addrSetting = {
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
  address: {
    type: "string",
    valueName: "HOST:PORT",
    description: "The new server's Raft address (its --advertise host and --raft-port). Default: the raft_addr tag of the gossip member with this id (the new server joined the gossip pool with --retry-join).",
  },
});
const leaveSettings = defineSettings({
  ...addrSetting,
  id: { type: "string", required: true, valueName: "ID", description: "The --node-id of the server to remove." },
});

/** One call to a registry server's HTTP API (`body` sent as JSON); failures are one sentence naming the fix. */
export function callRegistry(context: CommandContext, registryAddr: string, method: "GET" | "POST" | "PUT" | "DELETE", path: string, body?: unknown): Promise<JsonAnswer> {
  return callJsonApi(context, { base: registryAddr, flag: "--registry-addr", what: "the registry" }, method, path, body === undefined ? {} : { body: JSON.stringify(body) });
}

/** Writes the registry's refusal; its exit code: a 400 is a usage error, the rest (404, 500: a member failed…) a failure. */
export function registryRefused(context: CommandContext, command: string, answer: { readonly status: number; readonly body: unknown }): number {
  context.io.writeErr(formatUsageError(command, `the registry answered HTTP ${answer.status}: ${errorOf(answer.body)}`));
  return answer.status === 400 ? REGISTRY_EXIT.usage : REGISTRY_EXIT.failed;
}

/** A gossip member as GET /v1/agent/members answers it (Consul's api.AgentMember). */
export interface GossipMemberView {
  readonly Name: string;
  readonly Addr: string;
  readonly Port: number;
  readonly Tags: Readonly<Record<string, string>>;
  readonly Status: number;
  readonly ProtocolMin: number;
  readonly ProtocolMax: number;
  readonly ProtocolCur: number;
  readonly DelegateMin: number;
  readonly DelegateMax: number;
  readonly DelegateCur: number;
}

/** serf's member status names by number. */
const STATUS_NAMES: Readonly<Record<number, string>> = { 0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed" };

export function gossipStatusName(status: number): string {
  return STATUS_NAMES[status] ?? `unknown(${status})`;
}

/** Parses /v1/agent/members; undefined when the answer is not a list of members. */
export function parseAgentMembers(body: unknown): GossipMemberView[] | undefined {
  if (!Array.isArray(body)) return undefined;
  const out: GossipMemberView[] = [];
  const num = (value: unknown): number => (typeof value === "number" ? value : 0);
  for (const item of body as unknown[]) {
    const m = item as Record<string, unknown> | null;
    if (typeof m?.["Name"] !== "string" || typeof m["Addr"] !== "string") return undefined;
    const tags = typeof m["Tags"] === "object" && m["Tags"] !== null ? (m["Tags"] as Record<string, unknown>) : {};
    out.push({
      Name: m["Name"],
      Addr: m["Addr"],
      Port: num(m["Port"]),
      Tags: Object.fromEntries(Object.entries(tags).filter((e): e is [string, string] => typeof e[1] === "string")),
      Status: num(m["Status"]),
      ProtocolMin: num(m["ProtocolMin"]),
      ProtocolMax: num(m["ProtocolMax"]),
      ProtocolCur: num(m["ProtocolCur"]),
      DelegateMin: num(m["DelegateMin"]),
      DelegateMax: num(m["DelegateMax"]),
      DelegateCur: num(m["DelegateCur"]),
    });
  }
  return out;
}

/** Columns NAME, ADDRESS (gossip), STATUS, ROLE (tag), PROTOCOL (cur, min–max), DELEGATE (cur, min–max). */
export function formatGossipMembers(members: readonly GossipMemberView[]): string {
  const rows = [
    ["NAME", "ADDRESS", "STATUS", "ROLE", "PROTOCOL", "DELEGATE"],
    ...members.map((m) => [
      m.Name,
      `${m.Addr.includes(":") ? `[${m.Addr}]` : m.Addr}:${m.Port}`,
      gossipStatusName(m.Status),
      m.Tags["role"] ?? "",
      `${m.ProtocolCur} (${m.ProtocolMin}-${m.ProtocolMax})`,
      `${m.DelegateCur} (${m.DelegateMin}-${m.DelegateMax})`,
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return `${rows.map((row) => row.map((cell, column) => (column < row.length - 1 ? cell.padEnd((widths[column] ?? 0) + 2) : cell)).join("").trimEnd()).join("\n")}\n`;
}

/**
 * The gossip pool as a server sees it; undefined when that server runs without gossip (it lists
 * only itself, with no gossip port) or does not answer the endpoint.
 */
async function readGossipMembers(context: CommandContext, registryAddr: string): Promise<GossipMemberView[] | undefined> {
  const answer = await callRegistry(context, registryAddr, "GET", "/v1/agent/members");
  if (!answer.ok || answer.status !== 200) return undefined;
  const members = parseAgentMembers(answer.body);
  return members !== undefined && members.some((m) => m.Port > 0) ? members : undefined;
}

async function readMembers(context: CommandContext, registryAddr: string): Promise<{ ok: true; members: RegistryMemberView[]; leader: string } | { ok: false; message: string }> {
  const configuration = await callRegistry(context, registryAddr, "GET", "/v1/operator/raft/configuration");
  if (!configuration.ok) return configuration;
  if (configuration.status !== 200) return { ok: false, message: `the registry answered HTTP ${configuration.status}: ${errorOf(configuration.body)}` };
  if (typeof configuration.body === "string") return { ok: false, message: `${registryAddr} answered something other than JSON; is --registry-addr a registry server's --http-port?` };
  const parsed = parseRaftConfiguration(configuration.body);
  if (!parsed.ok) return { ok: false, message: `unexpected /v1/operator/raft/configuration answer: ${parsed.detail}` };
  const leader = await callRegistry(context, registryAddr, "GET", "/v1/status/leader");
  if (!leader.ok) return leader;
  const leaderHttp = leader.status === 200 && typeof leader.body === "string" ? leader.body : "";
  return { ok: true, members: parsed.members, leader: leaderHttp };
}

export const registryMembersCommand = defineCommand({
  name: "registry members",
  summary: "List the registry's Raft servers (id, Raft address, role, leader) and its gossip members (status, protocol).",
  usage: "meshctl registry members [--registry-addr URL] [-o text|json]",
  description: [
    "Asks a registry server for the Raft configuration (GET /v1/operator/raft/configuration), the leader (GET /v1/status/leader)",
    "and, when it runs gossip (--gossip-port), the members of its gossip pool as it sees them (GET /v1/agent/members).",
  ].join("\n"),
  footer: ["Examples:", "  meshctl registry members", "  MESHWORK_REGISTRY_ADDR=http://10.0.0.1:8500 meshctl registry members -o json", "", EXIT_HELP].join("\n"),
  settings: membersSettings,
  run: async (settings, context) => {
    const read = await readMembers(context, settings.registryAddr);
    if (!read.ok) {
      context.io.writeErr(formatUsageError("registry members", read.message));
      return REGISTRY_EXIT.failed;
    }
    const gossip = await readGossipMembers(context, settings.registryAddr);
    const json = {
      members: read.members.map((m) => ({ id: m.ID, address: m.Address, role: m.Voter ? "voter" : "non-voter", leader: m.Leader })),
      leaderHttpAddress: read.leader,
      ...(gossip !== undefined
        ? {
            gossip: gossip.map((m) => ({
              name: m.Name,
              address: `${m.Addr}:${m.Port}`,
              status: gossipStatusName(m.Status),
              tags: m.Tags,
              protocol: { min: m.ProtocolMin, max: m.ProtocolMax, current: m.ProtocolCur },
              delegate: { min: m.DelegateMin, max: m.DelegateMax, current: m.DelegateCur },
            })),
          }
        : {}),
    };
    const text = formatRegistryMembers(read.members, read.leader) + (gossip !== undefined ? `\nGossip members:\n${formatGossipMembers(gossip)}` : "");
    context.io.writeOut(settings.output === "json" ? `${JSON.stringify(json, null, 2)}\n` : text);
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
    context.io.writeErr(formatUsageError(command, `the registry answered HTTP ${answer.status}: ${errorOf(answer.body)}`));
    return answer.status === 400 ? REGISTRY_EXIT.usage : REGISTRY_EXIT.failed;
  }
  context.io.writeOut(`${done}\n`);
  return REGISTRY_EXIT.ok;
}

export const registryJoinCommand = defineCommand({
  name: "registry join",
  summary: "Add a server to the registry's Raft cluster (start it first with an empty --data-dir and no --peers).",
  usage: "meshctl registry join --id ID [--address HOST:RAFT_PORT] [--registry-addr URL]",
  description: [
    "Adds a voter (PUT /v1/operator/raft/peer?id=ID&address=HOST:PORT): the leader proposes the membership change and",
    "the new server catches up through the log or a snapshot. One change at a time; it returns once the change is applied.",
    "Without --address, the Raft address comes from the gossip pool: the alive server member whose id tag is ID.",
  ].join("\n"),
  footer: ["Examples:", "  meshctl registry join --id n4 --address 10.0.0.4:8300", "  meshctl registry join --id n4   # n4 runs with --retry-join 10.0.0.1:8301", "", EXIT_HELP].join("\n"),
  settings: joinSettings,
  run: async (settings, context) => {
    let address = settings.address;
    if (address === undefined) {
      const discovered = await discoverServer(context, settings.registryAddr, settings.id);
      if (!discovered.ok) {
        context.io.writeErr(formatUsageError("registry join", discovered.message));
        return discovered.code;
      }
      address = discovered.raftAddress;
    }
    if (!validAddress(address)) {
      context.io.writeErr(formatUsageError("registry join", `invalid --address "${address}": use the new server's Raft address HOST:PORT, e.g. 10.0.0.4:8300`));
      return REGISTRY_EXIT.usage;
    }
    const query = new URLSearchParams({ id: settings.id, address });
    return changeMembership(context, "registry join", settings.registryAddr, "PUT", `/v1/operator/raft/peer?${query}`, `Added server ${settings.id} (${address}) to the registry.`);
  },
});

/** The Raft address of the alive gossip member that is server `id` (its role, id and raft_addr tags). */
async function discoverServer(
  context: CommandContext,
  registryAddr: string,
  id: string,
): Promise<{ ok: true; raftAddress: string } | { ok: false; code: number; message: string }> {
  const gossip = await readGossipMembers(context, registryAddr);
  if (gossip === undefined) {
    return { ok: false, code: REGISTRY_EXIT.usage, message: `--address is needed: the registry at ${registryAddr} runs without gossip (start the servers with --gossip-port), so server ${id} cannot be found by its tags` };
  }
  const member = gossip.find((m) => m.Tags["role"] === "server" && (m.Tags["id"] ?? m.Name) === id);
  if (member === undefined || member.Status !== 1 || member.Tags["raft_addr"] === undefined) {
    const servers = gossip.filter((m) => m.Tags["role"] === "server").map((m) => `${m.Tags["id"] ?? m.Name} (${gossipStatusName(m.Status)})`);
    const why = member === undefined ? "no gossip member is server" : member.Status !== 1 ? `gossip member ${member.Name} is ${gossipStatusName(member.Status)}, not alive, for server` : "the gossip member has no raft_addr tag for server";
    return {
      ok: false,
      code: REGISTRY_EXIT.usage,
      message: `${why} ${id} (servers in the pool: ${servers.join(", ") || "none"}); start it with --retry-join pointing at this pool, or give --address HOST:RAFT_PORT`,
    };
  }
  return { ok: true, raftAddress: member.Tags["raft_addr"] };
}

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
