// Client agents in the gossip pool, with the real entry point as child processes on loopback: one
// registry server and two `meshwork-registry agent`s, each registering a service "web" on its own
// node, all gossiping (port 0, fast probe settings, encrypted). The server lists the agents as
// role=client members and gives their nodes a passing serfHealth; a SIGKILLed agent's instance
// leaves /v1/health/service/web?passing (its node's serfHealth goes critical) and comes back when
// the agent is restarted; a SIGTERMed agent leaves the pool and its node is deregistered; with a
// short reconnect timeout a failed agent's node is reaped. /metrics shows the pool.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { eventually as poll, freePort, ProcessGroup, type StartedProcess } from "@meshwork/testing/processes";
import { afterAll, describe, expect, it } from "vitest";

const projectRoot = join(import.meta.dirname, "..");
const processes = new ProcessGroup();
afterAll(() => processes.close());

const run = (name: string, args: readonly string[]): StartedProcess => processes.startSource("src/main.ts", args, { cwd: projectRoot, name });

/** Polls until `attempt` gives a value; the deadline is generous (2 cores, other tests running): no timing is asserted. */
const eventually = <T,>(what: string, attempt: () => Promise<T | undefined>) => poll(what, attempt, { timeoutMs: 60_000, context: () => processes.tails() });

interface AgentMember {
  Name: string;
  Status: number;
  Tags: Record<string, string>;
}
interface HealthEntry {
  Node: { Node: string; Address: string };
  Service: { ID: string; Service: string; Port: number };
  Checks: { CheckID: string; Status: string }[];
}

const gossipFlags = (key: string) => ["--gossip-port", "0", "--gossip-probe-interval-ms", "200", "--gossip-suspicion-mult", "2", "--retry-interval-ms", "300", "--gossip-key", key];

