import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSeededRandom } from "./create-seeded-random.ts";
import { SimNetwork, type LinkFaults } from "./sim-network.ts";

interface Msg {
  readonly from: string;
  readonly to: string;
  readonly n: number;
}

const net = (seed: number, faults?: Partial<LinkFaults>) => new SimNetwork<Msg>({ random: createSeededRandom(seed), faults });
const msgs = (from: string, to: string, count: number, start = 0): Msg[] => Array.from({ length: count }, (_, i) => ({ from, to, n: start + i }));

/** Ticks until nothing is in flight; returns [tick, message] pairs. */
function drain(network: SimNetwork<Msg>, maxTicks = 1000): [number, Msg][] {
  const out: [number, Msg][] = [];
  for (let i = 0; i < maxTicks && network.inFlight > 0; i++) {
    for (const m of network.tick()) out.push([network.now, m]);
  }
  return out;
}

describe("SimNetwork", () => {
  it("delivers at once and in order on perfect links", () => {
    const network = net(1);
    network.send([...msgs("a", "b", 3), ...msgs("b", "a", 2)]);
    expect(network.deliverable(0).map((m) => `${m.from}${m.to}${m.n}`)).toEqual(["ab0", "ab1", "ab2", "ba0", "ba1"]);
    expect(network.stats()).toMatchObject({ sent: 5, delivered: 5, dropped: 0, duplicated: 0 });
  });

  it("keeps a FIFO link in order even with random delays", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const network = net(seed, { minDelayTicks: 0, maxDelayTicks: 10 });
      for (let t = 0; t < 20; t++) {
        network.send(msgs("a", "b", 3, t * 3));
        network.tick();
      }
      const got = drain(network).map(([, m]) => m.n);
      expect(got).toEqual([...got].sort((x, y) => x - y));
    }
  });

  it("reorders messages on a reordering link, within the delay range", () => {
    const network = net(2, { minDelayTicks: 2, maxDelayTicks: 6, reorder: true });
    const sentAt = new Map<number, number>();
    for (let t = 0; t < 50; t++) {
      const batch = msgs("a", "b", 2, t * 2);
      batch.forEach((m) => sentAt.set(m.n, network.now));
      network.send(batch);
      network.tick();
    }
    const got = drain(network);
    const order = got.map(([, m]) => m.n);
    expect(order).not.toEqual([...order].sort((x, y) => x - y));
    for (const [tick, m] of got) {
      const delay = tick - (sentAt.get(m.n) ?? 0);
      expect(delay).toBeGreaterThanOrEqual(2);
      expect(delay).toBeLessThanOrEqual(6);
    }
  });

  it("drops and duplicates at roughly the configured rates", () => {
    const network = net(3, { dropRate: 0.3, duplicateRate: 0.2 });
    network.send(msgs("a", "b", 10_000));
    const delivered = network.deliverable(0);
    const stats = network.stats();
    expect(stats.droppedByFault).toBeGreaterThan(2700);
    expect(stats.droppedByFault).toBeLessThan(3300);
    expect(stats.duplicated).toBeGreaterThan(0.2 * 7000 * 0.9);
    expect(stats.duplicated).toBeLessThan(0.2 * 7000 * 1.1);
    expect(delivered.length).toBe(10_000 - stats.droppedByFault + stats.duplicated);
  });

  it("applies per-link faults over the default", () => {
    const network = net(4);
    network.setLinkFaults("a", "b", { dropRate: 1 });
    network.send([...msgs("a", "b", 5), ...msgs("b", "a", 5)]);
    expect(network.deliverable(0).map((m) => m.from)).toEqual(["b", "b", "b", "b", "b"]);
    network.setLinkFaults("a", "b", undefined);
    network.send(msgs("a", "b", 1));
    expect(network.deliverable(0)).toHaveLength(1);
  });

  it("partitions groups both ways; unlisted nodes form a group of their own; heal restores", () => {
    const network = net(5);
    network.partition([["a", "b"], ["c"]]);
    const pairs = [["a", "b"], ["b", "a"], ["a", "c"], ["c", "a"], ["a", "d"], ["d", "e"], ["c", "c"]] as const;
    const canTalk = () => pairs.map(([from, to]) => {
      network.send([{ from, to, n: 0 }]);
      return network.deliverable(network.now).length === 1;
    });
    expect(canTalk()).toEqual([true, true, false, false, false, true, true]);
    network.heal();
    expect(canTalk()).toEqual([true, true, true, true, true, true, true]);
    expect(() => network.partition([["a"], ["a"]])).toThrow(/two groups/);
  });

  it("drops messages in flight across a partition made after they were sent", () => {
    const network = net(6, { minDelayTicks: 3, maxDelayTicks: 3 });
    network.send(msgs("a", "b", 2));
    network.partition([["a"], ["b"]]);
    expect(drain(network)).toEqual([]);
    expect(network.stats().droppedByCut).toBe(2);
  });

  it("cuts one direction only", () => {
    const network = net(7);
    network.cut("a", "b");
    network.send([...msgs("a", "b", 1), ...msgs("b", "a", 1)]);
    expect(network.deliverable(0).map((m) => m.from)).toEqual(["b"]);
    expect(network.isCut("a", "b")).toBe(true);
    network.uncut("a", "b");
    expect(network.isCut("a", "b")).toBe(false);
  });

  it("isolates a crashed node and loses what was in flight to it, until restart", () => {
    const network = net(8, { minDelayTicks: 2, maxDelayTicks: 2 });
    network.send([...msgs("a", "b", 2), ...msgs("b", "a", 1)]);
    network.crash("b");
    network.send([...msgs("a", "b", 1), ...msgs("b", "c", 1)]);
    expect(network.isCrashed("b")).toBe(true);
    expect(drain(network).map(([, m]) => `${m.from}${m.to}`)).toEqual(["ba"]);
    expect(network.stats().droppedByCrash).toBe(4);
    network.restart("b");
    network.send(msgs("a", "b", 1));
    expect(drain(network)).toHaveLength(1);
  });

  it("replays exactly from the same seed, and differs across seeds", () => {
    const run = (seed: number) => {
      const network = net(seed, { dropRate: 0.1, duplicateRate: 0.1, minDelayTicks: 0, maxDelayTicks: 5, reorder: true });
      for (let t = 0; t < 30; t++) {
        network.send([...msgs("a", "b", 2, t * 10), ...msgs("b", "c", 2, t * 10)]);
        network.tick();
      }
      return drain(network).map(([tick, m]) => `${tick}:${m.from}${m.to}${m.n}`);
    };
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));
  });

  it("drops chosen in-flight messages and lists the rest in delivery order", () => {
    const network = net(9, { minDelayTicks: 1, maxDelayTicks: 1 });
    network.send([...msgs("a", "b", 2), ...msgs("a", "c", 1)]);
    expect(network.dropInFlight((m) => m.to === "c").map((m) => m.to)).toEqual(["c"]);
    expect(network.peek().map((m) => m.n)).toEqual([0, 1]);
    expect(network.stats().droppedByFault).toBe(1);
  });

  it("rejects bad settings and time going back", () => {
    expect(() => net(1, { dropRate: 2 })).toThrow(/rates/);
    expect(() => net(1, { minDelayTicks: 3, maxDelayTicks: 1 })).toThrow(/delays/);
    const network = net(1);
    network.deliverable(5);
    expect(() => network.deliverable(4)).toThrow(/cannot go back/);
  });

  // Conservation: every copy is delivered, dropped or still in flight, whatever happens.
  it("accounts for every copy under arbitrary faults and operations (property)", () => {
    const nodes = ["a", "b", "c"] as const;
    const node = fc.constantFrom(...nodes);
    const op = fc.oneof(
      fc.record({ type: fc.constant("send" as const), from: node, to: node, count: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ type: fc.constant("tick" as const), ticks: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ type: fc.constant("partition" as const), split: node }),
      fc.record({ type: fc.constant("heal" as const) }),
      fc.record({ type: fc.constant("crash" as const), node }),
      fc.record({ type: fc.constant("restart" as const), node }),
    );
    fc.assert(
      fc.property(fc.integer(), fc.array(op, { maxLength: 60 }), fc.boolean(), (seed, ops, reorder) => {
        const network = net(seed, { dropRate: 0.2, duplicateRate: 0.2, minDelayTicks: 0, maxDelayTicks: 3, reorder });
        let delivered = 0;
        for (const o of ops) {
          if (o.type === "send") network.send(msgs(o.from, o.to, o.count));
          else if (o.type === "tick") delivered += network.tick(o.ticks).length;
          else if (o.type === "partition") network.partition([[o.split], nodes.filter((n) => n !== o.split)]);
          else if (o.type === "heal") network.heal();
          else if (o.type === "crash") network.crash(o.node);
          else network.restart(o.node);
        }
        const s = network.stats();
        expect(s.delivered).toBe(delivered);
        expect(s.sent + s.duplicated).toBe(s.delivered + s.dropped + network.inFlight);
      }),
      { numRuns: 200 },
    );
  });
});
