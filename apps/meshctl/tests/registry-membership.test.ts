// `meshctl registry members|join|leave` against real registry servers: apps/registry's entry point
// runs as two child processes on loopback (n1 bootstraps alone, n2 starts empty without --peers);
// meshctl adds n2 through n1's Consul HTTP API, lists both from either server, refuses to remove an
// unknown id, removes n2, and fails clearly when no registry answers.

import { freePort } from "@meshwork/testing/processes";
import { beforeAll, describe, expect, it } from "vitest";
import { registryJoinCommand, registryLeaveCommand, registryMembersCommand } from "../src/commands/registry-commands.ts";
import { runCommand } from "./support/run-command.ts";
import { meshctl } from "./support/run-meshctl.ts";
import { eventually, useRegistryServers, type RegistryServer } from "./support/use-registry-servers.ts";

const startRegistryServer = useRegistryServers();
const startServer = (id: string, peers: boolean) => startRegistryServer(id, peers, ["--dns-port", "0", "--grpc-port", "0"]);
type Server = RegistryServer;

let n1: Server;
let n2: Server;
beforeAll(async () => {
  [n1, n2] = await Promise.all([startServer("n1", true), startServer("n2", false)]);
  await eventually("n1 to lead", async () => (await (await fetch(`${n1.url}/v1/status/leader`)).json()) !== "");
}, 60_000);

describe("meshctl registry", () => {
  it("lists the one-node cluster with its leader (the real CLI)", async () => {
    const run = await meshctl(["registry", "members", "--registry-addr", n1.url]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toBe(
      [`ID  ADDRESS${" ".repeat(n1.raftAddress.length - 5)}ROLE   LEADER`, `n1  ${n1.raftAddress}  voter  *`, "", `Leader's HTTP API: ${new URL(n1.url).host}`, ""].join("\n"),
    );
  }, 30_000);

  it("joins n2, lists both servers from either one, refuses an unknown id, and removes n2", async () => {
    const join = await runCommand(registryJoinCommand, ["--registry-addr", n1.url, "--id", "n2", "--address", n2.raftAddress]);
    expect(join).toEqual({ code: 0, out: `Added server n2 (${n2.raftAddress}) to the registry.\n`, err: "" });

    const members = await runCommand(registryMembersCommand, ["--registry-addr", n1.url, "-o", "json"]);
    expect(members.code).toBe(0);
    expect(JSON.parse(members.out)).toEqual({
      members: [
        { id: "n1", address: n1.raftAddress, role: "voter", leader: true },
        { id: "n2", address: n2.raftAddress, role: "voter", leader: false },
      ],
      leaderHttpAddress: new URL(n1.url).host,
    });
    // n2 learns the configuration and the leader through Raft.
    await eventually("n2 to list both members", async () => {
      const run = await runCommand(registryMembersCommand, ["--registry-addr", n2.url, "-o", "json"]);
      const view = JSON.parse(run.out || "{}") as { members?: unknown[]; leaderHttpAddress?: string };
      return run.code === 0 && view.members?.length === 2 && view.leaderHttpAddress === new URL(n1.url).host;
    });

    const unknown = await runCommand(registryLeaveCommand, ["--registry-addr", n1.url, "--id", "n9"]);
    expect(unknown).toMatchObject({ code: 2, out: "", err: "meshctl registry leave: --id n9 is not a member of the registry (members: n1, n2); see meshctl registry members\n" });

    const leave = await runCommand(registryLeaveCommand, ["--registry-addr", n1.url, "--id", "n2"]);
    expect(leave).toEqual({ code: 0, out: "Removed server n2 from the registry.\n", err: "" });
    const after = await runCommand(registryMembersCommand, ["--registry-addr", n1.url, "-o", "json"]);
    expect((JSON.parse(after.out) as { members: { id: string }[] }).members.map((m) => m.id)).toEqual(["n1"]);
  }, 60_000);

  it("fails with exit 1 naming the address when no registry answers, and 2 for a bad --address", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const run = await runCommand(registryMembersCommand, ["--registry-addr", dead]);
    expect(run.code).toBe(1);
    expect(run.err).toBe(`meshctl registry members: cannot reach the registry at ${dead} (ECONNREFUSED); is it running, and is --registry-addr right?\n`);
    const bad = await runCommand(registryJoinCommand, ["--registry-addr", n1.url, "--id", "n3", "--address", "10.0.0.3"]);
    expect(bad).toMatchObject({ code: 2, err: expect.stringContaining('invalid --address "10.0.0.3": use the new server\'s Raft address HOST:PORT') });
  }, 30_000);
});
