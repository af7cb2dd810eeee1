// An in-memory message network for deterministic simulations: messages are delayed, dropped,
// duplicated and reordered per link by a seeded random source, and partitions, one-way cuts and
// crashed nodes stop them, so a whole run replays from one seed.

import type { SeededRandom } from "./create-seeded-random.ts";
import { MinHeap } from "./min-heap.ts";

/** What the network needs of a message: its sender and its receiver. */
export interface Envelope {
  readonly from: string | number;
  readonly to: string | number;
}

/** A node of the network of messages `M`. Ids must stay distinct when turned into strings. */
export type NodeOf<M extends Envelope> = M["from"] | M["to"];

/** The faults of one directed link. Probabilities are in [0, 1]; delays are in ticks. */
export interface LinkFaults {
  /** Chance that a message is lost. */
  readonly dropRate: number;
  /** Chance that a message that was not lost is delivered twice (each copy with its own delay). */
  readonly duplicateRate: number;
  /** A message sent at tick t becomes deliverable at t + a delay drawn uniformly from [min, max]. */
  readonly minDelayTicks: number;
  readonly maxDelayTicks: number;
  /**
   * When false the link is FIFO: a message never overtakes an earlier one on the same link. When
   * true, delays alone decide, and messages due at the same tick come out in random order.
   */
  readonly reorder: boolean;
}

/** A perfect link: no loss, no duplicates, deliverable at once, in order. */
export const NO_FAULTS: LinkFaults = { dropRate: 0, duplicateRate: 0, minDelayTicks: 0, maxDelayTicks: 0, reorder: false };

/** Counters since the network was created. Each duplicate copy counts once in delivered or dropped. */
export interface SimNetworkStats {
  /** Messages handed to `send`. */
  readonly sent: number;
  /** Extra copies created by duplication. */
  readonly duplicated: number;
  /** Copies returned by `deliverable`. */
  readonly delivered: number;
  /** Copies lost for any reason: the sum of the three counters below. */
  readonly dropped: number;
  /** Lost to a link's `dropRate`, or removed with `dropInFlight`. */
  readonly droppedByFault: number;
  /** Stopped by a partition or a one-way cut, at send or at delivery. */
  readonly droppedByCut: number;
  /** Sent by or to a crashed node, or in flight to a node when it crashed. */
  readonly droppedByCrash: number;
}

export interface SimNetworkOptions<M extends Envelope> {
  /** Drives every fault decision; give the network its own fork. */
  readonly random: SeededRandom;
  /** Faults of every link without its own setting (default: `NO_FAULTS`). */
  readonly faults?: Partial<LinkFaults>;
  /** Copies a message for duplication (default: the same object, so treat messages as immutable). */
  readonly clone?: (message: M) => M;
}

interface InFlight<M> {
  readonly message: M;
  readonly deliverAt: number;
  /** Random tie-break for reordering links, 0 for FIFO links. */
  readonly rank: number;
  readonly seq: number;
}

/**
 * The network. Time is in ticks and moves only through `deliverable(now)` or `tick()`; `send`
 * stamps messages with the current tick. Nothing here is specific to a protocol.
 */
