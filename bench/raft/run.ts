// bench/raft: committed entries per second of an in-process 3-node cluster (no I/O, no network):
// the leader takes proposals in batches, every node persists each Ready into a MemoryStorage,
// messages go through an in-memory queue. Prints the median of several runs (per wall second, and
// per second of CPU time, which a busy shared machine disturbs less) and the messages sent per
// committed entry (batching efficiency). Goal (issue 4): >= 200,000 entries/s.
// Usage: npx tsx --conditions=@meshwork/source bench/raft/run.ts [entries=300000] [batch=256] [runs=5] [payloadBytes=64]
import { MemoryStorage, RawNode, logIndex, nodeId } from "@meshwork/raft";
import type { Message, NodeId } from "@meshwork/raft";

const total = Number(process.argv[2] ?? 300_000);
const batch = Number(process.argv[3] ?? 256);
const runs = Number(process.argv[4] ?? 5);
const payloadBytes = Number(process.argv[5] ?? 64);
const ids = ["1", "2", "3"].map(nodeId);

interface Member {
  node: RawNode;
  storage: MemoryStorage;
  applied: number;
}

interface RunResult {
  entriesPerSecond: number;
  /** Per second of this process's CPU time: steadier than wall time on a shared machine. */
  entriesPerCpuSecond: number;
  messagesPerEntry: number;
  readiesPerEntry: number;
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function runOnce(): RunResult {
  const members = new Map<NodeId, Member>();
  for (const id of ids) {
    const storage = new MemoryStorage({ confState: { voters: ids, learners: [] } });
    const node = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, random: seeded(Number(id)), maxInflightMsgs: 256 });
    members.set(id, { node, storage, applied: 0 });
  }
  let queue: Message[] = [];
  let messages = 0;
  let readies = 0;
  const pump = (): void => {
    for (const m of members.values()) {
      if (!m.node.hasReady()) continue;
      const ready = m.node.ready();
      readies++;
      m.storage.append(ready.entries);
      if (ready.hardState !== undefined) m.storage.setHardState(ready.hardState);
      for (const message of ready.messages) queue.push(message);
      messages += ready.messages.length;
      m.applied += ready.committedEntries.length;
      m.node.advance(ready);
    }
    const delivering = queue;
    queue = [];
    for (const message of delivering) (members.get(message.to) as Member).node.step(message);
  };
  const leader = members.get(ids[0] as NodeId) as Member;
  leader.node.campaign();
  for (let i = 0; i < 20 && leader.node.status().state !== "leader"; i++) pump();
  for (let i = 0; i < 20; i++) pump();
  const startApplied = leader.applied;
  const startMessages = messages;
  const startReadies = readies;
  let proposed = 0;
  const compactEvery = 10_000;
  let nextCompaction = compactEvery;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  while (leader.applied - startApplied < total) {
    if (proposed < total) {
      const n = Math.min(batch, total - proposed);
      for (let i = 0; i < n; i++) {
        const data = new Uint8Array(payloadBytes);
        data[0] = i & 0xff;
        const result = leader.node.propose(data);
        if (!result.ok) throw new Error(`proposal refused: ${result.reason}`);
      }
      proposed += n;
    }
    pump();
    // The driver compacts applied entries now and then, as the registry will.
    if (leader.applied - startApplied >= nextCompaction) {
      nextCompaction += compactEvery;
      for (const m of members.values()) {
        const at = logIndex(m.node.status().applied - 1000);
        if (m.storage.createSnapshot(at, { voters: ids, learners: [] }, new Uint8Array(0)).ok) m.storage.compact(at);
      }
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const committed = leader.applied - startApplied;
  return {
    entriesPerSecond: committed / seconds,
    entriesPerCpuSecond: committed / ((cpu.user + cpu.system) / 1e6),
    messagesPerEntry: (messages - startMessages) / committed,
    readiesPerEntry: (readies - startReadies) / committed,
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

runOnce(); // warm-up (JIT), not counted
const results: RunResult[] = [];
for (let i = 0; i < runs; i++) results.push(runOnce());
const eps = median(results.map((r) => r.entriesPerSecond));
console.log(`3-node in-process cluster, ${total} entries of ${payloadBytes} B per run, proposals in batches of ${batch}, ${runs} runs`);
console.log(`runs (entries/s): ${results.map((r) => Math.round(r.entriesPerSecond)).join(", ")}`);
console.log(`committed entries/s (median): ${Math.round(eps)} wall, ${Math.round(median(results.map((r) => r.entriesPerCpuSecond)))} per CPU second`);
console.log(`messages per committed entry: ${median(results.map((r) => r.messagesPerEntry)).toFixed(4)}`);
console.log(`Readies per committed entry (all nodes): ${median(results.map((r) => r.readiesPerEntry)).toFixed(4)}`);
console.log(`goal >= 200000 entries/s: ${eps >= 200_000 ? "met" : "NOT met"}`);
