// Seeded random runs with faults (reordered, lost and duplicated messages, partitions, crashes
// with restarts from storage, compaction, membership changes, reads), checking the safety
// properties of the Raft paper (Figure 3) after every step and liveness once the faults stop.
// A failure names its seed. RAFT_SOAK_SEEDS=N runs N seeds instead of the quick default.
import { describe, expect, it } from "vitest";
import { describeMessage, describeReady, logIndex, nodeId } from "../src/index.ts";
import type { Message, NodeId, Ready, Term } from "../src/index.ts";
import { Cluster, text } from "./cluster.ts";
import { seededRandom } from "./seeded-random.ts";

const seeds = Number(process.env["RAFT_SOAK_SEEDS"] ?? 60);
const steps = Number(process.env["RAFT_SOAK_STEPS"] ?? 1500);
const pool = ["1", "2", "3", "4", "5"];
/** RAFT_SEED=N runs only seed N; RAFT_TRACE=1 prints its log lines (for debugging a failure). */
const onlySeed = process.env["RAFT_SEED"] === undefined ? null : Number(process.env["RAFT_SEED"]);
const trace = process.env["RAFT_TRACE"] === "1";

interface Checker {
  /** Election safety: the leader of each term. */
  readonly leaders: Map<Term, NodeId>;
  /** State machine safety: what was applied at each index, as "term/data". */
  readonly applied: Map<number, string>;
}

function pick<T>(random: () => number, items: readonly T[]): T | undefined {
  return items[Math.floor(random() * items.length)];
}

/** Processes one Ready of `id` and checks election safety, leader append-only and state machine safety. */
function processAndCheck(c: Cluster, id: string, check: Checker, seed: number): Ready | undefined {
  const m = c.member(id);
  const lastBefore = m.storage.lastIndex();
  const wasLeader = m.node.status().state === "leader";
  const ready = c.processReady(id);
  if (ready === undefined) return undefined;
  if (trace) console.log(`READY ${id} ${describeReady(ready).replace(/\n/g, " | ")}`);
  const status = m.node.status();
  if (status.state === "leader") {
    const known = check.leaders.get(status.term);
    expect(known === undefined || known === status.id, `seed ${seed}: two leaders in term ${status.term}: ${known} and ${status.id}`).toBe(true);
    check.leaders.set(status.term, status.id);
  }
  const first = ready.entries[0];
  if (wasLeader && first !== undefined) {
    // Leader append-only: a leader never overwrites or deletes entries in its log.
    expect(first.index, `seed ${seed}: leader ${id} rewrote its log from ${first.index} (last ${lastBefore})`).toBe(lastBefore + 1);
  }
  for (const entry of ready.committedEntries) {
    const value = `${entry.term}/${new TextDecoder().decode(entry.data)}/${entry.type}`;
    const seen = check.applied.get(entry.index);
    expect(seen === undefined || seen === value, `seed ${seed}: index ${entry.index} applied as ${seen} and as ${value} (node ${id})`).toBe(true);
    check.applied.set(entry.index, value);
  }
  // Checked when the node has just become leader: every leader before it had a lower term, so
  // everything applied so far was committed in a lower term and must be in its log.
  if (ready.softState?.state === "leader") checkLeaderCompleteness(c, id, check, seed);
  return ready;
}

/** Leader completeness (§5.4): a new leader's log holds every entry applied anywhere so far (where not compacted). */
function checkLeaderCompleteness(c: Cluster, id: string, check: Checker, seed: number): void {
  const storage = c.member(id).storage;
  const maxApplied = Math.max(0, ...check.applied.keys());
  expect(storage.lastIndex(), `seed ${seed}: leader ${id} lacks committed entries up to ${maxApplied}`).toBeGreaterThanOrEqual(maxApplied);
  for (let k = Math.max(storage.firstIndex(), maxApplied - 20); k <= maxApplied; k++) {
    const value = check.applied.get(k);
    if (value === undefined) continue;
    expect(String(storage.term(logIndex(k))), `seed ${seed}: leader ${id} has another entry at committed index ${k}`).toBe(value.split("/")[0]);
  }
}

/** Log matching: if two logs hold an entry with the same index and term, they agree up to it. */
function checkLogMatching(c: Cluster, seed: number): void {
  const members = [...c.members.values()];
  for (const a of members) {
    for (const b of members) {
      if (a.id >= b.id) continue;
      const lo = Math.max(a.storage.firstIndex(), b.storage.firstIndex());
      const hi = Math.min(a.storage.lastIndex(), b.storage.lastIndex());
      let matchedAbove = false;
      for (let k = hi; k >= lo; k--) {
        const same = a.storage.term(logIndex(k)) === b.storage.term(logIndex(k));
        if (matchedAbove) expect(same, `seed ${seed}: logs of ${a.id} and ${b.id} match above ${k} but differ there`).toBe(true);
        if (same) matchedAbove = true;
      }
    }
  }
}

function deliverOne(c: Cluster, index: number): void {
  const [message] = c.queue.splice(index, 1) as [Message];
  const target = c.members.get(message.to);
  if (target === undefined || target.crashed || c.cut.has(`${message.from}->${message.to}`)) return;
  if (trace) console.log(`DELIVER ${describeMessage(message)}`);
  target.node.step(message);
}

