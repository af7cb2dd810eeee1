// Crash faults against a real 3-node registry (child processes on loopback, every Raft
// connection through a fault-injecting relay), under concurrent KV clients on the Consul HTTP
// API: kill -9 of the leader and of a follower with restarts from the same data dir, and kill -9
// of every node. Each history is checked with the linearizability checker: no acknowledged write
// lost, no stale consistent read. The schedule is drawn from the seed (SEED=n reruns one; a
// failure names it).
import { forEachSeedAsync } from "@meshwork/testing";
import { afterAll, beforeAll, describe, it } from "vitest";
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

describe("the registry under crashes", () => {
  it("survives kill -9 of the leader and its restart from the same data dir", scenarioTimeout, async () => {
    await forEachSeedAsync({ runs: 1, firstSeed: 101 }, async (seed) => {
      await runScenario({ seed, cluster }, async ({ random, sleep, note }) => {
        const leader = await cluster.waitForLeader();
        await cluster.kill9(leader);
        note(`kill -9 leader ${leader}`);
        const next = await cluster.waitForLeader(cluster.ids.filter((id) => id !== leader));
        note(`new leader ${next}`);
        await sleep(random.int(200, 800));
        await cluster.restart(leader);
        note(`restarted ${leader}`);
        await sleep(500);
      });
    });
  });

  it("survives kill -9 of a follower and its restart, with the remaining link slowed down", scenarioTimeout, async () => {
    await forEachSeedAsync({ runs: 1, firstSeed: 201 }, async (seed) => {
      await runScenario({ seed, cluster }, async ({ random, sleep, note }) => {
        const leader = await cluster.waitForLeader();
        const follower = random.pick(cluster.ids.filter((id) => id !== leader));
        await cluster.kill9(follower);
        note(`kill -9 follower ${follower}`);
        // The two left must commit every write together: slow their link down too.
        const other = cluster.ids.find((id) => id !== leader && id !== follower) as string;
        const delayMs = random.int(10, 50);
        cluster.setDelay(leader, other, delayMs);
        note(`delay ${leader}<->${other} ${delayMs} ms`);
        await sleep(random.int(500, 1500));
        await cluster.restart(follower);
        note(`restarted ${follower}`);
        await sleep(500);
      });
    });
  });

  it("recovers after every node is killed and restarted", scenarioTimeout, async () => {
    await forEachSeedAsync({ runs: 1, firstSeed: 501 }, async (seed) => {
      await runScenario({ seed, cluster }, async ({ random, sleep, note }) => {
        await sleep(random.int(0, 1000));
        await cluster.restartAll();
        note("kill -9 all, restarted all");
        await cluster.waitForLeader();
        await sleep(500);
      });
    });
  });

});
