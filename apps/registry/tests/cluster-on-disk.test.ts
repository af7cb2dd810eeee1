// Drives a 3-node libs/raft cluster in process, each node on its own DurableStorage, through the
// driver loop (persist, send, apply, advance); restarts a node from disk, after the leader has
// compacted past it, and checks it catches up through the snapshot and the log. Stops are power
// losses that drop whatever was not fdatasync'ed.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createRawNode, nodeId } from "@meshwork/raft";
import type { Message, NodeId, RawNode } from "@meshwork/raft";
import { afterEach, describe, expect, it } from "vitest";
import { DurableStorage } from "../src/storage/durable-storage.ts";
import { CrashFs } from "./crash-fs.ts";

const ids = ["1", "2", "3"].map(nodeId);
const conf = { voters: ids, learners: [] };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Server {
  readonly dir: string;
  crashFs: CrashFs;
  storage: DurableStorage;
  node: RawNode | null;
  /** The state machine: the normal entries applied, in order. */
  applied: string[];
}

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

class Cluster {
  readonly servers = new Map<NodeId, Server>();
  private queue: Message[] = [];
  private readonly random = seeded(7);

  constructor() {
    for (const id of ids) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `registry-node${id}-`));
      dirs.push(dir);
      const crashFs = new CrashFs();
      const storage = DurableStorage.open(dir, { bootstrap: conf, segmentBytes: 2048, fs: crashFs });
      this.servers.set(id, { dir, crashFs, storage, node: null, applied: [] });
      this.start(id);
    }
  }

  server(id: NodeId): Server {
    return this.servers.get(id) as Server;
  }

  start(id: NodeId): void {
    const server = this.server(id);
    const snapshot = server.storage.snapshot();
    server.applied = snapshot.data.length === 0 ? [] : (JSON.parse(decoder.decode(snapshot.data)) as string[]);
    server.node = createRawNode({ id, electionTick: 10, heartbeatTick: 1, storage: server.storage, random: this.random });
  }

  /** Stops a node: cleanly, or as a power loss that drops every byte it did not fdatasync. */
  stop(id: NodeId, how: "close" | "power-loss" = "close"): void {
    const server = this.server(id);
    server.node = null;
    if (how === "close") server.storage.close();
    else server.crashFs.crash(() => 0);
  }

  restartFromDisk(id: NodeId): void {
    const server = this.server(id);
    server.crashFs = new CrashFs();
    server.storage = DurableStorage.open(server.dir, { segmentBytes: 2048, fs: server.crashFs });
    this.start(id);
  }

  /** Runs the driver loop of every node until no node has a Ready and no message is in flight. */
  stabilize(): void {
    for (let round = 0; round < 10_000; round++) {
      let busy = false;
      for (const server of this.servers.values()) {
        const node = server.node;
        if (node === null) continue;
        while (node.hasReady()) {
          busy = true;
          const ready = node.ready();
          server.storage.save(ready); // 1. persist (fdatasync when mustSync)
          this.queue.push(...ready.messages); // 2. send
          if (ready.snapshot !== undefined) server.applied = JSON.parse(decoder.decode(ready.snapshot.data)) as string[];
          for (const entry of ready.committedEntries) if (entry.type === "normal" && entry.data.length > 0) server.applied.push(decoder.decode(entry.data)); // 3. apply
          node.advance(ready); // 4.
        }
      }
      const messages = this.queue;
      this.queue = [];
      for (const message of messages) {
        const to = this.server(message.to).node;
        if (to === null) continue;
        to.step(message);
        busy = true;
        if (message.type === "snap") this.server(message.from).node?.reportSnapshot(message.to, "finished");
      }
      if (!busy) return;
    }
    throw new Error("cluster did not stabilize");
  }

  tickUntilLeader(): NodeId {
    for (let i = 0; i < 200; i++) {
      for (const server of this.servers.values()) server.node?.tick();
      this.stabilize();
      for (const [id, server] of this.servers) if (server.node?.status().state === "leader") return id;
    }
    throw new Error("no leader elected");
  }

  propose(leader: NodeId, from: number, to: number): void {
    for (let i = from; i <= to; i++) {
      const result = this.server(leader).node?.propose(encoder.encode(`put ${i}`));
      expect(result?.ok).toBe(true);
      this.stabilize();
    }
  }
}

function puts(from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`put ${i}`);
  return out;
}

describe("a 3-node cluster on DurableStorage", () => {
  it("restarts a node from disk after a power loss and catches it up, through a snapshot once the leader compacted", () => {
    const cluster = new Cluster();
    const leader = cluster.tickUntilLeader();
    cluster.propose(leader, 1, 20);
    for (const id of ids) expect(cluster.server(id).applied).toEqual(puts(1, 20));

    const follower = ids.find((id) => id !== leader) as NodeId;
    cluster.stop(follower, "power-loss");
    cluster.propose(leader, 21, 40);

    // The leader compacts past everything the stopped follower has: it must get a snapshot.
    const leaderServer = cluster.server(leader);
    const status = leaderServer.node?.status();
    if (status === undefined) throw new Error("the leader is not running");
    expect(status.applied).toBeGreaterThan(0);
    const compacted = leaderServer.storage.createSnapshotAndCompact(status.applied, status.config, encoder.encode(JSON.stringify(leaderServer.applied)));
    expect(compacted).toBe(true);

    cluster.restartFromDisk(follower);
    expect(cluster.server(follower).applied).toEqual([]); // the follower had no snapshot of its own
    cluster.stabilize();
    for (let i = 0; i < 5; i++) {
      for (const server of cluster.servers.values()) server.node?.tick();
      cluster.stabilize();
    }
    cluster.propose(leader, 41, 45);
    for (const id of ids) expect(cluster.server(id).applied, `node ${id}`).toEqual(puts(1, 45));
    expect(cluster.server(follower).storage.snapshot().metadata.index).toBeGreaterThan(0);

    // Every node losing power and restarting from disk replays the same state.
    for (const id of ids) {
      cluster.stop(id, "power-loss");
      cluster.restartFromDisk(id);
    }
    const again = cluster.tickUntilLeader();
    cluster.propose(again, 46, 46);
    for (const id of ids) expect(cluster.server(id).applied, `node ${id} after a full restart`).toEqual(puts(1, 46));
  });
});
