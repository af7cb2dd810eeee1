// Root rotation driven by the CA end to end (issue 6): workload agents (real agents over gRPC,
// following WatchTrustBundle and acknowledging its version with every CSR) keep mTLS traffic
// flowing between pairs — a long-lived connection and a new connection per request — while an
// operator's POST /v1/ca/rotate-root (what `meshctl ca rotate-root` sends) runs to completion:
// the CA publishes {old, new}, switches once every valid SVID was requested by an agent holding
// that bundle, and retires the old root once every valid SVID chains to the new one. Zero failed
// requests; at the moment of retirement every agent has acknowledged and holds a new-root chain.
// Waits on the CA's status and the agents' counters, not on time. MESHWORK_ROTATE_PAIRS resizes it.
import { parseTrustDomain, pemToDer, rootsOf, trustBundles, verifySvid } from "@meshwork/pki";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PublishedBundle } from "../src/certificate-authority.ts";
import { startCaFixture, type CaFixture } from "./ca-fixture.ts";
import { drive, startPair, type Pair, type PairContext } from "./mtls-pairs.ts";

const pairCount = Number(process.env["MESHWORK_ROTATE_PAIRS"] ?? 10);
const svidTtlSeconds = 4;
const longPauseMs = 50;
const freshPauseMs = 300;
/** Fresh-connection requests each pair must complete after the old root is retired everywhere. */
const roundsAfterRetirement = 3;

let f: CaFixture;
let caClient: ReturnType<CaFixture["client"]>;
beforeAll(async () => {
  f = await startCaFixture(["--rate-limit-per-second", "0", "--max-ttl-seconds", String(svidTtlSeconds)]);
  caClient = f.client();
});
afterAll(async () => {
  caClient?.close();
  await f?.stop();
});

const pairContext = (): PairContext => ({ fixture: f, client: caClient, svidTtlSeconds });

describe("meshctl ca rotate-root's API under traffic", () => {
  it(`${pairCount} mTLS pairs keep every request working while the CA rotates its root on its own`, { timeout: 120_000 }, async () => {
    const td = parseTrustDomain("cluster.local");
    if (!td.ok) throw new Error(td.detail);
    const failures: string[] = [];
    const pairs: Pair[] = [];
    for (let i = 0; i < pairCount; i++) pairs.push(await startPair(pairContext(), i, failures));
    const agents = pairs.flatMap((p) => [p.serverAgent, p.clientAgent]);
    const oldRoot = rootsOf(f.ca.authority.trustBundles(), td.trustDomain)[0] as Uint8Array;

    // What the agents hold at the instant the CA drops the old root (the listener runs inside retireRoot).
    let atRetirement: { acknowledged: boolean[]; chainsUnderNewRootOnly: Promise<boolean[]> } | undefined;
    let publishedVersion = 0;
    const unwatch = f.ca.authority.watch((bundle: PublishedBundle) => {
      if (bundle.rootsPem.length === 2 && publishedVersion === 0) publishedVersion = bundle.version;
      if (bundle.rootsPem.length === 1 && publishedVersion > 0 && atRetirement === undefined) {
        const newRoot = pemToDer(bundle.rootsPem[0] ?? "", "CERTIFICATE");
        if (!newRoot.ok) throw new Error(newRoot.detail);
        const onlyNew = trustBundles([[td.trustDomain, [newRoot.der]]]);
        const chains = agents.map((a) => a.current.chain);
        atRetirement = {
          acknowledged: agents.map((a) => (a.bundleVersion ?? 0) >= publishedVersion),
          chainsUnderNewRootOnly: Promise.all(chains.map(async (chain) => (await verifySvid({ chain, bundles: onlyNew, now: new Date() })).ok)),
        };
      }
    });

    let stopped = false;
    let freshAtSettled: number[] | undefined;
    const done = () => stopped || (freshAtSettled !== undefined && pairs.every((p, i) => p.freshRequests >= (freshAtSettled?.[i] ?? 0) + roundsAfterRetirement));
    const drivers = pairs.map((p, i) => drive(p, { longPauseMs, freshPauseMs, offsetMs: (i * freshPauseMs) / pairCount }, done, failures));
    const admin = async (method: string, path: string) => {
      const response = await fetch(`http://127.0.0.1:${f.ca.adminPort}${path}`, { method });
      return { status: response.status, body: (await response.json()) as { rotation: { phase: string; completed: number; waitingFor: string[] }; bundle: { roots: unknown[] } } };
    };
    const phasesSeen = new Set<string>();
    try {
      for (let polls = 0; !agents.every((a) => a.rotations >= 1); polls++) {
        if (polls > 1200) throw new Error("the agents did not renew");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const started = await admin("POST", "/v1/ca/rotate-root");
      expect(started.status).toBe(202);
      expect(started.body.rotation.phase).toBe("published");
      for (let polls = 0; ; polls++) {
        const status = await admin("GET", "/v1/ca/status");
        phasesSeen.add(status.body.rotation.phase);
        if (status.body.rotation.completed === 1) break;
        if (polls > 1200) throw new Error(`the rotation did not finish: ${JSON.stringify(status.body.rotation)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      for (let polls = 0; !agents.every((a) => rootsOf(a.bundles, td.trustDomain).length === 1); polls++) {
        if (polls > 1200) throw new Error("the retired bundle did not reach every agent");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      freshAtSettled = pairs.map((p) => p.freshRequests);
      await Promise.race([Promise.all(drivers), new Promise((resolve) => setTimeout(resolve, 60_000))]);
    } finally {
      stopped = true;
      unwatch();
      await Promise.all(drivers);
    }
    for (const pair of pairs) {
      pair.detach();
      pair.stopAgents();
      pair.server.close();
    }
    const requests = pairs.reduce((sum, p) => sum + p.longRequests + p.freshRequests, 0);
    console.log(`rotate-root under traffic: ${pairCount} pairs, ${requests} requests, ${failures.length} failures, phases seen ${[...phasesSeen].join(" → ")}`);
    expect(failures).toEqual([]);
    expect(agents.map((a) => a.failures).filter((n) => n > 0)).toEqual([]);
    expect([...phasesSeen].filter((p) => !["published", "switched", "idle"].includes(p))).toEqual([]);
    // retired only after every agent acknowledged the bundle with the new root and held a chain under it
    expect(atRetirement).toBeDefined();
    expect(atRetirement?.acknowledged.filter((a) => !a)).toEqual([]);
    expect((await atRetirement?.chainsUnderNewRootOnly)?.filter((ok) => !ok)).toEqual([]);
    const onlyOldRoot = trustBundles([[td.trustDomain, [oldRoot]]]);
    for (const agent of agents) expect(rootsOf(agent.bundles, td.trustDomain)).toHaveLength(1);
    const underOld = await Promise.all(agents.map((a) => verifySvid({ chain: a.current.chain, bundles: onlyOldRoot, now: new Date() })));
    expect(underOld.filter((v) => v.ok)).toEqual([]);
    for (const pair of pairs) expect(pair.longRequests).toBeGreaterThan(0);
  });
});
