// A 3-node registry cluster in one test process: three RegistryNodes with real gRPC transports on
// loopback, real DurableStorage in temporary directories and the real RegistryState. Elections,
// replication, forwarding from followers, consistent reads, leader loss, restart from disk and
// snapshot install to a lagging node.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { RegistryCommand } from "../src/registry-contract.ts";
import { registryStateMachine } from "../src/server/registry-state-machine.ts";
import { RegistryNode } from "../src/server/registry-node.ts";
import { nodeWalFs } from "../src/storage/wal-fs.ts";
import type { WalFs } from "../src/storage/wal-fs.ts";

const ids = ["n1", "n2", "n3"];

function b64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

function set(key: string, value: string): RegistryCommand {
  return { op: "kv-set", key, value: b64(value) };
}

function text(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8");
}

async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** node:fs for a node's WAL, except that while `hold` is set each fdatasync waits for `release()`. */
class HeldFsyncs {
  hold = false;
  private parked: (() => void)[] = [];
  readonly fs: WalFs = {
    ...nodeWalFs,
    fdatasync: (fd, done) => {
      const sync = () => fs.fdatasync(fd, (error) => done(error));
      if (this.hold) this.parked.push(sync);
      else sync();
    },
  };
  get parkedCount(): number {
    return this.parked.length;
  }
  release(): void {
    this.hold = false;
    for (const sync of this.parked.splice(0)) sync();
  }
}

class TestCluster {
  readonly dirs = new Map<string, string>();
  readonly ports = new Map<string, number>();
  readonly nodes = new Map<string, RegistryNode>();
  readonly logs: string[] = [];

  private readonly snapshotEvery: number;
  private readonly walFs: ((id: string) => WalFs) | undefined;

  constructor(snapshotEvery = 10_000, walFs?: (id: string) => WalFs) {
    this.snapshotEvery = snapshotEvery;
    this.walFs = walFs;
    for (const id of ids) this.dirs.set(id, fs.mkdtempSync(path.join(os.tmpdir(), `registry-${id}-`)));
  }

  async startAll(): Promise<void> {
    for (const id of ids) await this.start(id);
    // Ports were picked at bind time: tell everyone where everyone is.
    for (const node of this.nodes.values()) for (const [id, port] of this.ports) node.setPeerAddress(id, `127.0.0.1:${port}`);
  }

  /** Added to the wall clock of every node (the leader's session timers read it). */
  clockOffsetMs = 0;

  async start(id: string, join = false): Promise<RegistryNode> {
    if (!this.dirs.has(id)) this.dirs.set(id, fs.mkdtempSync(path.join(os.tmpdir(), `registry-${id}-`)));
    const peerAddresses: Record<string, string> = {};
    for (const [peer, port] of this.ports) if (peer !== id) peerAddresses[peer] = `127.0.0.1:${port}`;
    const node = await RegistryNode.start({
      nodeId: id,
      dataDir: this.dirs.get(id) as string,
      bootstrap: join ? undefined : ids,
      nowMs: () => Date.now() + this.clockOffsetMs,
      peerAddresses,
      raftBind: { host: "127.0.0.1", port: this.ports.get(id) ?? 0 },
      httpAddress: `127.0.0.1:${8500 + Number(id.slice(1))}`,
      stateMachine: registryStateMachine,
      tickMs: 20,
      electionTick: 10,
      heartbeatTick: 1,
      snapshotEvery: this.snapshotEvery,
      segmentBytes: 16 * 1024,
      ...(this.walFs !== undefined ? { walFs: this.walFs(id) } : {}),
      log: (level, msg, fields) => this.logs.push(`${level} ${msg} ${JSON.stringify(fields)}`),
    });
    this.ports.set(id, node.raftPort);
    this.nodes.set(id, node);
    return node;
  }

  node(id: string): RegistryNode {
    return this.nodes.get(id) as RegistryNode;
  }

  live(): RegistryNode[] {
    return [...this.nodes.values()];
  }

  async leader(): Promise<RegistryNode> {
    return waitFor("a leader", () => {
      const leaders = this.live().filter((node) => node.isLeader);
      const leader = leaders[0];
      // Settled: one leader that every live node follows.
      return leaders.length === 1 && leader !== undefined && this.live().every((node) => node.leaderId === leader.nodeId) ? leader : undefined;
    });
  }

  async follower(): Promise<RegistryNode> {
    const leader = await this.leader();
    return this.live().find((node) => node !== leader) as RegistryNode;
  }

