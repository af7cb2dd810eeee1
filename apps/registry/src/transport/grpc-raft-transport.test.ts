// Two real transports on loopback: batches arrive, a peer that restarts is reached again after the
// backoff, snapshots travel in chunks, and Forward carries results and "not leader" refusals.
import type { LogIndex, Message, NodeId, Term } from "@meshwork/raft";
import { afterEach, describe, expect, it } from "vitest";
import { ForwardError, ForwardRejection, GrpcRaftTransport } from "./grpc-raft-transport.ts";
import type { TransportHandler } from "./grpc-raft-transport.ts";

const a = "a" as NodeId;
const b = "b" as NodeId;

interface Recorder extends TransportHandler {
  readonly received: Message[];
  readonly unreachable: string[];
  readonly snapshots: string[];
  leader: boolean;
}

function recorder(): Recorder {
  const r: Recorder = {
    received: [],
    unreachable: [],
    snapshots: [],
    leader: true,
    onMessage: (message) => r.received.push(message),
    onForward: async (request) => {
      if (!r.leader) throw new ForwardRejection("c");
      return { index: 7, resultJson: JSON.stringify({ ok: true, echo: Buffer.from(request.command ?? new Uint8Array()).toString() }) };
    },
    onUnreachable: (peer) => r.unreachable.push(peer),
    onSnapshotSent: (peer, outcome) => r.snapshots.push(`${peer}:${outcome}`),
  };
  return r;
}

function heartbeat(commit: number): Message {
  return { type: "heartbeat", from: a, to: b, term: 1 as Term, commit: commit as LogIndex, context: null };
}

async function waitFor(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const open: GrpcRaftTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function transport(id: NodeId, options: { snapshotChunkBytes?: number } = {}): GrpcRaftTransport {
  const t = new GrpcRaftTransport({ selfId: id, httpAddress: `${id}:8500`, raftAddress: "", backoffInitialMs: 20, backoffMaxMs: 100, ...options, log: process.env["TRANSPORT_TRACE"] === undefined ? undefined : (level, msg, fields) => console.log(id, level, msg, fields) });
  open.push(t);
  return t;
}

describe("GrpcRaftTransport", () => {
  it("delivers batches, reaches a restarted peer again, and reports it unreachable meanwhile", async () => {
    const receiverHandler = recorder();
    let receiver = transport(b);
    const port = await receiver.start("127.0.0.1", 0, receiverHandler);
    const senderHandler = recorder();
    const sender = transport(a);
    await sender.start("127.0.0.1", 0, senderHandler);
    sender.setPeer(b, `127.0.0.1:${port}`);
    sender.send([heartbeat(1), heartbeat(2)]);
    await waitFor("the first batch", () => receiverHandler.received.length === 2);
    expect(receiverHandler.received.map((m) => (m.type === "heartbeat" ? m.commit : -1))).toEqual([1, 2]);

    await receiver.close();
    // While it is down, sends are dropped and reported.
    await waitFor("the peer to be reported unreachable", () => {
      sender.send([heartbeat(3)]);
      return senderHandler.unreachable.includes(b);
    });
    const restartedHandler = recorder();
    receiver = transport(b);
    await receiver.start("127.0.0.1", port, restartedHandler);
    await waitFor("delivery after the restart", () => {
      sender.send([heartbeat(4)]);
      return restartedHandler.received.length > 0;
    });
  });

  it("sends a snapshot in chunks and reports it finished", async () => {
    const receiverHandler = recorder();
    const receiver = transport(b);
    const port = await receiver.start("127.0.0.1", 0, receiverHandler);
    const senderHandler = recorder();
    const sender = transport(a, { snapshotChunkBytes: 1000 });
    sender.setPeer(b, `127.0.0.1:${port}`);
    await sender.start("127.0.0.1", 0, senderHandler);
    const data = new Uint8Array(10_500).map((_, i) => i % 251);
    sender.send([{ type: "snap", from: a, to: b, term: 2 as Term, snapshot: { metadata: { index: 50 as LogIndex, term: 2 as Term, confState: { voters: [a, b], learners: [] } }, data } }]);
    await waitFor("the snapshot", () => receiverHandler.received.length === 1 && senderHandler.snapshots.length === 1);
    const got = receiverHandler.received[0];
    expect(got?.type).toBe("snap");
    if (got?.type === "snap") {
      expect(got.snapshot.metadata.index).toBe(50);
      expect(Buffer.from(got.snapshot.data).equals(Buffer.from(data))).toBe(true);
    }
    expect(senderHandler.snapshots).toEqual(["b:finished"]);
  });

  it("sends a snapshot many times larger than the stream's buffers whole, waiting for it to drain", async () => {
    const receiverHandler = recorder();
    const receiver = transport(b);
    const port = await receiver.start("127.0.0.1", 0, receiverHandler);
    const senderHandler = recorder();
    const sender = transport(a, { snapshotChunkBytes: 64 * 1024 });
    await sender.start("127.0.0.1", 0, senderHandler);
    sender.setPeer(b, `127.0.0.1:${port}`);
    const data = new Uint8Array(24 * 1024 * 1024).map((_, i) => (i * 7) % 253);
    sender.send([{ type: "snap", from: a, to: b, term: 2 as Term, snapshot: { metadata: { index: 90 as LogIndex, term: 2 as Term, confState: { voters: [a, b], learners: [] } }, data } }]);
    // Meanwhile the peer's other calls still go through on the same connection.
    sender.send([heartbeat(5)]);
    await waitFor("the snapshot", () => senderHandler.snapshots.length === 1, 30_000);
    expect(senderHandler.snapshots).toEqual(["b:finished"]);
    const got = receiverHandler.received.find((m) => m.type === "snap");
    expect(got?.type === "snap" && Buffer.from(got.snapshot.data).equals(Buffer.from(data))).toBe(true);
    expect(receiverHandler.received.some((m) => m.type === "heartbeat" && m.commit === 5)).toBe(true);
  }, 30_000);

  it("forwards a request to the leader and carries a not-leader refusal back", async () => {
    const receiverHandler = recorder();
    const receiver = transport(b);
    const port = await receiver.start("127.0.0.1", 0, receiverHandler);
    const sender = transport(a);
    sender.setPeer(b, `127.0.0.1:${port}`);
    const answer = await sender.forward(b, { command: Buffer.from("cmd") });
    expect(Number(answer.index)).toBe(7);
    expect(JSON.parse(answer.resultJson)).toEqual({ ok: true, echo: "cmd" });
    receiverHandler.leader = false;
    const refused = await sender.forward(b, { command: Buffer.from("cmd") }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ForwardError);
    expect((refused as ForwardError).notLeader).toBe(true);
    expect((refused as ForwardError).leaderId).toBe("c");
  });
});
