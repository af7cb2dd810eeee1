// Backup and restore on a real 3-server cluster in one process: RegistryNodes with real gRPC on
// loopback and DurableStorage in temporary directories, each with its Consul HTTP API on a real
// socket. A snapshot saved through one server and restored through a follower (a Raft `prop` to
// the leader) replaces the state on every server, is kept across a restart of all of them, and
// reaches a server that was down meanwhile through the leader's Raft snapshot.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { decodeBackupFile } from "../src/backup/backup-file.ts";
import { type HttpApi, startHttpApi } from "../src/http/start-http-api.ts";
import { RegistryNode } from "../src/server/registry-node.ts";
import { registryStateMachine } from "../src/server/registry-state-machine.ts";

const ids = ["n1", "n2", "n3"];

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? "" : ` (last error: ${String(last)})`}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A saved state's JSON without what a restore rebases (indexes): what every server must hold after it. */
function contentOf(file: Uint8Array): unknown {
  const decoded = decodeBackupFile(file);
  if (!decoded.ok) throw new Error(decoded.message);
  const data = JSON.parse(Buffer.from(decoded.file.state).toString("utf8"), (key, value: unknown) =>
    /^(appliedIndex|kvMaxIndex|catalogMaxIndex|queryMaxIndex|createIndex|modifyIndex|serviceIndexes)$/.test(key) ? undefined : value,
  ) as { kv: unknown[][]; tombstones: unknown[][] };
  return { ...data, kv: data.kv.map((e) => [e[0], e[1], e[2], e[5], e[6]]), tombstones: data.tombstones.map((e) => e[0]) };
}

class HttpCluster {
  readonly dirs = new Map(ids.map((id) => [id, fs.mkdtempSync(path.join(os.tmpdir(), `registry-backup-${id}-`))]));
  readonly raftPorts = new Map<string, number>();
  readonly nodes = new Map<string, RegistryNode>();
  readonly apis = new Map<string, HttpApi>();
  /** `<node id> <message>` of every server's log. */
  readonly logs: string[] = [];
  private readonly snapshotEvery: number;

  constructor(snapshotEvery = 10_000) {
    this.snapshotEvery = snapshotEvery;
  }

  async startAll(): Promise<void> {
    for (const id of ids) await this.start(id);
    // Ports were picked at the first bind: tell everyone where everyone is.
    for (const node of this.nodes.values()) for (const [id, port] of this.raftPorts) node.setPeerAddress(id, `127.0.0.1:${port}`);
  }

  async start(id: string): Promise<void> {
    const peerAddresses: Record<string, string> = {};
    for (const [peer, port] of this.raftPorts) if (peer !== id) peerAddresses[peer] = `127.0.0.1:${port}`;
    const node = await RegistryNode.start({
      nodeId: id,
      dataDir: this.dirs.get(id) as string,
      bootstrap: ids,
      peerAddresses,
      raftBind: { host: "127.0.0.1", port: this.raftPorts.get(id) ?? 0 },
      httpAddress: "127.0.0.1:0",
      stateMachine: registryStateMachine,
      tickMs: 20,
      electionTick: 10,
      heartbeatTick: 1,
      snapshotEvery: this.snapshotEvery,
      catchUpEntries: Math.min(5, this.snapshotEvery),
      segmentBytes: 64 * 1024,
      log: (_level, msg) => this.logs.push(`${id} ${msg}`),
    });
    this.raftPorts.set(id, node.raftPort);
    const api = await startHttpApi(node, { port: 0, host: "127.0.0.1", agent: { nodeName: id, address: "127.0.0.1" } });
    node.setHttpAddress(`127.0.0.1:${api.port}`);
    this.nodes.set(id, node);
    this.apis.set(id, api);
  }

  async stop(id: string): Promise<void> {
    await this.apis.get(id)?.close();
    await this.nodes.get(id)?.stop();
    this.apis.delete(id);
    this.nodes.delete(id);
  }

  async stopAll(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.stop(id);
  }

  url(id: string): string {
    return `http://127.0.0.1:${(this.apis.get(id) as HttpApi).port}`;
  }

  async leader(): Promise<string> {
    return waitFor("one leader every server follows", async () => {
      const leaders = [...this.nodes.values()].filter((node) => node.isLeader);
      const leader = leaders[0];
      return leaders.length === 1 && leader !== undefined && [...this.nodes.values()].every((node) => node.leaderId === leader.nodeId) ? leader.nodeId : undefined;
    });
  }

