import { describe, expect, it } from "vitest";
import { RotationGate, type IssuedSvidRecord } from "./rotation-gate.ts";

const svid = (serialHex: string, over: Partial<IssuedSvidRecord> = {}): IssuedSvidRecord => ({
  serialHex,
  spiffeId: "spiffe://cluster.local/ns/shop/sa/web",
  notAfterMs: 10_000,
  trustBundleVersion: 1,
  underNewRoot: false,
  ...over,
});

describe("RotationGate", () => {
  it("switches only once every valid SVID was requested with the published bundle version", () => {
    const gate = new RotationGate();
    gate.record(svid("a"), 0);
    gate.record(svid("b", { spiffeId: "spiffe://cluster.local/ns/shop/sa/api", trustBundleVersion: 2 }), 0);
    const waiting = gate.evaluate("published", 2, 1000);
    expect(waiting).toMatchObject({ ready: false, validSvids: 2, acknowledged: 1 });
    expect(waiting.waitingFor[0]).toContain("1 of 2 valid SVIDs were requested without the bundle version 2");
    expect(waiting.workloads).toEqual([
      { spiffeId: "spiffe://cluster.local/ns/shop/sa/api", validSvids: 1, acknowledged: 1, underNewRoot: 0 },
      { spiffeId: "spiffe://cluster.local/ns/shop/sa/web", validSvids: 1, acknowledged: 0, underNewRoot: 0 },
    ]);
    gate.record(svid("c", { trustBundleVersion: 2 }), 1000); // "web" renewed with the new bundle, "a" still valid
    expect(gate.evaluate("published", 2, 1000).ready).toBe(false);
    expect(gate.evaluate("published", 2, 10_000)).toMatchObject({ ready: true, validSvids: 0 }); // all expired
  });

  it("is ready to switch once the unacknowledged SVID expired, and an SVID without a version never acknowledges", () => {
    const gate = new RotationGate();
    gate.record(svid("a", { notAfterMs: 5000 }), 0);
    gate.record(svid("b", { notAfterMs: 9000, trustBundleVersion: 3 }), 0);
    expect(gate.evaluate("published", 3, 4999).ready).toBe(false);
    expect(gate.evaluate("published", 3, 5000)).toMatchObject({ ready: true, waitingFor: [], validSvids: 1, acknowledged: 1 });
    gate.record(svid("c", { notAfterMs: 9000, trustBundleVersion: undefined }), 5000);
    expect(gate.evaluate("published", 3, 5000).ready).toBe(false);
  });

  it("retires only when every valid SVID chains to the new root", () => {
    const gate = new RotationGate();
    gate.record(svid("a", { notAfterMs: 5000 }), 0);
    gate.record(svid("b", { notAfterMs: 9000, underNewRoot: true }), 0);
    expect(gate.evaluate("switched", 2, 1000)).toMatchObject({ ready: false, underNewRoot: 1 });
    expect(gate.evaluate("switched", 2, 5000)).toMatchObject({ ready: true, underNewRoot: 1, validSvids: 1 });
  });

  it("waits for SVIDs issued before a restart (blindUntilMs), and never moves from idle", () => {
    const gate = new RotationGate();
    gate.blindUntilMs = 7000;
    expect(gate.evaluate("switched", 2, 6999).waitingFor[0]).toContain("issued before the CA restarted");
    expect(gate.evaluate("switched", 2, 7000).ready).toBe(true);
    expect(gate.evaluate("idle", 0, 7000).ready).toBe(false);
  });
});
