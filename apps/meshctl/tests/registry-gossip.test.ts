// `meshctl registry members` with the gossip pool, and `registry join --id` finding the new server's
// Raft address by gossip: apps/registry's entry point as two child processes on loopback with
// gossip on (port 0); n1 bootstraps alone, n2 starts empty and joins n1's gossip pool with
// --retry-join; meshctl lists both gossip members with status and protocol, then adds n2 to Raft
// without being told its Raft address.

import { describe, expect, it } from "vitest";
import { registryJoinCommand, registryMembersCommand } from "../src/commands/registry-commands.ts";
import { runCommand } from "./support/run-command.ts";
import { eventually, useRegistryServers } from "./support/use-registry-servers.ts";

const startRegistryServer = useRegistryServers();
async function startServer(id: string, peers: boolean, extra: readonly string[]) {
  const server = await startRegistryServer(id, peers, ["--dns-port=-1", "--grpc-port=-1", "--gossip-port", "0", "--gossip-probe-interval-ms", "200", "--retry-interval-ms", "300", ...extra]);
  return { ...server, gossipAddress: String(server.ready["gossipAddress"]) };
}

describe("meshctl registry with gossip", () => {
  it("lists gossip members with status and protocol, and joins a server found by gossip", { timeout: 90_000 }, async () => {
    const n1 = await startServer("n1", true, []);
    const n2 = await startServer("n2", false, ["--retry-join", n1.gossipAddress]);
    await eventually("n1 to lead", async () => (await (await fetch(`${n1.url}/v1/status/leader`)).json()) !== "");
    await eventually("n1 to see n2 alive in the pool", async () => {
      const members = (await (await fetch(`${n1.url}/v1/agent/members`)).json()) as { Name: string; Status: number }[];
      return members.some((m) => m.Name === "n2" && m.Status === 1);
    });

    const text = await runCommand(registryMembersCommand, ["--registry-addr", n1.url]);
    expect(text.code).toBe(0);
    const lines = text.out.split("\n");
    const header = lines.indexOf("Gossip members:");
    expect(header).toBeGreaterThan(0);
    expect(lines[header + 1]).toMatch(/^NAME +ADDRESS +STATUS +ROLE +PROTOCOL +DELEGATE$/);
    expect(lines[header + 2]).toMatch(new RegExp(`^n1 +${n1.gossipAddress.replace(/\./g, "\\.")} +alive +server +1 \\(1-1\\) +1 \\(1-1\\)$`));
    expect(lines[header + 3]).toMatch(new RegExp(`^n2 +${n2.gossipAddress.replace(/\./g, "\\.")} +alive +server`));

    const json = await runCommand(registryMembersCommand, ["--registry-addr", n1.url, "-o", "json"]);
    const view = JSON.parse(json.out) as { gossip: { name: string; address: string; status: string; tags: Record<string, string>; protocol: { current: number } }[] };
    expect(view.gossip.map((m) => [m.name, m.address, m.status, m.tags["raft_addr"], m.protocol.current])).toEqual([
      ["n1", n1.gossipAddress, "alive", n1.raftAddress, 1],
      ["n2", n2.gossipAddress, "alive", n2.raftAddress, 1],
    ]);

    // No --address: the Raft address comes from n2's gossip tags.
    const join = await runCommand(registryJoinCommand, ["--registry-addr", n1.url, "--id", "n2"]);
    expect(join).toEqual({ code: 0, out: `Added server n2 (${n2.raftAddress}) to the registry.\n`, err: "" });
    const after = await runCommand(registryMembersCommand, ["--registry-addr", n1.url, "-o", "json"]);
    expect((JSON.parse(after.out) as { members: { id: string; address: string }[] }).members).toEqual([
      expect.objectContaining({ id: "n1" }),
      expect.objectContaining({ id: "n2", address: n2.raftAddress }),
    ]);

    const unknown = await runCommand(registryJoinCommand, ["--registry-addr", n1.url, "--id", "n9"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe(
      "meshctl registry join: no gossip member is server n9 (servers in the pool: n1 (alive), n2 (alive)); start it with --retry-join pointing at this pool, or give --address HOST:RAFT_PORT\n",
    );
  });
});
