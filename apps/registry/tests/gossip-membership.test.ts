// Gossip membership reconciled into the catalog, with the real entry point as three child processes
// on loopback (gossip on port 0, fast probe settings): the servers find each other through
// --retry-join, /v1/agent/members lists them in Consul's shape, the leader registers each member's
// node with a passing serfHealth check; a SIGKILLed server's node goes critical (its service drops
// out of /v1/health/service?passing) and passes again when it comes back; a server that leaves on
// SIGTERM is deregistered. Gossip is encrypted (one key by flag, the others from a keyring file).
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { eventually as poll, freePort, ProcessGroup, type StartedProcess } from "@meshwork/testing/processes";
import { afterAll, describe, expect, it } from "vitest";

const projectRoot = join(import.meta.dirname, "..");
const processes = new ProcessGroup();
afterAll(() => processes.close());

type Run = StartedProcess;
const runRegistry = (args: readonly string[]): Run => processes.startSource("src/main.ts", args, { cwd: projectRoot, name: `server ${args[1] ?? ""}` });

const eventually = <T,>(what: string, attempt: () => Promise<T | undefined>) => poll(what, attempt, { context: () => processes.tails(15) });

interface AgentMember {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  Status: number;
  ProtocolCur: number;
  DelegateCur: number;
}
interface HealthEntry {
  Node: { Node: string };
  Checks: { CheckID: string; Status: string; Output: string }[];
}