export class SimNetwork<M extends Envelope> {
  readonly #random: SeededRandom;
  readonly #clone: (message: M) => M;
  #defaultFaults: LinkFaults;
  readonly #linkFaults = new Map<string, LinkFaults>();
  readonly #queue = new MinHeap<InFlight<M>>(
    (a, b) => a.deliverAt < b.deliverAt || (a.deliverAt === b.deliverAt && (a.rank < b.rank || (a.rank === b.rank && a.seq < b.seq))),
  );
  /** Latest deliverAt per FIFO link, so later messages never overtake. */
  readonly #lastDeliverAt = new Map<string, number>();
  /** Partition group of each listed node; see `partition`. */
  #groups: Map<string, number> | undefined;
  readonly #cuts = new Set<string>();
  readonly #crashed = new Set<string>();
  #now = 0;
  #seq = 0;
  #stats = { sent: 0, duplicated: 0, delivered: 0, droppedByFault: 0, droppedByCut: 0, droppedByCrash: 0 };

  constructor(options: SimNetworkOptions<M>) {
    this.#random = options.random;
    this.#clone = options.clone ?? ((message) => message);
    this.#defaultFaults = checkFaults({ ...NO_FAULTS, ...options.faults });
  }

  /** The current tick. */
  get now(): number {
    return this.#now;
  }

  /** Copies in flight, including ones a cut or crash will stop at delivery. */
  get inFlight(): number {
    return this.#queue.size;
  }

  /** Sets the faults of every link that has no setting of its own (merged over the current default). */
  setFaults(faults: Partial<LinkFaults>): void {
    this.#defaultFaults = checkFaults({ ...this.#defaultFaults, ...faults });
  }

  /** Sets the faults of the directed link from → to (merged over the default); `undefined` removes them. */
  setLinkFaults(from: NodeOf<M>, to: NodeOf<M>, faults: Partial<LinkFaults> | undefined): void {
    const key = linkKey(from, to);
    if (faults === undefined) this.#linkFaults.delete(key);
    else this.#linkFaults.set(key, checkFaults({ ...this.#defaultFaults, ...faults }));
  }

  /** The faults in force on from → to. */
  faultsOf(from: NodeOf<M>, to: NodeOf<M>): LinkFaults {
    return this.#linkFaults.get(linkKey(from, to)) ?? this.#defaultFaults;
  }

  /**
   * Splits the nodes into groups that cannot reach each other, replacing any earlier partition.
   * Nodes listed in no group form one more group together. A node's messages to itself always pass.
   */
  partition(groups: readonly (readonly NodeOf<M>[])[]): void {
    const map = new Map<string, number>();
    groups.forEach((group, index) => {
      for (const node of group) {
        if (map.has(String(node))) throw new Error(`partition(): node ${String(node)} is in two groups`);
        map.set(String(node), index);
      }
    });
    this.#groups = map;
  }

  /** Cuts the directed link from → to (one way: to → from still works). */
  cut(from: NodeOf<M>, to: NodeOf<M>): void {
    this.#cuts.add(linkKey(from, to));
  }

  /** Restores a link cut by `cut`. */
  uncut(from: NodeOf<M>, to: NodeOf<M>): void {
    this.#cuts.delete(linkKey(from, to));
  }

  /** Removes the partition and every cut. Crashed nodes stay crashed, link faults stay. */
  heal(): void {
    this.#groups = undefined;
    this.#cuts.clear();
  }

  /** True when a message from → to would be stopped by a partition or a cut right now. */
  isCut(from: NodeOf<M>, to: NodeOf<M>): boolean {
    if (String(from) === String(to)) return false;
    if (this.#cuts.has(linkKey(from, to))) return true;
    const groups = this.#groups;
    return groups !== undefined && (groups.get(String(from)) ?? -1) !== (groups.get(String(to)) ?? -1);
  }

  /**
   * Isolates a crashed node: messages in flight to it are lost, and it sends and receives nothing
   * until `restart`. Messages it sent before crashing stay in flight, as on a real wire.
   */
  crash(node: NodeOf<M>): void {
    const key = String(node);
    this.#crashed.add(key);
    this.#stats.droppedByCrash += this.#queue.removeWhere((entry) => String(entry.message.to) === key).length;
  }

  /** Lets a crashed node send and receive again. */
  restart(node: NodeOf<M>): void {
    this.#crashed.delete(String(node));
  }

  isCrashed(node: NodeOf<M>): boolean {
    return this.#crashed.has(String(node));
  }

  /**
   * Sends messages at the current tick. Each is checked against crashes and cuts, then against its
   * link's drop rate; it is then scheduled with a random delay and possibly duplicated.
   */
  send(messages: Iterable<M>): void {
    for (const message of messages) {
      this.#stats.sent += 1;
      const { from, to } = message;
      if (this.#crashed.has(String(from)) || this.#crashed.has(String(to))) {
        this.#stats.droppedByCrash += 1;
        continue;
      }
      if (this.isCut(from, to)) {
        this.#stats.droppedByCut += 1;
        continue;
      }
      const faults = this.faultsOf(from, to);
      if (faults.dropRate > 0 && this.#random.bool(faults.dropRate)) {
        this.#stats.droppedByFault += 1;
        continue;
      }
      this.#schedule(message, faults);
      if (faults.duplicateRate > 0 && this.#random.bool(faults.duplicateRate)) {
        this.#stats.duplicated += 1;
        this.#schedule(this.#clone(message), faults);
      }
    }
  }

  /**
   * Moves time to `now` (never backwards) and removes and returns every message due by then, by due
   * tick. Messages whose receiver has crashed or whose link is cut at this moment are dropped.
   */
  deliverable(now: number): M[] {
    if (now < this.#now) throw new Error(`deliverable(${now}): time cannot go back from ${this.#now}`);
    this.#now = now;
    const out: M[] = [];
    for (let entry = this.#queue.peek(); entry !== undefined && entry.deliverAt <= now; entry = this.#queue.peek()) {
      this.#queue.pop();
      const { from, to } = entry.message;
      if (this.#crashed.has(String(to))) this.#stats.droppedByCrash += 1;
      else if (this.isCut(from, to)) this.#stats.droppedByCut += 1;
      else {
        this.#stats.delivered += 1;
        out.push(entry.message);
      }
    }
    return out;
  }

  /** `deliverable(now + ticks)`: advance (default one tick) and take what is due. */
  tick(ticks = 1): M[] {
    return this.deliverable(this.#now + ticks);
  }

  /** The messages in flight in delivery order, without removing them (for printing scenarios). */
  peek(): M[] {
    return this.#queue
      .toArray()
      .sort((a, b) => a.deliverAt - b.deliverAt || a.rank - b.rank || a.seq - b.seq)
      .map((entry) => entry.message);
  }

  /** Removes in-flight messages matching `predicate` (counted as dropped by fault); returns them. */
  dropInFlight(predicate: (message: M) => boolean): M[] {
    const removed = this.#queue.removeWhere((entry) => predicate(entry.message));
    this.#stats.droppedByFault += removed.length;
    return removed.sort((a, b) => a.seq - b.seq).map((entry) => entry.message);
  }

  /** A snapshot of the counters. */
  stats(): SimNetworkStats {
    const s = this.#stats;
    return { ...s, dropped: s.droppedByFault + s.droppedByCut + s.droppedByCrash };
  }

  #schedule(message: M, faults: LinkFaults): void {
    const delay = faults.maxDelayTicks > faults.minDelayTicks ? this.#random.int(faults.minDelayTicks, faults.maxDelayTicks) : faults.minDelayTicks;
    let deliverAt = this.#now + delay;
    let rank = 0;
    if (faults.reorder) {
      rank = this.#random.uint32() + 1;
    } else {
      const key = linkKey(message.from, message.to);
      deliverAt = Math.max(deliverAt, this.#lastDeliverAt.get(key) ?? deliverAt);
      this.#lastDeliverAt.set(key, deliverAt);
    }
    this.#queue.push({ message, deliverAt, rank, seq: this.#seq++ });
  }
}

function linkKey(from: string | number, to: string | number): string {
  return `${String(from)}\u0000${String(to)}`;
}

function checkFaults(faults: LinkFaults): LinkFaults {
  const { dropRate, duplicateRate, minDelayTicks, maxDelayTicks } = faults;
  const isRate = (p: number) => p >= 0 && p <= 1;
  if (!isRate(dropRate) || !isRate(duplicateRate)) throw new Error(`drop and duplicate rates must be in [0, 1], got ${dropRate}, ${duplicateRate}`);
  if (!Number.isSafeInteger(minDelayTicks) || !Number.isSafeInteger(maxDelayTicks) || minDelayTicks < 0 || maxDelayTicks < minDelayTicks) {
    throw new Error(`delays must be integers with 0 <= minDelayTicks <= maxDelayTicks, got ${minDelayTicks}, ${maxDelayTicks}`);
  }
  return faults;
}
