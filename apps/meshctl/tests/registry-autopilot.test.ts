// `meshctl registry autopilot get-config|set-config|state` and `meshctl registry force-leave`
// against a real registry server with gossip on (apps/registry's entry point as a child process on
// loopback): read the configuration, change it and read the change back, the server as a healthy
// leader, the registry's refusal of an unknown member as exit 1, and usage errors as exit 2.

import { beforeAll, describe, expect, it } from "vitest";
import { registryAutopilotGetConfigCommand, registryAutopilotSetConfigCommand, registryAutopilotStateCommand } from "../src/commands/registry-autopilot-commands.ts";
import { registryForceLeaveCommand } from "../src/commands/registry-force-leave-command.ts";
import { runCommand } from "./support/run-command.ts";
import { eventually, useRegistryServers, type RegistryServer } from "./support/use-registry-servers.ts";

const startRegistryServer = useRegistryServers();
let server: RegistryServer;
let plain: RegistryServer;

beforeAll(async () => {
  server = await startRegistryServer("n1", true, ["--dns-port=-1", "--grpc-port=-1", "--gossip-port", "0"]);
  plain = await startRegistryServer("p1", true, ["--dns-port=-1", "--grpc-port=-1"]);
}, 60_000);

describe("meshctl registry autopilot", () => {
  it("get-config shows the configuration, set-config changes it with ?cas=, get-config shows the change", async () => {
    const addr = ["--registry-addr", server.url];
    await eventually("the registry has a leader", async () => (await runCommand(registryAutopilotGetConfigCommand, addr)).code === 0);
    const before = await runCommand(registryAutopilotGetConfigCommand, addr);
    expect(before.out).toContain("CleanupDeadServers = true\n");
    expect(before.out).toMatch(/^ServerStabilizationTime = \S+$/m);
    const beforeJson = JSON.parse((await runCommand(registryAutopilotGetConfigCommand, [...addr, "-o", "json"])).out) as { ModifyIndex: number; MaxTrailingLogs: number };

    const set = await runCommand(registryAutopilotSetConfigCommand, [...addr, "--cleanup-dead-servers=false", "--server-stabilization-time", "30s", "--min-quorum", "3"]);
    expect(set).toEqual({ code: 0, out: "Configuration updated.\n", err: "" });

    const after = await runCommand(registryAutopilotGetConfigCommand, addr);
    expect(after.code).toBe(0);
    expect(after.out).toContain("CleanupDeadServers = false\n");
    expect(after.out).toContain("ServerStabilizationTime = 30s\n");
    expect(after.out).toContain("MinQuorum = 3\n");
    const afterJson = JSON.parse((await runCommand(registryAutopilotGetConfigCommand, [...addr, "-o", "json"])).out) as { ModifyIndex: number; MaxTrailingLogs: number };
    // Unflagged fields keep their value; the write moved the index on.
    expect(afterJson.MaxTrailingLogs).toBe(beforeJson.MaxTrailingLogs);
    expect(afterJson.ModifyIndex).toBeGreaterThan(beforeJson.ModifyIndex);
  }, 30_000);

  it("state lists the server as the healthy leader", async () => {
    const addr = ["--registry-addr", server.url];
    await eventually("autopilot reports n1 healthy", async () => (await runCommand(registryAutopilotStateCommand, addr)).out.startsWith("Healthy: true\n"));
    const text = await runCommand(registryAutopilotStateCommand, addr);
    expect(text.code).toBe(0);
    expect(text.out).toContain("Failure tolerance: 0\n");
    expect(text.out).toMatch(new RegExp(`^\\S+\\s+n1\\s+${server.raftAddress.replaceAll(".", "\\.")}\\s+true\\s+true\\s+true\\s`, "m"));
    const json = JSON.parse((await runCommand(registryAutopilotStateCommand, [...addr, "-o", "json"])).out) as { Servers: { ID: string; Leader: boolean; Healthy: boolean; Voter: boolean }[] };
    expect(json.Servers).toEqual([expect.objectContaining({ ID: "n1", Leader: true, Healthy: true, Voter: true })]);
  }, 30_000);

  it("reports usage errors as exit 2, a server without gossip and an unreachable one as exit 1", async () => {
    const addr = ["--registry-addr", server.url];
    const nothing = await runCommand(registryAutopilotSetConfigCommand, addr);
    expect(nothing.code).toBe(2);
    expect(nothing.err).toContain("nothing to change");
    const badDuration = await runCommand(registryAutopilotSetConfigCommand, [...addr, "--last-contact-threshold", "soon"]);
    expect(badDuration.code).toBe(2);
    expect(badDuration.err).toContain('invalid --last-contact-threshold "soon"');
    const negative = await runCommand(registryAutopilotSetConfigCommand, [...addr, "--max-trailing-logs=-5"]);
    expect(negative.code).toBe(2);
    expect(negative.err).toContain("invalid --max-trailing-logs -5: use a whole number ≥ 0");
    expect(registryAutopilotSetConfigCommand.prepare(["--cleanup-dead-servers", "maybe"], {})).toMatchObject({ type: "usage-error", message: expect.stringContaining("one of true, false") });
    const noGossip = await runCommand(registryAutopilotStateCommand, ["--registry-addr", plain.url]);
    expect(noGossip.code).toBe(1);
    expect(noGossip.err).toContain("HTTP 404: autopilot needs gossip");
    const unreachable = await runCommand(registryAutopilotGetConfigCommand, ["--registry-addr", "http://127.0.0.1:1"]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toContain("cannot reach the registry");
  }, 30_000);
});

describe("meshctl registry force-leave", () => {
  it("answers the registry's refusals with their exit codes", async () => {
    const unknown = await runCommand(registryForceLeaveCommand, ["--prune", "ghost", "--registry-addr", server.url]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("HTTP 404: agent: No node found with name 'ghost'");
    const self = await runCommand(registryForceLeaveCommand, ["n1", "--registry-addr", server.url]);
    expect(self.code).toBe(2);
    expect(self.err).toContain("is this agent itself");
    const noGossip = await runCommand(registryForceLeaveCommand, ["ghost", "--registry-addr", plain.url]);
    expect(noGossip.code).toBe(2);
    expect(noGossip.err).toContain("force-leave needs this agent in a gossip pool");
    expect(registryForceLeaveCommand.prepare(["--registry-addr", server.url], {})).toMatchObject({ type: "usage-error", message: expect.stringContaining("expected 1 argument(s) besides flags, got 0") });
  }, 30_000);
});
