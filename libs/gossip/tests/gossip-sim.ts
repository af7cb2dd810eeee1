// A seeded, in-process simulation of a gossip cluster: every member is a real `Memberlist`, packets
// are real encoded (optionally encrypted) bytes, and a discrete-event loop delivers them with
// per-packet loss and latency. Used by the simulation tests and bench/gossip/simulate.ts.

import { Memberlist } from "../src/index.ts";
import type { Cipher, GossipEvent, GossipSettings, Keyring, MemberRecord } from "../src/index.ts";

/**
 * A seeded generator (mulberry32). The shared kit's createSeededRandom is not used so that
 * bench/gossip can run this file outside vitest (@meshwork/testing imports vitest).
 */
export class SeededRandom {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  fork(): SeededRandom {
    return new SeededRandom(Math.floor(this.next() * 4_294_967_296) ^ 0x9e3779b9);
  }
}

export interface SimOptions {
  readonly seed: number;
  readonly settings?: Partial<GossipSettings>;
  /** Chance that a datagram is lost (streams are reliable, like TCP). */
  readonly lossRate?: number;
  /** One-way latency, uniform in [min, max] ms. */
  readonly minLatencyMs?: number;
  readonly maxLatencyMs?: number;
  readonly crypto?: { readonly keyring: () => Keyring; readonly cipher: Cipher };
}

/** An event with the member that emitted it and the sim time. */
export interface SimEvent {
  readonly atMs: number;
  readonly at: string;
  readonly event: GossipEvent;
}

interface SimNode {
  readonly name: string;
  core: Memberlist;
  crashed: boolean;
  /** Bumped on every interaction; a wake-up with an older generation is stale. */
  generation: number;
}

type Job =
  | { readonly kind: "wake"; readonly node: string; readonly generation: number }
  | { readonly kind: "packet"; readonly to: string; readonly from: string; readonly bytes: Uint8Array }
  | { readonly kind: "stream"; readonly to: string; readonly from: string; readonly bytes: Uint8Array; readonly isReply: boolean };

interface Scheduled {
  readonly atMs: number;
  readonly seq: number;
  readonly job: Job;
}

class Heap {
  readonly #items: Scheduled[] = [];
  get size(): number {
    return this.#items.length;
  }
  peek(): Scheduled | undefined {
    return this.#items[0];
  }
  #less(a: Scheduled, b: Scheduled): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }
  push(item: Scheduled): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(items[i] as Scheduled, items[parent] as Scheduled)) break;
      [items[i], items[parent]] = [items[parent] as Scheduled, items[i] as Scheduled];
      i = parent;
    }
  }
  pop(): Scheduled | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.#less(items[l] as Scheduled, items[m] as Scheduled)) m = l;
        if (r < items.length && this.#less(items[r] as Scheduled, items[m] as Scheduled)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m] as Scheduled, items[i] as Scheduled];
        i = m;
      }
    }
    return top;
  }
}

export class GossipSim {
  readonly nodes = new Map<string, SimNode>();
  readonly events: SimEvent[] = [];
  /** Called for every event as it happens (e.g. to answer queries). */
  onEvent: ((event: SimEvent, core: Memberlist) => void) | undefined;
  readonly #options: SimOptions;
  readonly #random: SeededRandom;
  readonly #heap = new Heap();
  #now = 0;
  #seq = 0;
  #side: Set<string> | undefined;
  lossRate: number;
  packetsDropped = 0;

  constructor(options: SimOptions) {
    this.#options = options;
    this.#random = new SeededRandom(options.seed);
    this.lossRate = options.lossRate ?? 0;
  }

  get nowMs(): number {
    return this.#now;
  }

  /** Adds a member. `knownMembers` starts it converged (no join traffic). */
  add(name: string, knownMembers?: readonly MemberRecord[]): Memberlist {
    const random = this.#random.fork();
    const crypto = this.#options.crypto;
    const core = new Memberlist({
      name,
      address: name,
      nowMs: this.#now,
      random: () => random.next(),
      ...(this.#options.settings === undefined ? {} : { settings: this.#options.settings }),
      ...(knownMembers === undefined ? {} : { knownMembers }),
      ...(crypto === undefined ? {} : { keyring: crypto.keyring(), cipher: crypto.cipher }),
    });
    const node: SimNode = { name, core, crashed: false, generation: 0 };
    this.nodes.set(name, node);
    this.#after(node);
    return core;
  }

  /** Adds `count` members named node-0… that all know each other from the start. */
  addConverged(count: number, prefix = "node-", tags: Readonly<Record<string, string>> = {}): void {
    const records: MemberRecord[] = [];
    for (let i = 0; i < count; i++) {
      records.push({ name: `${prefix}${i}`, address: `${prefix}${i}`, incarnation: 0, state: "alive", tags, ltime: 1 });
    }
    for (const record of records) this.add(record.name, records);
  }

  core(name: string): Memberlist {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`sim: no member ${name}`);
    return node.core;
  }

