// One fault scenario end to end: a 3-node FaultCluster (fresh or shared), concurrent KV clients through the
// HTTP API, the scenario's fault schedule (randomized by the seed), then healing, a final
// consistent read of every key from every node, and the linearizability check of the history.
import { checkLinearizable, createSeededRandom, type SeededRandom } from "@meshwork/testing";
import { FaultCluster } from "./fault-cluster.ts";
import { KvWorkload, type RecordedOperation } from "./kv-workload.ts";

export interface ScenarioContext {
  readonly cluster: FaultCluster;
  readonly workload: KvWorkload;
  /** The schedule's randomness (forked from the seed before the workload's). */
  readonly random: SeededRandom;
  /** Sleeps `ms` (the workload keeps running). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Notes for the failure message (what the schedule did, with times). */
  readonly note: (line: string) => void;
  /** The KV prefix of this scenario's keys (`fault/s<seed>/`). */
  readonly prefix: string;
}

export interface ScenarioResult {
  readonly history: readonly RecordedOperation[];
  readonly workload: KvWorkload;
  readonly notes: readonly string[];
}

export interface ScenarioOptions {
  readonly seed: number;
  readonly keys?: readonly string[];
  readonly workers?: number;
  /** Workload time before the faults start (default 1000 ms). */
  readonly warmupMs?: number;
  /** Workload time after the faults healed (default 1500 ms). */
  readonly settleMs?: number;
  /**
   * A running cluster to use (and leave running, healed) instead of a fresh one: scenarios of one
   * file share it to save process start-ups; each scenario has its own key prefix.
   */
  readonly cluster?: FaultCluster;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `faults` against a live cluster under load and checks the history. Throws (with the
 * schedule's notes, the check's explanation and the nodes' last log lines) when the history is not
 * linearizable or the cluster made no progress after healing.
 */
export async function runScenario(options: ScenarioOptions, faults: (ctx: ScenarioContext) => Promise<void>): Promise<ScenarioResult> {
  const root = createSeededRandom(options.seed);
  const random = root.fork();
  const workloadRandom = root.fork();
  const keys = options.keys ?? ["a", "b", "c", "d"];
  const cluster = options.cluster ?? (await FaultCluster.start());
  const prefix = `fault/s${options.seed}/`;
  const notes: string[] = [];
  const started = performance.now();
  const note = (line: string) => notes.push(`${((performance.now() - started) / 1000).toFixed(2)}s ${line}`);
  const endpoints = new Map(cluster.ids.map((id) => [id, cluster.url(id)]));
  const workload = new KvWorkload({ endpoints: () => endpoints, keys, workers: options.workers ?? 6, random: workloadRandom, prefix });
  try {
    note(`leader ${await cluster.waitForLeader()}`);
    workload.start();
    await sleep(options.warmupMs ?? 1000);
    await faults({ cluster, workload, random, sleep, note, prefix });
    cluster.heal();
    for (const id of cluster.ids) {
      if (cluster.node(id).paused) cluster.resume(id);
      if (!cluster.isRunning(id)) await cluster.restart(id);
    }
    note(`healed; leader ${await cluster.waitForLeader()}`);
    const settleFrom = performance.now();
    await sleep(options.settleMs ?? 1500);
    await workload.stop();
    const progress = workload.acknowledgedBetween(settleFrom, Infinity);
    note(`acknowledged writes after healing: ${progress}`);
    // The final word: every key read consistently through every node.
    for (const id of cluster.ids) for (const key of keys) await workload.read("final", id, key);
    const history = workload.history;
    note(`history: ${history.length} operations, stats ${JSON.stringify(workload.stats)}`);
    note(`relays: ${JSON.stringify(cluster.relayStats())}`);
    if (process.env["FAULT_VERBOSE"] !== undefined) console.log(notes.join("\n"));
    const failures: string[] = [];
    const relays = cluster.relayStats();
    for (const [id, stats] of Object.entries(relays)) if (stats.accepted === 0) failures.push(`no Raft connection to ${id} went through its relay`);
    if (progress === 0) failures.push("no write was acknowledged after the faults healed (the cluster did not recover)");
    const finalReads = history.filter((op) => op.clientId === "final" && op.return !== undefined).length;
    if (finalReads < cluster.ids.length * keys.length) failures.push(`only ${finalReads} of ${cluster.ids.length * keys.length} final consistent reads completed`);
    const result = checkLinearizable(history, undefined, { timeoutMs: 30_000 });
    if (!result.ok) failures.push(`${result.reason === "timeout" ? "the linearizability check timed out (no verdict)" : "the history is not linearizable"}:\n${result.explanation}`);
    if (failures.length > 0) {
      const logs = cluster.ids.map((id) => `--- ${id} (last lines) ---\n${cluster.tail(id, 15)}`).join("\n");
      throw new Error(`${failures.join("\n")}\nschedule:\n${notes.join("\n")}\n${logs}`);
    }
    return { history, workload, notes };
  } finally {
    await workload.stop();
    if (options.cluster === undefined) await cluster.close();
  }
}
