// Servers join and leave the Raft cluster through gossip, as Consul servers do (leader reconcile +
// autopilot), with the real entry point as child processes on loopback: three servers bootstrapped
// with --peers, then two more started with only --retry-join (no --peers naming them) become Raft
// voters after the stabilization time and serve consistent reads; one that leaves on SIGTERM is
// removed from /v1/status/peers; one killed with SIGKILL is removed by dead server cleanup while
// the original three stay; force-leave then turns the killed member "left" on every server.
import { join } from "node:path";
import { eventually as poll, freePort, ProcessGroup, type StartedProcess } from "@meshwork/testing/processes";
import { afterAll, describe, expect, it } from "vitest";

const projectRoot = join(import.meta.dirname, "..");
const processes = new ProcessGroup();
afterAll(() => processes.close());

const runRegistry = (args: readonly string[]): StartedProcess => processes.startSource("src/main.ts", args, { cwd: projectRoot, name: `server ${args[1] ?? ""}` });
const eventually = <T,>(what: string, attempt: () => Promise<T | undefined>) => poll(what, attempt, { context: () => processes.tails(15) });

interface AgentMember {
  Name: string;
  Status: number;
}
interface RaftConfiguration {
  Servers: { ID: string; Address: string; Voter: boolean; Leader: boolean }[];
}
interface AutopilotHealth {
  Healthy: boolean;
  FailureTolerance: number;
  Servers: { ID: string; Healthy: boolean; Voter: boolean; Leader: boolean; LastContact: string; LastIndex: number; SerfStatus: string }[];
}

