// Seeded random runs of the cluster simulator with faults (loss, duplication, delay, reordering,
// partitions, one-way cuts, crashes losing unsynced state, restarts, compaction, membership changes,
// leadership transfers), checking the Raft paper's safety properties after every step and
// progress once the faults stop. A failure prints `seed N (rerun with SEED=N)`.
// Soak: SEED_RUNS=20000 RAFT_STEPS=400 npx vitest run tests/random-faults.test.ts; one seed with
// every log line: SEED=N RAFT_TRACE=1 npx vitest run tests/random-faults.test.ts
import { describe, expect, it } from "vitest";
import { nodeId } from "../src/index.ts";
import { createSeededRandom, forEachSeed, seedsToRun } from "@meshwork/testing";
import type { SeededRandom } from "@meshwork/testing";
import { SafetyChecker } from "./safety-checker.ts";
import { SimCluster } from "./sim-cluster.ts";

const steps = Number(process.env["RAFT_STEPS"] ?? 400);
const seedOptions = { runs: 2000 };
const pool = ["1", "2", "3", "4", "5"];
/** RAFT_TRACE=1 prints every node's log lines (use with SEED=N to read one failing run). */
const trace = process.env["RAFT_TRACE"] === "1";
const traceLogger = { info: (line: string) => console.log(line), warn: (line: string) => console.log(line), debug: (line: string) => console.log(line) };
const encoder = new TextEncoder();

/** One seed: random faults for `steps` steps, then a calm period in which a proposal must commit everywhere. */
export function runFaultSeed(seed: number, stepCount: number, flaw: "none" | "unsynced-hard-state" = "none", leaderSendsFirst = false): { applied: number } {
  const random: SeededRandom = createSeededRandom(seed);
  const voters = random.bool() ? ["1", "2", "3"] : pool;
  const checker = new SafetyChecker();
  const c = new SimCluster({
    random: random.fork(),
    voters,
    spares: pool.filter((id) => !voters.includes(id)),
    raft: { electionTick: 10, heartbeatTick: 2, maxSizePerMsg: 200, maxInflightMsgs: 4, snapshotTimeoutTick: 60, ...(trace ? { logger: traceLogger } : {}) },
    faults: { dropRate: random.int(0, 10) / 100, duplicateRate: random.int(0, 5) / 100, minDelayTicks: 0, maxDelayTicks: random.int(0, 3), reorder: random.bool(0.7) },
    flaw,
    leaderSendsFirst,
    onReady: (member, ready, before) => checker.observe(member, ready, before),
  });
  let proposals = 0;
  const pickLive = () => {
    const live = c.live();
    return live.length === 0 ? undefined : random.pick(live);
  };

  for (let step = 0; step < stepCount; step++) {
    const r = random.next();
    if (r < 0.3) {
      const id = pickLive();
      if (id !== undefined) c.processReady(id);
    } else if (r < 0.45) {
      c.advanceClock(0.1);
    } else if (r < 0.6) {
      c.deliverDue();
    } else if (r < 0.75) {
      const id = pickLive();
      if (id !== undefined) c.member(id).node.propose(encoder.encode(`s${seed}p${proposals++}`));
    } else if (r < 0.78) {
      const id = pickLive();
      if (id !== undefined) c.member(id).node.readIndex(`r${step}`);
    } else if (r < 0.8) {
      c.network.heal();
      const side = pool.filter(() => random.bool(0.4));
      if (random.bool(0.7)) c.network.partition([side.map(nodeId)]);
    } else if (r < 0.81) {
      c.network.cut(nodeId(random.pick(pool)), nodeId(random.pick(pool)));
    } else if (r < 0.82) {
      const id = pickLive();
      if (id !== undefined && c.live().length > 2) c.crash(id);
    } else if (r < 0.84) {
      const down = c.ids.filter((id) => c.member(id).crashed);
      if (down.length > 0) c.restart(random.pick(down));
    } else if (r < 0.85) {
      const id = pickLive();
      if (id !== undefined) c.compact(id, random.int(0, 4));
    } else if (r < 0.86) {
      const leader = c.leader();
      if (leader !== null) {
        const target = nodeId(random.pick(pool));
        const type = random.pick(["add-voter", "add-learner", "remove-node"] as const);
        const config = c.status(leader).config;
        // Keep at least three voters, so that a crash still leaves a quorum able to make progress.
        if (type === "add-voter" || !config.voters.includes(target) || config.voters.length > 3) c.member(leader).node.proposeConfChange({ type, nodeId: target });
      }
    } else if (r < 0.87) {
      const leader = c.leader();
      if (leader !== null) c.member(leader).node.transferLeader(nodeId(random.pick(pool)));
    } else {
      c.processAll();
      c.deliverDue();
    }
    if (step % 50 === 49) checker.checkLogMatching(c);
  }

  // The faults stop: everyone is back, links are perfect. A leader must emerge and commit everywhere.
  c.network.heal();
  c.network.setFaults({ dropRate: 0, duplicateRate: 0, maxDelayTicks: 0 });
  for (const id of c.ids) if (c.member(id).crashed) c.restart(id);
  const settle = () => {
    for (let k = 0; k < 30; k++) {
      c.processAll();
      if (c.deliverDue() === 0 && !c.ids.some((id) => c.member(id).node.hasReady())) return;
    }
  };
  let committed = false;
  for (let round = 0; round < 400 && !committed; round++) {
    c.advanceClock();
    settle();
    const leader = c.leader();
    if (leader === null || round % 15 !== 14) continue;
    c.member(leader).node.propose(encoder.encode(`final-${seed}-${round}`));
    settle();
    const status = c.status(leader);
    committed = status.config.voters.every((v) => c.status(v).applied >= status.commit && status.commit >= status.lastIndex);
  }
  checker.checkLogMatching(c);
  if (!committed) {
    throw new Error(`no progress after the faults stopped: ${JSON.stringify(c.ids.map((id) => c.status(id)).map((s) => [s.id, s.state, s.term, s.commit, s.config.voters]))}`);
  }
  return { applied: checker.appliedCount };
}

describe("random faults (Raft Figure 3 properties)", () => {
  const count = seedsToRun(seedOptions).length;
  it(`keeps election safety, leader append-only, log matching, leader completeness and state machine safety over ${count} seeds × ${steps} steps, and recovers`, () => {
    let applied = 0;
    forEachSeed(seedOptions, (seed) => {
      applied += runFaultSeed(seed, steps).applied;
    });
    // The runs must commit something, or the checks above checked nothing.
    expect(applied).toBeGreaterThan(count * 5);
  }, 600_000);

  const parallelOptions = { runs: 1000 };
  it(`keeps the same properties when leaders send appends before persisting them (etcd's parallel write) over ${seedsToRun(parallelOptions).length} seeds`, () => {
    let applied = 0;
    forEachSeed(parallelOptions, (seed) => {
      applied += runFaultSeed(seed, steps, "none", true).applied;
    });
    expect(applied).toBeGreaterThan(seedsToRun(parallelOptions).length * 5);
  }, 600_000);

  it("catches a driver that never fsyncs the hard state (a restarted node votes twice in a term) on some seed", () => {
    let caught: string | undefined;
    for (let seed = 1; seed <= 500 && caught === undefined; seed++) {
      try {
        runFaultSeed(seed, steps, "unsynced-hard-state");
      } catch (error) {
        caught = `seed ${seed}: ${String(error)}`;
      }
    }
    expect(caught, "no seed in 1..500 exposed a driver that forgets votes").toMatch(/election safety|state machine safety|leader completeness|log matching|append-only/);
  }, 600_000);
});
