// Pauses, partitions and restarts against a real 3-node registry (child processes on loopback,
// every Raft connection through a fault-injecting relay), under concurrent KV clients on the
// Consul HTTP API: SIGSTOP/SIGCONT of the leader, the leader partitioned from both followers (a
// minority leader must not acknowledge writes while the majority moves on), and a rolling
// restart. Each history is checked with the linearizability checker. The schedule is drawn from
// the seed (SEED=n reruns one; a failure names it).
import { checkLinearizable, forEachSeedAsync } from "@meshwork/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attempt, type RecordedOperation } from "./support/kv-workload.ts";
import { FaultCluster } from "./support/fault-cluster.ts";
import { runScenario } from "./support/run-scenario.ts";

const scenarioTimeout = { timeout: 90_000 };

// One cluster for the file (process start-ups dominate the run time); each scenario heals it,
// restarts what is down and uses keys of its own.
let cluster: FaultCluster;
beforeAll(async () => {
  cluster = await FaultCluster.start();
}, 60_000);
afterAll(async () => {
  await cluster.close();
});

describe("the registry under pauses, partitions and restarts", () => {
  it("survives SIGSTOP of the leader for 3 s, then SIGCONT", scenarioTimeout, async () => {
    await forEachSeedAsync({ runs: 1, firstSeed: 301 }, async (seed) => {
      await runScenario({ seed, cluster }, async ({ sleep, note }) => {
        const leader = await cluster.waitForLeader();
        cluster.pause(leader);
        note(`SIGSTOP leader ${leader}`);
        await sleep(3000);
        cluster.resume(leader);
        note(`SIGCONT ${leader}`);
        await sleep(500);
      });
    });
  });

  it("never lets a leader cut off from both followers acknowledge a write, while the majority moves on", scenarioTimeout, async () => {
    await forEachSeedAsync({ runs: 1, firstSeed: 401 }, async (seed) => {
      let isolated = "";
      let cutAt = 0;
      let healedAt = 0;
      let staleRead: RecordedOperation | undefined;
      const { history, workload } = await runScenario({ seed, cluster }, async ({ workload, random, sleep, note, prefix }) => {
        isolated = await cluster.waitForLeader();
        // A control key only this test writes: "before" through the leader, then "after" through the majority.
        expect(await workload.write("control", isolated, "control", "before")).toBe("ok");
        cluster.isolate(isolated);
        cutAt = performance.now();
        note(`partitioned leader ${isolated} from both followers`);
        // Writes sent straight to the isolated node while the majority elects and moves on.
        const probes = (async () => {
          for (let k = 0; performance.now() - cutAt < 4000; k++) await workload.write("probe", isolated, random.pick(["a", "b"]), `probe-${k}`);
        })();
        const majority = cluster.ids.filter((id) => id !== isolated);
        const newLeader = await cluster.waitForLeader(majority);
        note(`majority leader ${newLeader}`);
        expect(await workload.write("control", newLeader, "control", "after")).toBe("ok");
        // The negative control: a ?stale read from the cut-off node is stale, and the checker must say so.
        const call = performance.now();
        const answer = await attempt(`${cluster.url(isolated)}/v1/kv/${prefix}control?stale`, { method: "GET" }, 2000);
        if (answer.kind === "done" && answer.status === 200) {
          const [entry] = JSON.parse(answer.body) as { Value: string }[];
          const value = Buffer.from(entry?.Value ?? "", "base64").toString("utf8");
          staleRead = { clientId: "stale-control", node: isolated, input: { op: "get", key: "control" }, call, return: performance.now(), output: { value }, outcome: "200" };
        }
        await probes;
        await sleep(500);
        healedAt = performance.now();
        cluster.heal();
        note("healed");
        await sleep(500);
      });
      const acknowledgedByMinority = history.filter(
        (op) => op.node === isolated && op.input.op !== "get" && op.return !== undefined && op.call >= cutAt && op.return < healedAt && (op.input.op === "put" || op.output?.ok === true),
      );
      expect(acknowledgedByMinority, "writes the isolated node acknowledged during the partition").toEqual([]);
      expect(history.filter((op) => op.clientId === "probe").length, "probe writes sent to the isolated node").toBeGreaterThan(0);
      expect(workload.acknowledgedBetween(cutAt, healedAt), "writes the majority acknowledged during the partition").toBeGreaterThan(1);
      // The harness can fail: the history plus the stale read is rejected.
      expect(staleRead?.output?.value, "the ?stale read on the cut-off node").toBe("before");
      const withStale = checkLinearizable([...history, staleRead as RecordedOperation]);
      expect(withStale.ok, "the checker accepted a stale read").toBe(false);
    });
  });

  it("stays available and linearizable through a rolling restart", scenarioTimeout, async () => {
    await forEachSeedAsync({ runs: 1, firstSeed: 601 }, async (seed) => {
      await runScenario({ seed, cluster }, async ({ random, sleep, note }) => {
        for (const id of random.shuffle(cluster.ids)) {
          const code = await cluster.terminate(id);
          note(`SIGTERM ${id} (exit ${code})`);
          await cluster.restart(id);
          note(`restarted ${id}`);
          await cluster.waitForLeader();
          await sleep(random.int(0, 300));
        }
      });
    });
  });

});
