// Rotation under load at the scale of issue 6: 50 mTLS server/client pairs, each side a workload
// agent with short SVIDs from one real CA (gRPC over TLS, in-process), exchange requests on a
// long-lived connection and on a new connection per request, while every SVID rotates at least 5
// times and the root rotates once (publish old + new, switch, retire the old root once every
// agent holds a chain to the new one). Every request must succeed. Waits on rotation counts and
// bundle arrival, not on time. MESHWORK_PAIRS / MESHWORK_ROTATIONS / MESHWORK_SVID_TTL_SECONDS resize it.
import { createRootCa, generateKeyPair, parseTrustDomain, rootsOf, trustBundles, verifySvid } from "@meshwork/pki";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkloadAgent } from "@meshwork/workload-identity";
import { startCaFixture, type CaFixture } from "./ca-fixture.ts";
import { drive, startPair, type Pair, type PairContext } from "./mtls-pairs.ts";

const pairCount = Number(process.env["MESHWORK_PAIRS"] ?? 50);
const rotationsWanted = Number(process.env["MESHWORK_ROTATIONS"] ?? 5);
const svidTtlSeconds = Number(process.env["MESHWORK_SVID_TTL_SECONDS"] ?? 8);
/**
 * Pauses between a pair's requests. One event loop runs the CA, 100 agents and 100 TLS endpoints
 * on a shared 2-core machine: back-to-back handshakes would queue the agents' renewals behind them
 * for seconds, so new connections are paced (~50 handshakes/s in all with 50 pairs).
 */
const longPauseMs = 50;
const freshPauseMs = 1000;
/** Fresh-connection requests each pair must complete after every agent holds only the new root. */
const roundsAfterRetirement = 3;

let f: CaFixture;
let caClient: ReturnType<CaFixture["client"]>;
beforeAll(async () => {
  f = await startCaFixture(["--rate-limit-per-second", "0"]);
  caClient = f.client();
});
afterAll(async () => {
  caClient?.close();
  await f?.stop();
});

const pairContext = (): PairContext => ({ fixture: f, client: caClient, svidTtlSeconds });

/**
 * How many roots the agent's TLS material trusts. The switch waits for both roots in the material
 * actually in use, and for two renewals since the publish, as an operator would before switching.
 * (This test found an agent bug: a renewal in flight when a bundle arrived used to restore the old
 * roots; libs/workload-identity now rebuilds the material with the newer bundle.)
 */
function rootsInUse(agent: WorkloadAgent): number {
  return agent.current.material.ca.split("-----BEGIN CERTIFICATE-----").length - 1;
}

describe("rotation under load", () => {
  it(`${pairCount} mTLS pairs keep every request working while each SVID rotates ${rotationsWanted} times and the root rotates once`, { timeout: 120_000 }, async () => {
    const td = parseTrustDomain("cluster.local");
    if (!td.ok) throw new Error(td.detail);
    const startedMs = performance.now();
    const failures: string[] = [];
    const pairs: Pair[] = [];
    for (let i = 0; i < pairCount; i++) pairs.push(await startPair(pairContext(), i, failures));
    const agents = pairs.flatMap((p) => [p.serverAgent, p.clientAgent]);
    const oldRoot = rootsOf(f.ca.authority.trustBundles(), td.trustDomain)[0] as Uint8Array;
    const newRoot = await createRootCa({ trustDomain: td.trustDomain, keys: await generateKeyPair(), now: new Date(), ttlSeconds: 86400 });
    const newRootDer = newRoot.chain[0] as Uint8Array;
    const onlyNewRoot = trustBundles([[td.trustDomain, [newRootDer]]]);
    const onlyOldRoot = trustBundles([[td.trustDomain, [oldRoot]]]);

    let phase: "before" | "published" | "switched" | "retired" | "settled" = "before";
    let rotationsAtPublish: number[] = [];
    let rotationsAtSwitch: number[] = [];
    let freshAtSettled: number[] = [];
    let stopped = false;
    const done = () =>
      stopped ||
      (phase === "settled" && agents.every((a) => a.rotations >= rotationsWanted) && pairs.every((p, i) => p.freshRequests >= (freshAtSettled[i] ?? 0) + roundsAfterRetirement));
    const drivers = pairs.map((p, i) => drive(p, { longPauseMs, freshPauseMs, offsetMs: (i * freshPauseMs) / pairCount }, done, failures));

    // The operator's side of the root rotation, stepped on what the agents hold, not on time.
    try {
      for (let polls = 0; !done(); polls++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        if (phase === "before" && agents.every((a) => a.rotations >= 1)) {
          f.ca.authority.publishRoot(newRoot);
          rotationsAtPublish = agents.map((a) => a.rotations);
          phase = "published";
        } else if (phase === "published" && agents.every((a, i) => a.rotations >= (rotationsAtPublish[i] ?? 0) + 2 && rootsOf(a.bundles, td.trustDomain).length === 2 && rootsInUse(a) === 2)) {
          await f.ca.authority.switchParent(newRoot);
          rotationsAtSwitch = agents.map((a) => a.rotations);
          phase = "switched";
        } else if (phase === "switched" && agents.every((a, i) => a.rotations >= (rotationsAtSwitch[i] ?? 0) + 2)) {
          // two renewals after the switch: the second was requested after it, so signed under the new root
          const verified = await Promise.all(agents.map((a) => verifySvid({ chain: a.current.chain, bundles: onlyNewRoot, now: new Date() })));
          expect(verified.filter((v) => !v.ok)).toEqual([]);
          f.ca.authority.retireRoot(oldRoot);
          phase = "retired";
        } else if (phase === "retired" && agents.every((a) => rootsOf(a.bundles, td.trustDomain).length === 1)) {
          freshAtSettled = pairs.map((p) => p.freshRequests);
          phase = "settled";
        }
        if (polls > 2400) throw new Error(`rotation did not progress (phase ${phase}, rotations ${Math.min(...agents.map((a) => a.rotations))})`);
      }
    } finally {
      stopped = true;
      await Promise.all(drivers);
    }

    for (const pair of pairs) {
      pair.detach();
      pair.stopAgents();
      pair.server.close();
    }
    const requests = pairs.reduce((sum, p) => sum + p.longRequests + p.freshRequests, 0);
    const rotations = agents.map((a) => a.rotations);
    console.log(`rotation at scale: ${pairCount} pairs, ${requests} requests, rotations per agent ${Math.min(...rotations)}-${Math.max(...rotations)} (total ${rotations.reduce((s, r) => s + r, 0)}), ${failures.length} failures, ${((performance.now() - startedMs) / 1000).toFixed(1)} s`);
    expect(failures).toEqual([]);
    expect(agents.map((a) => a.failures).filter((n) => n > 0)).toEqual([]);
    expect(rotations.filter((r) => r < rotationsWanted)).toEqual([]);
    for (const pair of pairs) expect(pair.longRequests).toBeGreaterThan(0);
    // after the retirement every agent trusts only the new root, and its chain verifies under it alone
    for (const agent of agents) expect(rootsOf(agent.bundles, td.trustDomain)).toEqual([newRootDer]);
    const underNew = await Promise.all(agents.map((a) => verifySvid({ chain: a.current.chain, bundles: onlyNewRoot, now: new Date() })));
    const underOld = await Promise.all(agents.map((a) => verifySvid({ chain: a.current.chain, bundles: onlyOldRoot, now: new Date() })));
    expect(underNew.filter((v) => !v.ok)).toEqual([]);
    expect(underOld.filter((v) => v.ok)).toEqual([]);
  });
});