  /** Cuts every link between `side` and the other members (datagrams and streams) until `heal`. */
  partition(side: readonly string[]): void {
    this.#side = new Set(side);
  }

  heal(): void {
    this.#side = undefined;
  }

  #isCut(a: string, b: string): boolean {
    return this.#side !== undefined && this.#side.has(a) !== this.#side.has(b);
  }

  /** Stops a member dead: it neither sends nor receives from now on. */
  crash(name: string): void {
    const node = this.nodes.get(name);
    if (node !== undefined) node.crashed = true;
  }

  /** Runs `fn` against a member's core at the current time, then sends what it produced. */
  act(name: string, fn: (core: Memberlist) => void): void {
    const node = this.nodes.get(name);
    if (node === undefined || node.crashed) return;
    node.core.tick(this.#now);
    fn(node.core);
    this.#after(node);
  }

  /** Runs the simulation until `untilMs` of sim time. */
  runUntil(untilMs: number): void {
    for (;;) {
      const next = this.#heap.peek();
      if (next === undefined || next.atMs > untilMs) break;
      this.#heap.pop();
      this.#now = Math.max(this.#now, next.atMs);
      this.#run(next.job);
    }
    this.#now = Math.max(this.#now, untilMs);
  }

  runFor(ms: number): void {
    this.runUntil(this.#now + ms);
  }

  #run(job: Job): void {
    const node = this.nodes.get(job.kind === "wake" ? job.node : job.to);
    if (node === undefined || node.crashed) return;
    if (job.kind !== "wake" && this.#isCut(job.from, job.to)) return;
    const core = node.core;
    switch (job.kind) {
      case "wake":
        if (job.generation !== node.generation) return;
        core.tick(this.#now);
        break;
      case "packet":
        core.tick(this.#now);
        core.step(job.bytes, job.from);
        break;
      case "stream": {
        core.tick(this.#now);
        const reply = core.receiveStream(job.bytes, job.from);
        if (reply !== undefined && !job.isReply) {
          this.#schedule(this.#latency() * 2, { kind: "stream", to: job.from, from: node.name, bytes: reply, isReply: true });
        }
        break;
      }
    }
    this.#after(node);
  }

  #latency(): number {
    const min = this.#options.minLatencyMs ?? 1;
    const max = this.#options.maxLatencyMs ?? 10;
    return min + Math.floor(this.#random.next() * (max - min + 1));
  }

  #schedule(delayMs: number, job: Job): void {
    this.#heap.push({ atMs: this.#now + delayMs, seq: this.#seq++, job });
  }

  #after(node: SimNode): void {
    let ready = node.core.ready();
    if (ready.events.length > 0) {
      for (const event of ready.events) {
        const simEvent = { atMs: this.#now, at: node.name, event };
        this.events.push(simEvent);
        this.onEvent?.(simEvent, node.core);
      }
      // Handlers may have answered queries: send that in the same turn.
      const more = node.core.ready();
      ready = { packets: [...ready.packets, ...more.packets], streams: [...ready.streams, ...more.streams], events: [] };
    }
    for (const packet of ready.packets) {
      if (this.lossRate > 0 && this.#random.next() < this.lossRate) {
        this.packetsDropped++;
        continue;
      }
      this.#schedule(this.#latency(), { kind: "packet", to: packet.to, from: node.name, bytes: packet.bytes });
    }
    for (const stream of ready.streams) {
      this.#schedule(this.#latency() * 2, { kind: "stream", to: stream.to, from: node.name, bytes: stream.bytes, isReply: false });
    }
    node.generation++;
    const wakeAt = Math.max(node.core.nextTickMs(), this.#now + 1);
    this.#heap.push({ atMs: wakeAt, seq: this.#seq++, job: { kind: "wake", node: node.name, generation: node.generation } });
  }
}
