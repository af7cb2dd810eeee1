// Gossip key rotation through the Consul HTTP API (/v1/operator/keyring, what `consul keyring`
// calls) on three real registry processes with encrypted gossip: K1 → K2 by install, use, remove
// (each sent to every member as serf's internal key queries), the pool staying healthy throughout;
// a server restarted with the old --gossip-key still joins, because its keyring file
// (DATA_DIR/serf/local.keyring) already holds K2 as the primary key.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { eventually as poll, freePort, ProcessGroup, type StartedProcess } from "@meshwork/testing/processes";
import { afterAll, describe, expect, it } from "vitest";

const projectRoot = join(import.meta.dirname, "..");
const processes = new ProcessGroup();
afterAll(() => processes.close());

const runRegistry = (args: readonly string[]): StartedProcess => processes.startSource("src/main.ts", args, { cwd: projectRoot, name: `server ${args[1] ?? ""}` });
const eventually = <T,>(what: string, attempt: () => Promise<T | undefined>) => poll(what, attempt, { timeoutMs: 30_000, intervalMs: 100, context: () => processes.tails(15) });

interface KeyringPool {
  WAN: boolean;
  Datacenter: string;
  Segment: string;
  Keys: Record<string, number>;
  PrimaryKeys: Record<string, number>;
  NumNodes: number;
  Messages: Record<string, string>;
}

describe("gossip keyring over /v1/operator/keyring (three registry processes)", () => {
  it("rotates K1 → K2 on every member; a restarted server keeps K2 from its keyring file and rejoins", { timeout: 150_000 }, async () => {
    const dir = await processes.tempDir("meshwork-registry-keyring-");
    const ids = ["n1", "n2", "n3"] as const;
    const raftPorts = await Promise.all(ids.map(() => freePort()));
    const httpPorts = await Promise.all(ids.map(() => freePort()));
    const peers = ids.map((id, k) => `${id}=127.0.0.1:${raftPorts[k]}`).join(",");
    const k1 = randomBytes(32).toString("base64");
    const k2 = randomBytes(32).toString("base64");
    const args = (k: number, join: readonly string[]) => [
      "--node-id", ids[k] as string, "--peers", peers, "--data-dir", `${dir}/${ids[k]}`, "--raft-port", String(raftPorts[k]), "--http-port", String(httpPorts[k]),
      "--admin-port", "0", "--dns-port=-1", "--grpc-port=-1", "--tick-ms", "20",
      "--gossip-port", "0", "--gossip-probe-interval-ms", "200", "--retry-interval-ms", "300", "--gossip-key", k1, ...(join.length > 0 ? ["--retry-join", join.join(",")] : []),
    ];
    const call = async (k: number, method: string, body?: unknown) => {
      const response = await fetch(`http://127.0.0.1:${httpPorts[k]}/v1/operator/keyring`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: response.status, text: await response.text() };
    };
    const list = async (k: number): Promise<KeyringPool> => {
      const answer = await call(k, "GET");
      expect(answer.status, answer.text).toBe(200);
      const pools = JSON.parse(answer.text) as KeyringPool[];
      expect(pools.length).toBe(1);
      return pools[0] as KeyringPool;
    };
    const allAlive = (k: number, count = 3) =>
      eventually(`n${k + 1} to see ${count} alive members`, async () => {
        const response = await fetch(`http://127.0.0.1:${httpPorts[k]}/v1/agent/members`);
        const members = (await response.json()) as { Name: string; Status: number }[];
        return members.length === count && members.every((m) => m.Status === 1) ? members : undefined;
      });

    const first = runRegistry(args(0, []));
    const seed = String((await first.waitForLine("ready"))["gossipAddress"]);
    const running = [first, ...[1, 2].map((k) => runRegistry(args(k, [seed])))];
    for (const run of running) await run.waitForLine("ready");
    for (const k of [0, 1, 2]) await allAlive(k);
    expect(await list(0)).toEqual({ WAN: false, Datacenter: "dc1", Segment: "", Keys: { [k1]: 3 }, PrimaryKeys: { [k1]: 3 }, NumNodes: 3, Messages: {} });

    // Using a key before installing it fails on every member, with the fix in the answer.
    const early = await call(1, "PUT", { Key: k2 });
    expect(early.status).toBe(500);
    expect(early.text).toMatch(/3\/3 nodes reported failure/);
    expect(early.text).toMatch(/n2: key is not installed: install it first/);
    expect((await call(1, "POST", {})).status).toBe(400);

    // Install K2 (through n2), use it (through n3), remove K1 (through n1).
    expect(await call(1, "POST", { Key: k2 })).toEqual({ status: 200, text: "" });
    expect((await list(2)).Keys).toEqual({ [k1]: 3, [k2]: 3 });
    expect(await call(2, "PUT", { Key: k2 })).toEqual({ status: 200, text: "" });
    expect((await list(0)).PrimaryKeys).toEqual({ [k2]: 3 });
    const refused = await call(0, "DELETE", { Key: k2 });
    expect(refused.status).toBe(500);
    expect(refused.text).toMatch(/removing the primary key is not allowed/);
    expect(await call(0, "DELETE", { Key: k1 })).toEqual({ status: 200, text: "" });
    expect(await list(1)).toMatchObject({ Keys: { [k2]: 3 }, PrimaryKeys: { [k2]: 3 }, NumNodes: 3 });
    for (const k of [0, 1, 2]) await allAlive(k);
    for (const id of ids) expect(JSON.parse(await readFile(join(dir, id, "serf", "local.keyring"), "utf8"))).toEqual([k2]);

    // n3 restarted with the old flag: its keyring file wins (K2), so it rejoins a pool that no longer knows K1.
    await (running[2] as StartedProcess).stop();
    const back = runRegistry(args(2, [seed]));
    await back.waitForLine((line) => String(line["msg"]).startsWith("gossip keyring file exists"));
    await back.waitForLine("ready");
    for (const k of [0, 1, 2]) await allAlive(k);
    expect(await list(2)).toMatchObject({ Keys: { [k2]: 3 }, PrimaryKeys: { [k2]: 3 }, NumNodes: 3, Messages: {} });
  });
});
