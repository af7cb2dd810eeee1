// Seeded simulations of larger clusters under loss and latency: the properties the issue asks of
// the protocol, asserted on simulated time only (figures live in bench/gossip).
import { describe, expect, it } from "vitest";

// Simulations take seconds of CPU; a shared machine may stretch that.
const SLOW = { timeout: 120_000 };
import { measureDetection, measureDissemination, measureFalsePositives } from "./sim-measure.ts";

describe("gossip simulation (seeded)", SLOW, () => {
  it.each([1, 2])("seed %i: every crashed member of 60 is eventually declared dead by every live member", (seed) => {
    const run = measureDetection({ seed, members: 60, crashes: 3, spacingMs: 60_000, lossRate: 0.01 });
    expect(run.samples.length).toBe(3);
    for (const sample of run.samples) {
      expect(sample.firstSuspectMs).toBeDefined();
      expect(sample.allDeadMs).toBeDefined();
    }
    expect(run.falsePositives).toBe(0);
  });

  it.each([1, 2, 3])("seed %i: with Lifeguard, 10 per cent datagram loss never gets a live member declared dead", (seed) => {
    const run = measureFalsePositives({ seed, members: 40, durationMs: 180_000, lossRate: 0.1, lifeguard: true });
    expect(run.suspicions).toBeGreaterThan(0); // the loss does cause suspicions...
    expect(run.deadDeclarations).toBe(0); // ...which are all refuted in time
  });

  it("at 30 per cent loss Lifeguard declares far fewer live members dead than plain SWIM (Lifeguard §V)", () => {
    const withLifeguard = measureFalsePositives({ seed: 4, members: 30, durationMs: 90_000, lossRate: 0.3, lifeguard: true });
    const without = measureFalsePositives({ seed: 4, members: 30, durationMs: 90_000, lossRate: 0.3, lifeguard: false });
    expect(without.deadDeclarations).toBeGreaterThan(0);
    expect(withLifeguard.deadDeclarations * 10).toBeLessThan(without.deadDeclarations);
  });

  it("a user event reaches all of 300 members within a small multiple of log2(n) gossip rounds (SWIM §4.1)", () => {
    const run = measureDissemination({ seed: 5, members: 300, lossRate: 0.05 });
    expect(run.reached).toBe(300);
    expect(run.rounds).toBeLessThan(2 * Math.log2(300));
  });
});