describe("Raft membership from gossip (registry processes)", () => {
  it("a server that joins the pool becomes a voter; SIGTERM removes it, SIGKILL gets it cleaned up, force-leave marks it left", { timeout: 240_000 }, async () => {
    const dir = await processes.tempDir("meshwork-registry-raft-gossip-");
    const ids = ["n1", "n2", "n3", "s4", "s5"] as const;
    const raftPorts = await Promise.all(ids.map(() => freePort()));
    const httpPorts = await Promise.all(ids.map(() => freePort()));
    const peers = [0, 1, 2].map((k) => `${ids[k]}=127.0.0.1:${raftPorts[k]}`).join(",");
    const args = (k: number, join: readonly string[]) => [
      "--node-id", ids[k] as string, ...(k < 3 ? ["--peers", peers] : []), "--data-dir", `${dir}/${ids[k]}`, "--raft-port", String(raftPorts[k]), "--http-port", String(httpPorts[k]),
      "--admin-port", "0", "--dns-port=-1", "--grpc-port=-1", "--tick-ms", "20",
      "--gossip-port", "0", "--gossip-probe-interval-ms", "200", "--gossip-suspicion-mult", "2", "--retry-interval-ms", "300",
      "--autopilot-server-stabilization-ms", "1000", ...(join.length > 0 ? ["--retry-join", join.join(",")] : []),
    ];
    const url = (k: number, path: string) => `http://127.0.0.1:${httpPorts[k]}/v1/${path}`;
    const getJson = async <T,>(k: number, path: string): Promise<T> => {
      const response = await fetch(url(k, path));
      if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    };
    const raftAddress = (k: number) => `127.0.0.1:${raftPorts[k]}`;

    const first = runRegistry(args(0, []));
    const seed = String((await first.waitForLine("ready"))["gossipAddress"]);
    const founders = [first, ...[1, 2].map((k) => runRegistry(args(k, [seed])))];
    for (const run of founders.slice(1)) await run.waitForLine("ready");
    await eventually("three alive members", async () => ((await getJson<AgentMember[]>(0, "agent/members")).filter((m) => m.Status === 1).length === 3 ? true : undefined));

    // s4 and s5: no --peers, only the pool. The leader adds each as a non-voter, then promotes it.
    const joiners = { s4: runRegistry(args(3, [seed])), s5: runRegistry(args(4, [seed])) };
    await joiners.s4.waitForLine("ready");
    await joiners.s5.waitForLine("ready");
    const configuration = await eventually("s4 and s5 to be Raft voters", async () => {
      const config = await getJson<RaftConfiguration>(0, "operator/raft/configuration");
      const voters = config.Servers.filter((s) => s.Voter).map((s) => s.ID).sort();
      return voters.join(",") === "n1,n2,n3,s4,s5" ? config : undefined;
    });
    expect(configuration.Servers.find((s) => s.ID === "s4")?.Address).toBe(raftAddress(3));
    expect((await getJson<string[]>(1, "status/peers")).sort()).toEqual([0, 1, 2, 3, 4].map(raftAddress).sort());

    // s4 serves consistent reads of a write made through a founder.
    const put = await fetch(url(1, "kv/joined"), { method: "PUT", body: "through-gossip" });
    expect(await put.json()).toBe(true);
    const read = await eventually("a consistent read on s4", async () => {
      const response = await fetch(url(3, "kv/joined?consistent&raw"));
      return response.status === 200 ? response.text() : undefined;
    });
    expect(read).toBe("through-gossip");

    // Autopilot: the configuration in Consul's shape (through a follower, forwarded to the leader) and healthy servers.
    const autopilot = await getJson<Record<string, unknown>>(3, "operator/autopilot/configuration");
    expect(autopilot).toMatchObject({ CleanupDeadServers: true, ServerStabilizationTime: "1s", LastContactThreshold: "200ms", MaxTrailingLogs: 250 });
    const health = await eventually("five healthy servers", async () => {
      const response = await fetch(url(0, "operator/autopilot/health"));
      const body = (await response.json()) as AutopilotHealth;
      return response.status === 200 && body.Servers.length === 5 ? body : undefined;
    });
    expect(health.Healthy).toBe(true);
    expect(health.FailureTolerance).toBe(2);
    expect(health.Servers.filter((s) => s.Leader)).toHaveLength(1);
    expect(health.Servers.every((s) => s.Voter && s.SerfStatus === "alive" && s.LastIndex > 0)).toBe(true);

    // SIGTERM s4: it leaves the pool and the leader removes it from Raft.
    joiners.s4.kill("SIGTERM");
    expect(await joiners.s4.exit).toBe(0);
    await eventually("s4 out of /v1/status/peers", async () => {
      const peersNow = await getJson<string[]>(0, "status/peers");
      return peersNow.includes(raftAddress(3)) ? undefined : peersNow;
    });

    // SIGKILL s5: failed in gossip; one failed voter of four is fewer than half: cleanup removes it.
    joiners.s5.kill("SIGKILL");
    await joiners.s5.exit;
    const remaining = await eventually("s5 removed by dead server cleanup", async () => {
      const peersNow = await getJson<string[]>(0, "status/peers");
      return peersNow.includes(raftAddress(4)) ? undefined : peersNow;
    });
    expect(remaining.sort()).toEqual([0, 1, 2].map(raftAddress).sort());
    expect((await getJson<AgentMember[]>(1, "agent/members")).find((m) => m.Name === "s5")?.Status).toBe(4);

    // force-leave the killed s5 through one server: every server sees it left (Status 3).
    const unknown = await fetch(url(1, "agent/force-leave/nobody"), { method: "PUT" });
    expect(unknown.status).toBe(404);
    const forced = await fetch(url(1, "agent/force-leave/s5"), { method: "PUT" });
    expect(forced.status).toBe(200);
    for (const k of [0, 1, 2]) {
      await eventually(`n${k + 1} to see s5 left`, async () => ((await getJson<AgentMember[]>(k, "agent/members")).find((m) => m.Name === "s5")?.Status === 3 ? true : undefined));
    }
    // The cluster still writes with the original three.
    const after = await fetch(url(2, "kv/after"), { method: "PUT", body: "ok" });
    expect(await after.json()).toBe(true);
    for (const run of founders) run.kill("SIGTERM");
  });
});