  async close(): Promise<void> {
    await this.stopAll();
    for (const dir of this.dirs.values()) fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function call(url: string, method: string, body?: string | Uint8Array): Promise<Response> {
  return fetch(url, { method, ...(body !== undefined ? { body } : {}), redirect: "manual" });
}

async function saveFile(url: string): Promise<Uint8Array> {
  const response = await call(`${url}/v1/snapshot`, "GET");
  if (response.status !== 200) throw new Error(`GET /v1/snapshot: ${response.status} ${await response.text()}`);
  return new Uint8Array(await response.arrayBuffer());
}

let cluster: HttpCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe("snapshot save and restore on a 3-server cluster", { timeout: 90_000 }, () => {
  it("restores a state saved on a follower through the other follower: every server converges on it, and keeps it across a restart of all", async () => {
    cluster = new HttpCluster();
    await cluster.startAll();
    const leader = await cluster.leader();
    const [followerA, followerB] = ids.filter((id) => id !== leader) as [string, string];
    for (let i = 0; i < 5; i++) expect((await call(`${cluster.url(leader)}/v1/kv/config/${i}`, "PUT", `v${i}`)).status).toBe(200);
    // A service with a TTL check through followerA's agent: its check runs on followerA.
    expect((await call(`${cluster.url(followerA)}/v1/agent/service/register`, "PUT", JSON.stringify({ Name: "web", Port: 80, Check: { TTL: "30s" } }))).status).toBe(200);
    const session = (await (await call(`${cluster.url(followerB)}/v1/session/create`, "PUT", JSON.stringify({ Name: "saved", TTL: "60s" }))).json()) as { ID: string };

    // Default consistency on a follower: ReadIndex through the leader, so the file has every write above.
    const saved = await saveFile(cluster.url(followerA));
    const savedFile = decodeBackupFile(saved);
    if (!savedFile.ok) throw new Error(savedFile.message);
    const expected = contentOf(saved);
    expect(JSON.stringify(expected)).toContain("config/4");
    expect(JSON.stringify(expected)).toContain(session.ID);

    // Change all of it.
    await call(`${cluster.url(leader)}/v1/kv/config/?recurse`, "DELETE");
    await call(`${cluster.url(followerB)}/v1/kv/other`, "PUT", "x");
    await call(`${cluster.url(followerB)}/v1/session/destroy/${session.ID}`, "PUT");
    await call(`${cluster.url(followerA)}/v1/agent/service/deregister/web`, "PUT");
    expect(cluster.apis.get(followerA)?.checks.has("service:web")).toBe(false);
    const indexBefore = Math.max(...[...cluster.nodes.values()].map((node) => node.appliedIndex));

    const restored = await call(`${cluster.url(followerB)}/v1/snapshot`, "PUT", saved);
    expect(restored.status, await restored.clone().text()).toBe(200);
    const restoreIndex = Number(restored.headers.get("x-consul-index"));
    expect(restoreIndex).toBeGreaterThan(indexBefore);

    for (const id of ids) {
      await waitFor(`${id} to hold the restored state`, async () => JSON.stringify(contentOf(await saveFile(`${cluster?.url(id)}`))) === JSON.stringify(expected));
      const node = cluster.nodes.get(id) as RegistryNode;
      expect(node.state.kvIndex("config/")).toBeGreaterThanOrEqual(restoreIndex);
      expect(node.state.catalogIndex()).toBeGreaterThanOrEqual(restoreIndex);
    }
    // followerA's agent runs the restored catalog's check of its node again.
    expect(cluster.apis.get(followerA)?.checks.has("service:web")).toBe(true);

    // Power the whole cluster down and up: the restore is in every server's log.
    await cluster.stopAll();
    await cluster.startAll();
    await cluster.leader();
    for (const id of ids) {
      await waitFor(`${id} to hold the restored state after the restart`, async () => JSON.stringify(contentOf(await saveFile(`${cluster?.url(id)}`))) === JSON.stringify(expected));
      expect((cluster.nodes.get(id) as RegistryNode).appliedIndex).toBeGreaterThanOrEqual(restoreIndex);
    }
    // A restarted agent runs its node's restored checks, as at any start.
    expect(cluster.apis.get(followerA)?.checks.has("service:web")).toBe(true);
    expect((await call(`${cluster.url(followerA)}/v1/agent/check/pass/service:web`, "PUT")).status).toBe(200);
  });

  it("restores through the leader while a server is down; it gets the restored state from the leader's Raft snapshot", async () => {
    cluster = new HttpCluster(20);
    await cluster.startAll();
    const leader = await cluster.leader();
    const down = ids.find((id) => id !== leader) as string;
    await call(`${cluster.url(leader)}/v1/kv/saved`, "PUT", "1");
    expect((await call(`${cluster.url(down)}/v1/agent/service/register`, "PUT", JSON.stringify({ Name: "api", Check: { TTL: "30s" } }))).status).toBe(200);
    const saved = await saveFile(cluster.url(leader));
    const expected = contentOf(saved);
    await call(`${cluster.url(leader)}/v1/kv/saved`, "PUT", "2");
    await call(`${cluster.url(down)}/v1/agent/service/deregister/api`, "PUT");
    await cluster.stop(down);

    const restored = await call(`${cluster.url(leader)}/v1/snapshot`, "PUT", saved);
    expect(restored.status, await restored.clone().text()).toBe(200);
    // Enough entries after it (writes that change nothing) that the leader snapshots and compacts the restore entry away.
    for (let i = 0; i < 60; i++) await call(`${cluster.url(leader)}/v1/kv/saved`, "PUT", "1");

    await cluster.start(down);
    await waitFor(`${down} to catch up with the restored state`, async () => JSON.stringify(contentOf(await saveFile(`${cluster?.url(down)}`))) === JSON.stringify(expected));
    expect(cluster.logs.some((line) => line.startsWith(`${down} installed snapshot from the leader`))).toBe(true);
    // Its agent runs the check the restored catalog has for its node, which it had deregistered before.
    expect(cluster.apis.get(down)?.checks.has("service:api")).toBe(true);
  });
});