  kill(id: string): void {
    this.node(id).kill();
    this.nodes.delete(id);
  }

  async close(): Promise<void> {
    await Promise.all(this.live().map((node) => node.stop()));
    this.nodes.clear();
    for (const dir of this.dirs.values()) fs.rmSync(dir, { recursive: true, force: true });
  }
}

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe("registry cluster (3 nodes, gRPC on loopback, WAL on disk)", { timeout: 60_000 }, () => {
  it("elects a leader, replicates writes, forwards a follower's write, and serves consistent reads", async () => {
    cluster = new TestCluster();
    await cluster.startAll();
    const leader = await cluster.leader();
    expect(leader.leaderAddress).toBe(`127.0.0.1:${8500 + Number(leader.nodeId.slice(1))}`);

    const written = await leader.write(set("config/a", "1"));
    expect(written.ok).toBe(true);
    expect(written.index).toBeGreaterThan(0);

    const follower = await cluster.follower();
    const forwarded = await follower.write(set("config/b", "2"));
    expect(forwarded.ok).toBe(true);
    expect(forwarded.index).toBeGreaterThan(written.index);
    // Followers learn the leader's HTTP address from its messages.
    expect(follower.leaderAddress).toBe(leader.leaderAddress);

    // A consistent read on a follower right after the write sees it (ReadIndex through the leader).
    for (const node of cluster.live()) {
      await node.readBarrier("consistent");
      expect(text(node.state.kvGet("config/b")?.value)).toBe("2");
      expect(text(node.state.kvGet("config/a")?.value)).toBe("1");
    }
    // A failed CAS comes back as ok: false through forwarding too.
    const cas = await follower.write({ op: "kv-set", key: "config/a", value: b64("x"), cas: 1 });
    expect(cas.ok).toBe(false);
    expect(leader.peers).toHaveLength(3);
  });

  it("answers a follower's write once the leader commits it, while the follower's own fdatasync of it is still running", async () => {
    const held = new Map(ids.map((id) => [id, new HeldFsyncs()]));
    cluster = new TestCluster(10_000, (id) => (held.get(id) as HeldFsyncs).fs);
    await cluster.startAll();
    const follower = await cluster.follower();
    expect((await follower.write(set("config/a", "1"))).ok).toBe(true);
    const fsyncs = held.get(follower.nodeId) as HeldFsyncs;
    fsyncs.hold = true;
    try {
      // The leader and the other follower make the quorum; this follower's disk has not answered.
      const written = await follower.write(set("config/b", "2"));
      expect(written.ok).toBe(true);
      expect(fsyncs.parkedCount).toBeGreaterThan(0);
      expect(text(follower.state.kvGet("config/b")?.value)).toBe("2");
    } finally {
      fsyncs.release();
    }
    // Its disk answers again: it acknowledges, and writes through it go on.
    const later = await follower.write(set("config/c", "3"));
    expect(later.ok).toBe(true);
    expect(later.index).toBeGreaterThan(0);
    for (const node of cluster.live()) {
      await node.readBarrier("consistent");
      expect(text(node.state.kvGet("config/c")?.value)).toBe("3");
    }
  });

  it("answers concurrent writes through both followers with each write's own result and error", async () => {
    cluster = new TestCluster();
    await cluster.startAll();
    const leader = await cluster.leader();
    const followers = cluster.live().filter((node) => node !== leader);
    // 60 create-only writes (cas 0) on 3 keys from both followers at once: one per key wins.
    const writes: Promise<{ ok: boolean; index: number }>[] = [];
    for (let k = 0; k < 60; k++) writes.push((followers[k % 2] as RegistryNode).write({ op: "kv-set", key: `race/${k % 3}`, value: b64(`w${k}`), cas: 0 }));
    const results = await Promise.all(writes);
    expect(new Set(results.map((r) => r.index)).size).toBe(60);
    for (let key = 0; key < 3; key++) {
      const winners = results.map((r, k) => ({ ...r, k })).filter((r) => r.k % 3 === key && r.ok);
      expect(winners).toHaveLength(1);
      const winner = winners[0] as { index: number; k: number };
      await leader.readBarrier("consistent");
      expect(text(leader.state.kvGet(`race/${key}`)?.value)).toBe(`w${winner.k}`);
      expect(leader.state.kvGet(`race/${key}`)?.modifyIndex).toBe(winner.index);
    }
    // A txn whose check fails names the failing op, through a follower too.
    const txn = await (followers[0] as RegistryNode).write({ op: "txn", ops: [{ verb: "check-index", key: "race/0", index: 1 }, { verb: "set", key: "race/x", value: b64("x") }] });
    expect(txn.ok).toBe(false);
    expect(txn.errors?.[0]?.opIndex).toBe(0);
    expect(leader.state.kvGet("race/x")).toBeUndefined();
  });

  it("wakes a blocking query when a write is applied", async () => {
    cluster = new TestCluster();
    await cluster.startAll();
    const follower = await cluster.follower();
    const before = follower.state.kvIndex("watch/");
    const woke = follower.waitForChange((state) => state.kvIndex("watch/"), before, 30_000);
    await (await cluster.leader()).write(set("watch/x", "1"));
    await woke;
    expect(follower.state.kvIndex("watch/")).toBeGreaterThan(before);
  });

  it("elects a new leader when the leader dies, and keeps every acknowledged write", async () => {
    cluster = new TestCluster();
    await cluster.startAll();
    const first = await cluster.leader();
    const acknowledged: string[] = [];
    for (let k = 0; k < 20; k++) {
      await first.write(set(`k/${k}`, `v${k}`));
      acknowledged.push(`k/${k}`);
    }
    cluster.kill(first.nodeId);
    const second = await cluster.leader();
    expect(second.nodeId).not.toBe(first.nodeId);
    await second.write(set("after", "failover"));
    for (const node of cluster.live()) {
      await node.readBarrier("consistent");
      for (const key of acknowledged) expect(node.state.kvGet(key)).toBeDefined();
      expect(text(node.state.kvGet("after")?.value)).toBe("failover");
    }
  });

  it("lets a follower's write and consistent read issued right after the leader dies complete on the next leader", async () => {
    cluster = new TestCluster();
    await cluster.startAll();
    const first = await cluster.leader();
    await first.write(set("before-kill", "1"));
    const follower = await cluster.follower();
    cluster.kill(first.nodeId);
    // The follower still names the dead leader: the write waits for the next one instead of failing.
    expect(follower.leaderId).toBe(first.nodeId);
    const [written] = await Promise.all([follower.write(set("during-election", "2")), follower.readBarrier("consistent")]);
    expect(written.ok).toBe(true);
    expect(follower.leaderId).not.toBe(first.nodeId);
    await follower.readBarrier("consistent");
    expect(text(follower.state.kvGet("during-election")?.value)).toBe("2");
    expect(text(follower.state.kvGet("before-kill")?.value)).toBe("1");
  });

  it("restarts a node from its data directory and it catches up", async () => {
    cluster = new TestCluster();
    await cluster.startAll();
    const leader = await cluster.leader();
    const before = await leader.write(set("before", "1"));
    const follower = await cluster.follower();
    await waitFor("the follower to apply the first write", () => follower.appliedIndex >= before.index);
    await follower.stop();
    cluster.nodes.delete(follower.nodeId);
    for (let k = 0; k < 10; k++) await leader.write(set(`while-down/${k}`, "x"));
    const restarted = await cluster.start(follower.nodeId);
    // It replayed its own log from disk before start resolved (before hearing from the leader)...
    expect(restarted.status().lastIndex).toBeGreaterThanOrEqual(before.index);
    expect(text(restarted.state.kvGet("before")?.value)).toBe("1");
    // ...and gets the rest from the leader.
    await waitFor("the restarted node to catch up", () => restarted.state.kvGet("while-down/9") !== undefined);
    await restarted.readBarrier("consistent");
    expect(restarted.state.kvList("while-down/")).toHaveLength(10);
  });

  it("installs a snapshot on a node that fell behind the leader's compacted log", async () => {
    cluster = new TestCluster(20);
    await cluster.startAll();
    const leader = await cluster.leader();
    const lagging = await cluster.follower();
    await lagging.stop();
    cluster.nodes.delete(lagging.nodeId);
    for (let k = 0; k < 60; k++) await leader.write(set(`bulk/${String(k).padStart(2, "0")}`, "y".repeat(100)));
    // The leader compacted past what the stopped node has.
    expect(leader.status().lastIndex).toBeGreaterThan(60);
    const restarted = await cluster.start(lagging.nodeId);
    await waitFor("the lagging node to install the snapshot", () => restarted.state.kvList("bulk/").length === 60);
    expect(cluster.logs.some((line) => line.includes("installed snapshot from the leader") && line.includes(`"node":"${lagging.nodeId}"`))).toBe(true);
    // And it keeps following after the snapshot.
    await leader.write(set("after-snapshot", "z"));
    await waitFor("the write after the snapshot", () => restarted.state.kvGet("after-snapshot") !== undefined);
  });

  it("snapshots each server at its own index, every snapshotEvery entries", async () => {
    cluster = new TestCluster(30);
    await cluster.startAll();
    const leader = await cluster.leader();
    for (let k = 0; k < 100; k++) await leader.write(set(`s/${k}`, "v"));
    await waitFor("every server to apply the writes", () => cluster?.live().every((node) => node.state.kvList("s/").length === 100));
    const taken = (id: string): number[] =>
      (cluster as TestCluster).logs.filter((line) => line.includes("snapshot taken") && line.includes(`"node":"${id}"`)).map((line) => Number(/"index":(\d+)/.exec(line)?.[1]));
    await waitFor("two snapshots on every server", () => ids.every((id) => taken(id).length >= 2));
    const firsts = ids.map((id) => taken(id)[0] as number);
    // Phases a third of the interval apart: no two servers snapshot at the same index.
    expect(new Set(firsts).size).toBe(3);
    for (const id of ids) {
      const [first, second] = taken(id) as [number, number];
      expect(second - first).toBeGreaterThanOrEqual(15);
      expect(second - first).toBeLessThanOrEqual(45);
    }
  });

  it("adds a server that catches up, then removes it", async () => {
    cluster = new TestCluster();
    await cluster.startAll();
    const leader = await cluster.leader();
    await leader.write(set("members/before", "1"));
    const joiner = await cluster.start("n4", true);
    await leader.addServer("n4", `127.0.0.1:${joiner.raftPort}`);
    expect(leader.peers).toContain(`127.0.0.1:${joiner.raftPort}`);
    expect(leader.status().config.voters).toEqual(["n1", "n2", "n3", "n4"]);
    await waitFor("the new server to catch up", () => joiner.state.kvGet("members/before") !== undefined);
    await waitFor("the new server to know the leader", () => joiner.leaderId === leader.nodeId);
    // A write through the new member is forwarded to the leader.
    expect((await joiner.write(set("members/via-n4", "2"))).ok).toBe(true);

    await leader.removeServer("n4");
    expect(leader.status().config.voters).toEqual(["n1", "n2", "n3"]);
    expect(leader.peers).toHaveLength(3);
    // One change at a time is enforced by the core; a follower cannot change membership.
    const follower = await cluster.follower();
    await expect(follower.addServer("n5", "127.0.0.1:1")).rejects.toThrow(/not the leader/);
  });

  it("hands leadership over on a graceful leave", async () => {
    cluster = new TestCluster();
    await cluster.startAll();
    const leader = await cluster.leader();
    await leader.write(set("leave/a", "1"));
    await leader.leave();
    cluster.nodes.delete(leader.nodeId);
    expect(cluster.logs.some((line) => line.includes("transferring leadership before leaving"))).toBe(true);
    const next = await cluster.leader();
    expect(next.nodeId).not.toBe(leader.nodeId);
    expect((await next.write(set("leave/b", "2"))).ok).toBe(true);
  });

  it("expires sessions on the leader's clock, renews them through a follower, and releases their locks", async () => {
    cluster = new TestCluster();
    await cluster.startAll();
    const leader = await cluster.leader();
    const follower = await cluster.follower();
    await follower.write({ op: "catalog-register", node: "client-1", address: "10.0.0.1" });
    const created = await follower.write({ op: "session-create", id: "sess-1", name: "lock", node: "client-1", ttlMs: 10_000, lockDelayMs: 0, behavior: "release", checks: [] });
    expect(created.ok).toBe(true);
    const acquired = await follower.write({ op: "kv-set", key: "locks/a", value: b64("me"), acquire: "sess-1" });
    expect(acquired.ok).toBe(true);
    // Let the leader's sweep see the session, then renew through the follower.
    await waitFor("the leader to apply the session", () => leader.state.session("sess-1") !== undefined);
    expect((await follower.renewSession("sess-1"))?.id).toBe("sess-1");
    expect(await follower.renewSession("no-such-session")).toBeUndefined();
    expect(leader.state.session("sess-1")).toBeDefined();
    // 10 s TTL × 2 passes on the leader's clock: the session is destroyed and its lock released.
    cluster.clockOffsetMs += 25_000;
    await waitFor("the session to expire", () => follower.state.session("sess-1") === undefined);
    await follower.readBarrier("consistent");
    expect(follower.state.kvGet("locks/a")?.session).toBeUndefined();
  });
});