async function startServer(reconnectTimeoutMs: number, key: string) {
  const dir = await processes.tempDir("meshwork-agent-gossip-");
  const raftPort = await freePort();
  const server = run("server n1", [
    "--node-id", "n1", "--peers", `n1=127.0.0.1:${raftPort}`, "--data-dir", join(dir, "n1"), "--raft-port", String(raftPort), "--http-port", "0",
    "--admin-port", "0", "--dns-port=-1", "--grpc-port=-1", "--tick-ms", "20", "--reconnect-timeout-ms", String(reconnectTimeoutMs), ...gossipFlags(key),
  ]);
  const ready = await server.waitForLine("ready");
  const http = `http://127.0.0.1:${String(ready["httpPort"])}`;
  const getJson = async <T,>(path: string): Promise<T> => {
    const response = await fetch(`${http}/v1/${path}`);
    if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  const startAgent = (node: string, port: number) =>
    run(`agent ${node}`, [
      "agent", "--server", http, "--node", node, "--service", `web:${port}`, "--sync-interval", "1s", "--retry-join", String(ready["gossipAddress"]), ...gossipFlags(key),
      "--reconnect-timeout-ms", String(reconnectTimeoutMs),
    ]);
  const passingNodes = async () => (await getJson<HealthEntry[]>("health/service/web?passing")).map((e) => e.Node.Node).sort();
  const serfHealth = async (node: string) => (await getJson<{ CheckID: string; Status: string }[]>(`health/node/${node}`)).find((c) => c.CheckID === "serfHealth")?.Status;
  const catalogNodes = async () => (await getJson<{ Node: string }[]>("catalog/nodes")).map((n) => n.Node).sort();
  return { server, ready, getJson, startAgent, passingNodes, serfHealth, catalogNodes };
}

describe("meshwork-registry agent in the gossip pool (server + agent processes)", () => {
  it("a SIGKILLed agent's instance leaves ?passing and returns with the agent; a SIGTERMed agent's node is deregistered", { timeout: 240_000 }, async () => {
    const key = randomBytes(32).toString("base64");
    const { ready, getJson, startAgent, passingNodes, serfHealth, catalogNodes } = await startServer(72 * 3_600_000, key);
    const agents = { a: startAgent("app-a", 9001), b: startAgent("app-b", 9002) };
    for (const agent of Object.values(agents)) {
      const running = await agent.waitForLine("agent running");
      expect(running["gossipAddress"]).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(running["gossipEncrypted"]).toBe(true);
    }

    // The server sees both agents as alive client members; their nodes pass serfHealth, so both instances pass.
    const members = await eventually("three alive members", async () => {
      const seen = await getJson<AgentMember[]>("agent/members");
      return seen.length === 3 && seen.every((m) => m.Status === 1) ? seen : undefined;
    });
    expect(members.map((m) => [m.Name, m.Tags["role"]])).toEqual([["app-a", "client"], ["app-b", "client"], ["n1", "server"]]);
    await eventually("both instances passing", async () => ((await passingNodes()).join() === "app-a,app-b" ? true : undefined));
    expect(await serfHealth("app-a")).toBe("passing");

    // /metrics: the pool by state, and probes going out.
    const metricsText = async () => (await fetch(`http://127.0.0.1:${String(ready["adminPort"])}/metrics`)).text();
    const scraped = await eventually("three alive members on /metrics", async () => {
      const text = await metricsText();
      // Alive members and at least one probe sent (on a loaded machine the first probe can come later).
      return text.includes('consul_memberlist_node_instances{node_state="alive"} 3') && /^meshwork_registry_gossip_probes_total [1-9]/m.test(text) ? text : undefined;
    });
    expect(scraped).toMatch(/^meshwork_registry_gossip_probes_total [1-9]/m);
    expect(scraped).toMatch(/^consul_memberlist_udp_sent [1-9]/m);
    expect(scraped).toContain('meshwork_registry_gossip_packets_dropped_total{reason="unauthenticated"} 0');

    // SIGKILL app-a: no goodbye, so only gossip can tell. Its instance drops out of ?passing (still listed, critical).
    agents.a.kill("SIGKILL");
    await agents.a.exit;
    await eventually("app-a's instance out of ?passing", async () => ((await passingNodes()).join() === "app-b" ? true : undefined));
    expect(await serfHealth("app-a")).toBe("critical");
    const all = await getJson<HealthEntry[]>("health/service/web");
    expect(all.map((e) => e.Node.Node).sort()).toEqual(["app-a", "app-b"]);
    await eventually("app-a failed (Status 4)", async () => ((await getJson<AgentMember[]>("agent/members")).find((m) => m.Name === "app-a")?.Status === 4 ? true : undefined));
    expect(await metricsText()).toMatch(/^consul_serf_member_failed [1-9]/m);

    // Restarted (a new gossip port): it registers again, gossip sees it alive, serfHealth passes, the instance is back.
    agents.a = startAgent("app-a", 9001);
    await agents.a.waitForLine("agent running");
    await eventually("app-a's instance passing again", async () => ((await passingNodes()).join() === "app-a,app-b" ? true : undefined));
    expect(await serfHealth("app-a")).toBe("passing");

    // SIGTERM app-b: it deregisters its service, leaves the pool (Status 3), and the leader deregisters its node.
    agents.b.kill("SIGTERM");
    expect(await agents.b.exit).toBe(0);
    await eventually("app-b seen as left", async () => ((await getJson<AgentMember[]>("agent/members")).find((m) => m.Name === "app-b")?.Status === 3 ? true : undefined));
    await eventually("app-b's node deregistered", async () => ((await catalogNodes()).includes("app-b") ? undefined : true));
    expect(await passingNodes()).toEqual(["app-a"]);
    expect(await catalogNodes()).toEqual(["app-a", "n1"]);
    agents.a.kill("SIGTERM");
    expect(await agents.a.exit).toBe(0);
  });

  it("reaps a failed agent's node after the reconnect timeout", { timeout: 120_000 }, async () => {
    const { server, startAgent, passingNodes, catalogNodes } = await startServer(3_000, randomBytes(16).toString("base64"));
    const agent = startAgent("app-c", 9003);
    await agent.waitForLine("agent running");
    await eventually("app-c passing", async () => ((await passingNodes()).join() === "app-c" ? true : undefined));
    agent.kill("SIGKILL");
    await agent.exit;
    // Critical first (maybe too briefly to see), then gone with its service once failed for 3 s.
    await eventually("app-c's node reaped", async () => ((await catalogNodes()).join() === "n1" ? true : undefined));
    expect(await passingNodes()).toEqual([]);
    expect(server.lines().some((l) => l["msg"] === "gossip membership reconciled into the catalog" && l["node"] === "app-c" && l["serfHealth"] === "deregistered")).toBe(true);
    server.kill("SIGTERM");
    expect(await server.exit).toBe(0);
  });
});
