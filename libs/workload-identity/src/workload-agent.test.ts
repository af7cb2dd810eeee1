// The agent with a CA that is a function (libs/pki signing in-process) and fake timers: it renews
// on schedule with a fresh key, keeps the current certificate while renewal fails, retries with
// backoff, pushes new material to a secure-context target, and rebuilds on a bundle change.
import { createIntermediateCa, createRootCa, generateKeyPair, issueSvid, parseCsr, parseTrustDomain, trustBundles, certificatesToPem, type SpiffeId } from "@meshwork/pki";
import { describe, expect, it } from "vitest";
import { WorkloadAgent, type AgentTimers } from "./workload-agent.ts";

const td = parseTrustDomain("cluster.local");
if (!td.ok) throw new Error(td.detail);
const trustDomain = td.trustDomain;
const start = new Date("2026-11-22T10:00:00Z");
const root = await createRootCa({ trustDomain, keys: await generateKeyPair(), now: start, ttlSeconds: 86400 });
const intermediate = await createIntermediateCa({ parent: root, keys: await generateKeyPair(), now: start, ttlSeconds: 86400 });
if (!intermediate.ok) throw new Error(intermediate.detail);
const bundles = trustBundles([[trustDomain, [root.chain[0] as Uint8Array]]]);
const id = "spiffe://cluster.local/ns/shop/sa/web" as SpiffeId;

/** Timers that run only when the test says so. */
function fakeTimers(): AgentTimers & { pending: { callback: () => void; ms: number }[]; fire(): void } {
  const pending: { callback: () => void; ms: number; handle: number }[] = [];
  let next = 1;
  return {
    pending,
    setTimeout(callback, ms) {
      const handle = next++;
      pending.push({ callback, ms, handle });
      return handle;
    },
    clearTimeout(handle) {
      const i = pending.findIndex((p) => p.handle === handle);
      if (i >= 0) pending.splice(i, 1);
    },
    fire() {
      const timer = pending.shift();
      if (!timer) throw new Error("no timer pending");
      timer.callback();
    },
  };
}

describe("WorkloadAgent", () => {
  it("renews at half-life, keeps serving through failures, and swaps material into targets", async () => {
    let now = start;
    let failNext = 0;
    const requests: string[] = [];
    const timers = fakeTimers();
    const agent = await WorkloadAgent.start({
      spiffeId: id,
      bundles,
      clock: () => now,
      timers,
      random: () => 0.5,
      requestCertificate: async (csrPem) => {
        requests.push(csrPem);
        if (failNext > 0) {
          failNext--;
          throw new Error("UNAVAILABLE: the CA is down");
        }
        const csr = await parseCsr(csrPem);
        if (!csr.ok) throw new Error(csr.detail);
        const issued = await issueSvid({ csr: csr.csr, spiffeId: id, ttlSeconds: 3600, issuer: intermediate.ca, now });
        if (!issued.ok) throw new Error(issued.detail);
        return issued.svid.chain.map((der) => certificatesToPem([der]));
      },
    });
    const swapped: string[] = [];
    agent.serve({ setSecureContext: (material) => void swapped.push(material.cert) });
    const first = agent.current;
    expect(timers.pending.map((p) => p.ms)).toEqual([1_800_000]); // 50 % of 1 h

    now = new Date(start.getTime() + 1_800_000);
    failNext = 2;
    timers.fire();
    await waitUntil(() => agent.failures === 1);
    expect(agent.current).toBe(first); // still serving the first certificate
    expect(timers.pending).toHaveLength(1);
    timers.fire();
    await waitUntil(() => agent.failures === 2);
    timers.fire();
    await waitUntil(() => agent.rotations === 1);
    expect(agent.current.material.cert).not.toBe(first.material.cert);
    expect(agent.current.material.key).not.toBe(first.material.key); // a fresh key per certificate
    expect(swapped).toEqual([agent.current.material.cert]);
    expect(new Set(requests).size).toBe(requests.length); // every CSR differs (new key)

    const newRoot = await createRootCa({ trustDomain, keys: await generateKeyPair(), now, ttlSeconds: 86400 });
    agent.updateBundles(trustBundles([[trustDomain, [root.chain[0] as Uint8Array, newRoot.chain[0] as Uint8Array]]]));
    expect(swapped).toHaveLength(2);
    expect(agent.current.material.ca).toContain(certificatesToPem([newRoot.chain[0] as Uint8Array]).trim());
    agent.stop();
    expect(timers.pending).toHaveLength(0);
  });

  it("keeps a bundle update that lands while a renewal is in flight", async () => {
    const timers = fakeTimers();
    let started = false; // the first certificate is answered at once; the renewal is held
    let hold: (() => void) | undefined;
    const agent = await WorkloadAgent.start({
      spiffeId: id,
      bundles,
      clock: () => start,
      timers,
      random: () => 0.5,
      requestCertificate: async (csrPem) => {
        if (started) await new Promise<void>((resolve) => (hold = resolve));
        const csr = await parseCsr(csrPem);
        if (!csr.ok) throw new Error(csr.detail);
        const issued = await issueSvid({ csr: csr.csr, spiffeId: id, ttlSeconds: 3600, issuer: intermediate.ca, now: start });
        if (!issued.ok) throw new Error(issued.detail);
        return issued.svid.chain.map((der) => certificatesToPem([der]));
      },
    });
    started = true;
    timers.fire(); // the renewal asks the CA and waits for its answer
    await waitUntil(() => hold !== undefined);
    const newRoot = await createRootCa({ trustDomain, keys: await generateKeyPair(), now: start, ttlSeconds: 86400 });
    agent.updateBundles(trustBundles([[trustDomain, [root.chain[0] as Uint8Array, newRoot.chain[0] as Uint8Array]]]));
    hold?.();
    await waitUntil(() => agent.rotations === 1);
    expect(agent.current.material.ca).toContain(certificatesToPem([newRoot.chain[0] as Uint8Array]).trim());
    agent.stop();
  });
});

describe("WorkloadAgent acknowledgement", () => {
  it("sends the version of the bundle it holds with every CSR: the start's, then each update's", async () => {
    const timers = fakeTimers();
    const held: (number | undefined)[] = [];
    const agent = await WorkloadAgent.start({
      spiffeId: id,
      bundles,
      bundleVersion: 3,
      clock: () => start,
      timers,
      random: () => 0.5,
      requestCertificate: async (csrPem, ack) => {
        held.push(ack.trustBundleVersion);
        const csr = await parseCsr(csrPem);
        if (!csr.ok) throw new Error(csr.detail);
        const issued = await issueSvid({ csr: csr.csr, spiffeId: id, ttlSeconds: 3600, issuer: intermediate.ca, now: start });
        if (!issued.ok) throw new Error(issued.detail);
        return issued.svid.chain.map((der) => certificatesToPem([der]));
      },
    });
    expect(agent.bundleVersion).toBe(3);
    agent.updateBundles(bundles, 4);
    expect(agent.bundleVersion).toBe(4);
    timers.fire();
    await waitUntil(() => agent.rotations === 1);
    expect(held).toEqual([3, 4]);
    agent.stop();
  });
});

/** Waits (polling, at most ~20 s on a loaded machine) for real async crypto until `condition` holds. */
async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 4000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}
