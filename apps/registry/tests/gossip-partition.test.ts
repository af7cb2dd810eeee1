// A real network partition that heals, on real UDP/TCP between three registry processes, each in
// its own network namespace (ip netns) wired to a bridge in a fourth "hub" namespace. The Raft
// leader is cut off (its port on the bridge goes down): the other two elect a new leader, which
// reconciles the pool into the catalog — the cut-off server is failed in /v1/agent/members and its
// serfHealth is critical; once the link is back, gossip's reconnect merges the two sides and the
// server is alive and passing again. Needs root and iproute2 (`ip`); fails saying so otherwise.
// Nothing is created in the host's own namespace: every link lives inside the test's namespaces.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { eventually as poll, ProcessGroup } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const projectRoot = join(import.meta.dirname, "..");
const tag = `${process.pid % 100_000}`;
const hub = `mwg-hub-${tag}`;
const ids = ["n1", "n2", "n3"] as const;
const nsOf = (k: number) => `mwg-${ids[k]}-${tag}`;
const ipOf = (k: number) => `10.231.${process.pid % 200}.${k + 1}`;
const hubIp = `10.231.${process.pid % 200}.254`;
// Fixed ports are safe here: every server has a network namespace of its own.
const raftPort = 25300;
const gossipPort = 25301;
const httpPort = 25500;

const processes = new ProcessGroup();
const namespaces: string[] = [];
let dir = "";

async function ip(...args: string[]): Promise<void> {
  await run("ip", args);
}

async function setUpNetwork(): Promise<void> {
  try {
    await run("ip", ["-V"]);
  } catch (error) {
    throw new Error(`this test needs iproute2's \`ip\` command (apt-get install iproute2): ${String(error)}`);
  }
  for (const ns of [hub, ...ids.map((_, k) => nsOf(k))]) {
    try {
      await ip("netns", "add", ns);
    } catch (error) {
      throw new Error(`cannot create network namespace ${ns}: this test needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN): ${String(error)}`);
    }
    namespaces.push(ns);
    await ip("-n", ns, "link", "set", "lo", "up");
  }
  await ip("-n", hub, "link", "add", "br0", "type", "bridge");
  await ip("-n", hub, "addr", "add", `${hubIp}/24`, "dev", "br0");
  await ip("-n", hub, "link", "set", "br0", "up");
  for (const [k] of ids.entries()) {
    await ip("-n", nsOf(k), "link", "add", "eth0", "type", "veth", "peer", "name", `p${k + 1}`, "netns", hub);
    await ip("-n", nsOf(k), "addr", "add", `${ipOf(k)}/24`, "dev", "eth0");
    await ip("-n", nsOf(k), "link", "set", "eth0", "up");
    await ip("-n", hub, "link", "set", `p${k + 1}`, "master", "br0");
    await ip("-n", hub, "link", "set", `p${k + 1}`, "up");
  }
}

function startServer(k: number): Promise<void> {
  const peers = ids.map((id, j) => `${id}=${ipOf(j)}:${raftPort}`).join(",");
  const join = ids.flatMap((_, j) => (j === k ? [] : [`${ipOf(j)}:${gossipPort}`])).join(",");
  const args = [
    "netns", "exec", nsOf(k), process.execPath, "--import", "tsx", "--conditions=@meshwork/source", "src/main.ts",
    "--node-id", ids[k] as string, "--peers", peers, "--data-dir", `${dir}/${ids[k]}`, "--bind", ipOf(k),
    "--raft-port", String(raftPort), "--http-port", String(httpPort), "--admin-port", "0", "--dns-port=-1", "--grpc-port=-1", "--tick-ms", "20",
    "--gossip-port", String(gossipPort), "--retry-join", join, "--retry-interval-ms", "300", "--gossip-probe-interval-ms", "200", "--gossip-suspicion-mult", "2",
  ];
  return processes.start("ip", args, { cwd: projectRoot, name: ids[k] }).waitForLine("ready", 120_000).then(() => undefined);
}

/** GET on a server's HTTP API from the hub namespace (the test process cannot reach the namespaces). */
async function get<T>(k: number, path: string): Promise<T> {
  const { stdout } = await run("ip", ["netns", "exec", hub, "curl", "-sS", "--fail", "--max-time", "3", `http://${ipOf(k)}:${httpPort}/v1/${path}`]);
  return JSON.parse(stdout) as T;
}

const eventually = <T,>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 60_000) => poll(what, attempt, { timeoutMs, intervalMs: 200 });

interface AgentMember {
  Name: string;
  Status: number;
}
const statusOf = async (observer: number, name: string) => (await get<AgentMember[]>(observer, "agent/members")).find((m) => m.Name === name)?.Status;
const serfOf = async (observer: number, name: string) => (await get<{ CheckID: string; Status: string }[]>(observer, `health/node/${name}`)).find((c) => c.CheckID === "serfHealth")?.Status;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshwork-registry-partition-"));
  await setUpNetwork();
}, 30_000);

afterAll(async () => {
  await processes.killAll();
  for (const ns of namespaces.reverse()) await ip("netns", "del", ns).catch(() => undefined);
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

describe("gossip partition across network namespaces", () => {
  it("the cut-off leader is failed and critical in the catalog, then alive and passing after the link heals", { timeout: 180_000 }, async () => {
    await Promise.all(ids.map((_, k) => startServer(k)));
    for (const [k] of ids.entries()) {
      await eventually(`${ids[k]} to see three alive members`, async () => ((await get<AgentMember[]>(k, "agent/members")).filter((m) => m.Status === 1).length === 3 ? true : undefined));
    }
    const leaderHttp = await eventually("a leader", async () => {
      const leader = await get<string>(0, "status/leader");
      return leader === "" ? undefined : leader;
    });
    const victim = ids.findIndex((_, k) => leaderHttp === `${ipOf(k)}:${httpPort}`);
    expect(victim).toBeGreaterThanOrEqual(0);
    const observer = victim === 0 ? 1 : 0;
    const name = ids[victim] as string;
    await eventually(`${name}'s serfHealth passing`, async () => ((await serfOf(observer, name)) === "passing" ? true : undefined));

    // Cut the leader off the bridge.
    await ip("-n", hub, "link", "set", `p${victim + 1}`, "down");
    await eventually(`a new leader on the majority side`, async () => {
      const leader = await get<string>(observer, "status/leader");
      return leader !== "" && leader !== leaderHttp ? leader : undefined;
    });
    await eventually(`${name} failed (4) in the majority's /v1/agent/members`, async () => ((await statusOf(observer, name)) === 4 ? true : undefined));
    await eventually(`${name}'s serfHealth critical`, async () => ((await serfOf(observer, name)) === "critical" ? true : undefined));

    // Heal: gossip's reconnect (every 30 s with a failed member) merges the sides again.
    await ip("-n", hub, "link", "set", `p${victim + 1}`, "up");
    await eventually(`${name} alive (1) again`, async () => ((await statusOf(observer, name)) === 1 ? true : undefined), 90_000);
    await eventually(`${name}'s serfHealth passing again`, async () => ((await serfOf(observer, name)) === "passing" ? true : undefined));
    await eventually(`${name} to see everyone alive again`, async () => ((await get<AgentMember[]>(victim, "agent/members?stale")).every((m) => m.Status === 1) ? true : undefined), 90_000);
  });
});