function runSeed(seed: number): void {
  const random = seededRandom(seed);
  const voters = random() < 0.5 ? ["1", "2", "3"] : ["1", "2", "3", "4", "5"];
  const c = new Cluster({
    seed,
    voters,
    electionTick: 10,
    heartbeatTick: 2,
    maxSizePerMsg: 200,
    maxInflightMsgs: 4,
    snapshotTimeoutTick: 60,
    ...(trace ? { logger: { info: (l: string) => console.log(l), warn: (l: string) => console.log(l), debug: (l: string) => console.log(l) } } : {}),
  });
  for (const id of pool) if (!c.members.has(nodeId(id))) c.addMember(id);
  const check: Checker = { leaders: new Map(), applied: new Map() };
  let proposals = 0;
  const live = (): string[] => pool.filter((id) => !c.member(id).crashed);

  for (let step = 0; step < steps; step++) {
    const r = random();
    if (r < 0.3 && c.queue.length > 0) {
      // Deliver a random queued message: the network reorders freely.
      deliverOne(c, Math.floor(random() * Math.min(c.queue.length, 8)));
    } else if (r < 0.34 && c.queue.length > 0) {
      c.queue.splice(Math.floor(random() * c.queue.length), 1);
    } else if (r < 0.36 && c.queue.length > 0) {
      c.queue.push(c.queue[Math.floor(random() * c.queue.length)] as Message);
    } else if (r < 0.56) {
      const id = pick(random, live());
      if (id !== undefined) c.node(id).tick();
    } else if (r < 0.8) {
      const id = pick(random, live());
      if (id !== undefined) processAndCheck(c, id, check, seed);
    } else if (r < 0.88) {
      const id = pick(random, live());
      if (id !== undefined) c.node(id).propose(text(`s${seed}p${proposals++}`));
    } else if (r < 0.9) {
      const id = pick(random, live());
      if (id !== undefined) c.node(id).readIndex(`s${seed}r${step}`);
    } else if (r < 0.91) {
      c.heal();
      if (random() < 0.7) c.partition(pool.filter(() => random() < 0.4));
    } else if (r < 0.915) {
      const id = pick(random, live());
      if (id !== undefined && live().length > 2) c.crash(id);
    } else if (r < 0.93) {
      const id = pick(
        random,
        pool.filter((x) => c.member(x).crashed),
      );
      if (id !== undefined) c.restart(id);
    } else if (r < 0.935) {
      const id = pick(random, live());
      if (id !== undefined) {
        const applied = c.status(id).applied;
        if (applied > c.member(id).storage.firstIndex() + 5) c.compact(id, applied - 2);
      }
    } else if (r < 0.94) {
      const leader = c.leader();
      const target = pick(random, pool);
      if (leader !== null && target !== undefined) {
        const type = pick(random, ["add-voter", "add-learner", "remove-node"] as const) ?? "add-voter";
        const config = c.status(leader).config;
        // Keep at least three voters so that crashes leave room for progress.
        if (!(type !== "add-voter" && config.voters.includes(nodeId(target)) && config.voters.length <= 3)) {
          c.node(leader).proposeConfChange({ type, nodeId: nodeId(target) });
        }
      }
    } else if (r < 0.95) {
      const leader = c.leader();
      const target = pick(random, pool);
      if (leader !== null && target !== undefined) c.node(leader).transferLeader(nodeId(target));
    } else {
      // Let the network catch up a little.
      for (let k = 0; k < 3 && c.queue.length > 0; k++) deliverOne(c, 0);
    }
    if (step % 250 === 0) checkLogMatching(c, seed);
  }

  // The faults stop: everyone is back and connected. A leader must emerge and commit.
  c.heal();
  for (const id of pool) if (c.member(id).crashed) c.restart(id);
  let committed = false;
  for (let round = 0; round < 400 && !committed; round++) {
    for (const id of pool) c.node(id).tick();
    for (let k = 0; k < 50 && (c.queue.length > 0 || pool.some((id) => c.node(id).hasReady())); k++) {
      for (const id of pool) processAndCheck(c, id, check, seed);
      while (c.queue.length > 0) deliverOne(c, 0);
    }
    const leader = c.leader();
    if (leader === null || round % 20 !== 19) continue;
    const marker = `final-${seed}-${round}`;
    c.node(leader).propose(text(marker));
    for (let k = 0; k < 50 && (c.queue.length > 0 || pool.some((id) => c.node(id).hasReady())); k++) {
      for (const id of pool) processAndCheck(c, id, check, seed);
      while (c.queue.length > 0) deliverOne(c, 0);
    }
    const voters = c.status(leader).config.voters;
    committed = voters.every((v) => c.appliedData(v).includes(marker) || c.status(v).applied >= c.status(leader).commit);
  }
  checkLogMatching(c, seed);
  const stuck = c.queue.slice(0, 3).map(describeMessage).join("; ");
  expect(committed, `seed ${seed}: no progress after the faults stopped; ${JSON.stringify(pool.map((id) => c.status(id)).map((s) => [s.id, s.state, s.term, s.commit, s.config.voters]))} ${stuck}`).toBe(true);
}

describe("random faults (Raft Figure 3 properties)", () => {
  it(`keeps election safety, leader append-only, log matching, leader completeness and state machine safety over ${seeds} seeds, and recovers`, () => {
    if (onlySeed !== null) runSeed(onlySeed);
    else for (let seed = 1; seed <= seeds; seed++) runSeed(seed);
  }, 60_000 + seeds * steps * 0.05);
});