describe("gossip membership in the catalog (three registry processes)", () => {
  it("members join by --retry-join; a SIGKILLed member goes critical, passes again when back; a leaving one is deregistered", { timeout: 150_000 }, async () => {
    const dir = await processes.tempDir("meshwork-registry-gossip-");
    const ids = ["n1", "n2", "n3"] as const;
    const raftPorts = await Promise.all(ids.map(() => freePort()));
    const httpPorts = await Promise.all(ids.map(() => freePort()));
    const peers = ids.map((id, k) => `${id}=127.0.0.1:${raftPorts[k]}`).join(",");
    // Encrypted gossip: n1 takes the key as a flag, the others from a keyring file (an old key second).
    const key = randomBytes(32).toString("base64");
    const keyring = join(dir, "local.keyring");
    await writeFile(keyring, JSON.stringify([key, randomBytes(16).toString("base64")]));
    const gossipFlags = ["--gossip-port", "0", "--gossip-probe-interval-ms", "200", "--gossip-suspicion-mult", "2", "--retry-interval-ms", "300"];
    const keyFlags = (k: number) => (k === 0 ? ["--gossip-key", key] : ["--gossip-keyring-file", keyring]);
    const args = (k: number, join: readonly string[]) => [
      "--node-id", ids[k] as string, "--peers", peers, "--data-dir", `${dir}/${ids[k]}`, "--raft-port", String(raftPorts[k]), "--http-port", String(httpPorts[k]),
      "--admin-port", "0", "--dns-port=-1", "--grpc-port=-1", "--tick-ms", "20", "--datacenter", "east-1", ...gossipFlags, ...keyFlags(k), ...(join.length > 0 ? ["--retry-join", join.join(",")] : []),
    ];
    const url = (k: number, path: string) => `http://127.0.0.1:${httpPorts[k]}/v1/${path}`;
    const getJson = async <T,>(k: number, path: string): Promise<T> => {
      const response = await fetch(url(k, path));
      if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    };

    // n1 first (its gossip port is picked at random), then n2 and n3 join through it.
    const first = runRegistry(args(0, []));
    const firstReady = await first.waitForLine("ready");
    expect(firstReady["gossipEncrypted"]).toBe(true);
    const seed = String(firstReady["gossipAddress"]);
    expect(seed).toMatch(/^127\.0\.0\.1:\d+$/);
    const others = [1, 2].map((k) => runRegistry(args(k, [seed])));
    const running: Run[] = [first, ...others];
    for (const run of others) await run.waitForLine("ready");

    // Every server sees three alive members, in Consul's shape, with the server tags.
    for (const k of [0, 1, 2]) {
      await eventually(`n${k + 1} to list three alive members`, async () => {
        const members = await getJson<AgentMember[]>(k, "agent/members?wan=false&segment=");
        return members.length === 3 && members.every((m) => m.Status === 1) ? members : undefined;
      });
    }
    const members = await getJson<AgentMember[]>(0, "agent/members");
    expect(members.map((m) => m.Name)).toEqual(["n1", "n2", "n3"]);
    expect(members[2]).toMatchObject({ Name: "n3", Addr: "127.0.0.1", Status: 1, ProtocolCur: 1, DelegateCur: 1, Tags: { role: "server", id: "n3", raft_addr: `127.0.0.1:${raftPorts[2]}`, dc: "east-1" } });
    expect(members[2]?.Port).toBeGreaterThan(0);
    const self = await getJson<{ Member: AgentMember; Config: { Datacenter: string } }>(1, "agent/self");
    expect(self.Member).toMatchObject({ Name: "n2", Status: 1, Tags: { role: "server", dc: "east-1" } });
    expect(self.Config.Datacenter).toBe("east-1");

    // A service on n3 (through n3's agent API); the leader gives every member's node a passing serfHealth.
    const register = await fetch(url(2, "agent/service/register"), { method: "PUT", body: JSON.stringify({ ID: "web-1", Name: "web", Port: 8080, Check: { TTL: "1h", Status: "passing" } }) });
    expect(register.status).toBe(200);
    const passingWeb = (k = 0) => getJson<HealthEntry[]>(k, "health/service/web?passing");
    await eventually("web on n3 to pass with serfHealth", async () => {
      const entries = await passingWeb();
      const checks = entries[0]?.Checks ?? [];
      return entries.length === 1 && checks.some((c) => c.CheckID === "serfHealth" && c.Status === "passing") ? entries : undefined;
    });
    for (const node of ids) {
      await eventually(`${node}'s serfHealth passing`, async () => {
        const checks = await getJson<{ CheckID: string; Status: string }[]>(0, `health/node/${node}`);
        return checks.some((c) => c.CheckID === "serfHealth" && c.Status === "passing") ? true : undefined;
      });
    }

    // SIGKILL n3: declared failed by gossip, its serfHealth goes critical, web drops out of ?passing.
    const leaderHttp = await eventually("a leader", async () => {
      const leader = await getJson<string>(0, "status/leader");
      return leader === "" ? undefined : leader;
    });
    // Two followers: the victim (n3, which has the service, unless it leads) and the one that leaves later.
    const leader = httpPorts.findIndex((port) => leaderHttp.endsWith(`:${port}`));
    const followers = [0, 1, 2].filter((k) => k !== leader);
    const victim = followers.includes(2) ? 2 : (followers[1] as number);
    const survivor = followers.find((k) => k !== victim) as number;
    const observer = leader;
    (running[victim] as Run).kill("SIGKILL");
    await (running[victim] as Run).exit;
    await eventually(`${ids[victim]} marked failed (Status 4) in /v1/agent/members`, async () => {
      const seen = await getJson<AgentMember[]>(observer, "agent/members");
      return seen.find((m) => m.Name === ids[victim])?.Status === 4 ? true : undefined;
    });
    await eventually(`${ids[victim]}'s serfHealth critical`, async () => {
      const checks = await getJson<{ CheckID: string; Status: string; Output: string }[]>(observer, `health/node/${ids[victim]}`);
      const serf = checks.find((c) => c.CheckID === "serfHealth");
      return serf?.Status === "critical" ? serf : undefined;
    });
    if (victim === 2) expect(await passingWeb(observer)).toEqual([]);

    // Back from the same data dir (a new gossip port): alive again, serfHealth passing, web passing.
    const back = runRegistry(args(victim, [seed]));
    running[victim] = back;
    await back.waitForLine("ready");
    await eventually(`${ids[victim]} alive again`, async () => {
      const seen = await getJson<AgentMember[]>(observer, "agent/members");
      return seen.find((m) => m.Name === ids[victim])?.Status === 1 ? true : undefined;
    });
    await eventually(`${ids[victim]}'s serfHealth passing again`, async () => {
      const checks = await getJson<{ CheckID: string; Status: string }[]>(observer, `health/node/${ids[victim]}`);
      return checks.find((c) => c.CheckID === "serfHealth")?.Status === "passing" ? true : undefined;
    });
    if (victim === 2) await eventually("web passing again", async () => ((await passingWeb(observer)).length === 1 ? true : undefined));

    // SIGTERM the other follower: it leaves the pool (Status 3) and its node is deregistered.
    (running[survivor] as Run).kill("SIGTERM");
    expect(await (running[survivor] as Run).exit).toBe(0);
    await eventually(`${ids[survivor]} seen as left`, async () => {
      const seen = await getJson<AgentMember[]>(observer, "agent/members");
      return seen.find((m) => m.Name === ids[survivor])?.Status === 3 ? true : undefined;
    });
    await eventually(`${ids[survivor]}'s node deregistered`, async () => {
      const nodes = await getJson<{ Node: string }[]>(observer, "catalog/nodes");
      return nodes.some((n) => n.Node === ids[survivor]) ? undefined : nodes;
    });
    for (const run of running) run.kill("SIGTERM");
  });

  it("exits 2 naming the setting for a bad gossip key, keyring file or --retry-join address", { timeout: 60_000 }, async () => {
    const dir = await processes.tempDir("meshwork-registry-gossip-bad-");
    const base = ["--node-id", "n1", "--data-dir", join(dir, "n1"), "--raft-port", "0", "--http-port", "0", "--admin-port", "0", "--dns-port=-1", "--grpc-port=-1", "--gossip-port", "0"];
    const error = async (extra: readonly string[]) => {
      const bad = runRegistry([...base, ...extra]);
      expect(await bad.exit).toBe(2);
      return bad.lines().find((l) => l["level"] === "error")?.["msg"];
    };
    expect(await error(["--gossip-key", "c2hvcnQ="])).toBe('--gossip-key: a gossip key is 16, 24 or 32 bytes in base64, got "c2hvcnQ="…; generate one with `openssl rand -base64 32`');
    expect(await error(["--retry-join", "10.0.0.5"])).toBe('--retry-join "10.0.0.5" is not HOST:PORT of a gossip member, e.g. 10.0.0.5:8301');
    expect(await error(["--gossip-keyring-file", join(dir, "missing.keyring")])).toMatch(/^cannot read --gossip-keyring-file .*missing\.keyring: ENOENT/);
  });
});
