// The simulated KV service under faults is linearizable on every seed, by the Wing–Gong checker
// of @meshwork/testing; and the same checker catches deliberately broken variants of the service,
// so the check is not vacuous. Soak: SEED_RUNS=5000 npx vitest run tests/kv-linearizable.test.ts
import { describe, expect, it } from "vitest";
import { checkLinearizable, describeHistory, forEachSeed, kvModel, seedsToRun } from "@meshwork/testing";
import { runKvSeed } from "./kv-sim.ts";
import type { KvSimFlaw } from "./kv-sim.ts";

const seedOptions = { runs: 500 };
const leaseSeedOptions = { runs: 200 };

describe("simulated KV on Raft (linearizability)", () => {
  const count = seedsToRun(seedOptions).length;
  it(`gives linearizable histories with put/get/cas/delete, ReadIndex reads, retries and dedup under faults over ${count} seeds`, () => {
    let completed = 0;
    let pending = 0;
    let retries = 0;
    forEachSeed(seedOptions, (seed) => {
      const run = runKvSeed(seed);
      completed += run.completed;
      pending += run.pending;
      retries += run.retries;
      const result = checkLinearizable(run.history, kvModel);
      if (!result.ok) throw new Error(`${result.explanation}\n${describeHistory(run.history, { key: result.key })}`);
    });
    // The runs must do something, and the faults must force retries and give-ups, or the check is weak.
    expect(completed).toBeGreaterThan(count * 10);
    expect(retries).toBeGreaterThan(count);
    expect(pending).toBeGreaterThan(0);
  }, 600_000);

  it(`gives linearizable histories with lease-based reads (CheckQuorum lease, thesis §6.4.1) under clock drift over ${seedsToRun(leaseSeedOptions).length} seeds`, () => {
    let reads = 0;
    forEachSeed(leaseSeedOptions, (seed) => {
      const run = runKvSeed(seed, { readOnlyOption: "lease-based", clockSkipRate: 0.1 });
      reads += run.history.filter((op) => op.input.op === "get" && op.return !== undefined).length;
      const result = checkLinearizable(run.history, kvModel);
      if (!result.ok) throw new Error(`${result.explanation}\n${describeHistory(run.history, { key: result.key })}`);
    });
    expect(reads).toBeGreaterThan(seedsToRun(leaseSeedOptions).length * 3);
  }, 600_000);

  const parallelOptions = { runs: 300 };
  it(`gives linearizable histories when leaders send appends before persisting them over ${seedsToRun(parallelOptions).length} seeds`, () => {
    let completed = 0;
    forEachSeed(parallelOptions, (seed) => {
      const run = runKvSeed(seed, { leaderSendsFirst: true });
      completed += run.completed;
      const result = checkLinearizable(run.history, kvModel);
      if (!result.ok) throw new Error(`${result.explanation}\n${describeHistory(run.history, { key: result.key })}`);
    });
    expect(completed).toBeGreaterThan(seedsToRun(parallelOptions).length * 10);
  }, 600_000);

  const flaws: { flaw: KvSimFlaw; what: string }[] = [
    { flaw: "stale-reads", what: "servers answering reads from local state without ReadIndex" },
    { flaw: "no-dedup", what: "a state machine that applies retried requests again" },
  ];
  for (const { flaw, what } of flaws) {
    it(`catches ${what} on some seed`, () => {
      let caught: number | undefined;
      for (let seed = 1; seed <= 300 && caught === undefined; seed++) {
        if (!checkLinearizable(runKvSeed(seed, { flaw }).history, kvModel).ok) caught = seed;
      }
      expect(caught, `no seed in 1..300 exposed the "${flaw}" variant`).toBeDefined();
    }, 600_000);
  }
});
