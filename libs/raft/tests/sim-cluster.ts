// The deterministic cluster simulator: N RawNodes in one process over `SimNetwork` from
// @meshwork/testing, driven by one seeded random source, with crashes that lose what was not
// fsynced, restarts from exactly what was persisted, compaction, and a pluggable state machine.
import { MemoryStorage, RawNode, nodeId } from "../src/index.ts";
import type { ConfState, Entry, LogIndex, Message, NodeId, RaftConfig, ReadState, Ready, Snapshot, Status } from "../src/index.ts";
import { SimNetwork } from "@meshwork/testing";
import type { LinkFaults, SeededRandom } from "@meshwork/testing";

/** The application on top of a node; the simulator feeds it each Ready's snapshot, entries and reads. */
export interface SimStateMachine {
  /** Replaces the whole state with a snapshot's (on InstallSnapshot and on restart). */
  restore(snapshot: Snapshot): void;
  /** Applies one committed entry (conf changes and empty no-ops included), in log order. */
  apply(entry: Entry): void;
  /** Read points released by ReadIndex, after this Ready's entries were applied. */
  release(states: readonly ReadState[]): void;
  /** The state as snapshot data, for compaction at the last applied index. */
  snapshotData(): Uint8Array;
}

/** Raft options shared by every simulated node. */
export type SimRaftOptions = Partial<Omit<RaftConfig, "id" | "storage" | "random" | "applied">>;

/** Creation options of a simulated cluster. */
export interface SimClusterOptions {
  /** The one source of randomness: the network, every node's election timeouts and restarts fork it. */
  readonly random: SeededRandom;
  /** Founding voters, e.g. ["1", "2", "3"]. */
  readonly voters: readonly string[];
  /** More nodes that start with an empty log and join when a conf change adds them. */
  readonly spares?: readonly string[];
  readonly raft?: SimRaftOptions;
  /** The faults of every link (see `SimNetwork`). */
  readonly faults?: Partial<LinkFaults>;
  /** Creates a node's state machine, empty (the simulator restores it from a snapshot if there is one). */
  readonly createStateMachine?: (id: NodeId) => SimStateMachine;
  /**
   * A deliberately broken driver, to show the safety checks catch it: "unsynced-hard-state" never
   * fsyncs the hard state, so a crash forgets the node's term and vote.
   */
  readonly flaw?: "none" | "unsynced-hard-state";
  /**
   * Drive like etcd's server (and the registry): a Ready with `sendBeforePersist` has its messages
   * sent first; half of all Readies are persisted only at the node's next `processReady` (a slow
   * disk), with their committed entries applied at once and `takeEarlyMessages` streamed meanwhile
   * — a crash in between loses the entries the followers may already hold.
   */
  readonly leaderSendsFirst?: boolean;
  /** Called after each Ready was persisted, sent and applied, before `advance` (for safety checks). */
  readonly onReady?: (member: SimMember, ready: Ready, before: ReadyContext) => void;
}

/** What a node looked like just before the Ready `onReady` receives. */
export interface ReadyContext {
  readonly wasLeader: boolean;
  readonly lastIndexBefore: LogIndex;
}

/** One simulated server: its node (gone while crashed), its disk, and its application. */
export interface SimMember {
  readonly id: NodeId;
  node: RawNode;
  /** What survived: everything fsynced. Never replaced, only written through Readies. */
  readonly storage: MemoryStorage;
  machine: SimStateMachine;
  crashed: boolean;
  /**
   * A hard state written by a Ready that did not need fsync (a commit-only change, `mustSync`
   * false): it sits in the page cache until the next synced write and is lost if the node crashes.
   */
  unsyncedHardState: Ready["hardState"];
  /** The last index applied to `machine`. */
  appliedIndex: LogIndex;
  /** A Ready handed out but not persisted yet (`leaderSendsFirst`); `sent`: its messages left already (a leader's). */
  sentUnpersisted: { readonly ready: Ready; readonly before: ReadyContext; readonly sent: boolean } | undefined;
}

/** A machine that keeps nothing, for runs that only check the log. */
export const nullStateMachine: SimStateMachine = {
  restore: () => undefined,
  apply: () => undefined,
  release: () => undefined,
  snapshotData: () => new Uint8Array(0),
};

/**
 * The simulator. Time is the network's tick: `advanceClock` moves it by one, ticks every live
 * node's Raft clock and delivers the messages due; `processReady` runs one turn of a node's driver
 * loop. A test picks these actions (and faults) with the same seeded random source.
 */
export class SimCluster {
  readonly network: SimNetwork<Message>;
  readonly members = new Map<NodeId, SimMember>();
  readonly ids: readonly NodeId[];
  readonly #random: SeededRandom;
  readonly #options: SimClusterOptions;
  /** Readies whose committed entries were applied before they were persisted (`leaderSendsFirst`). */
  readonly #appliedEarly = new WeakSet<Ready>();

  constructor(options: SimClusterOptions) {
    this.#options = options;
    this.#random = options.random;
    this.network = new SimNetwork<Message>({ random: options.random.fork(), ...(options.faults ? { faults: options.faults } : {}) });
    const bootstrap: ConfState = { voters: options.voters.map(nodeId), learners: [] };
    for (const id of options.voters) this.#addMember(id, new MemoryStorage({ bootstrap }));
    for (const id of options.spares ?? []) this.#addMember(id, new MemoryStorage());
    this.ids = [...this.members.keys()];
  }

  #addMember(id: string, storage: MemoryStorage): void {
    const member: SimMember = {
      id: nodeId(id),
      node: this.#createNode(id, storage),
      storage,
      machine: this.#createMachine(nodeId(id), storage),
      crashed: false,
      unsyncedHardState: undefined,
      appliedIndex: storage.snapshot().metadata.index,
      sentUnpersisted: undefined,
    };
    this.members.set(member.id, member);
  }

  #createNode(id: string, storage: MemoryStorage): RawNode {
    const random = this.#random.fork();
    return new RawNode({ electionTick: 10, heartbeatTick: 1, ...this.#options.raft, id: nodeId(id), storage, random: () => random.next() });
  }

  #createMachine(id: NodeId, storage: MemoryStorage): SimStateMachine {
    const machine = this.#options.createStateMachine?.(id) ?? nullStateMachine;
    const snapshot = storage.snapshot();
    if (snapshot.metadata.index > 0) machine.restore(snapshot);
    return machine;
  }

  member(id: string): SimMember {
    const member = this.members.get(nodeId(id));
    if (member === undefined) throw new Error(`no node ${id}`);
    return member;
  }

  status(id: string): Status {
    return this.member(id).node.status();
  }

  /** Ids of the nodes that are up. */
  live(): NodeId[] {
    return this.ids.filter((id) => !this.member(id).crashed);
  }

  /** The live leader with the highest term, or null. */
  leader(): NodeId | null {
    let best: Status | null = null;
    for (const id of this.live()) {
      const s = this.status(id);
      if (s.state === "leader" && (best === null || s.term > best.term)) best = s;
    }
    return best?.id ?? null;
  }

  /**
   * One turn of `id`'s driver loop: persist the Ready (snapshot, entries, hard state; fsync only if
   * `mustSync`), send its messages, apply its snapshot, committed entries and read states, advance.
   */
  processReady(id: string): Ready | undefined {
    const m = this.member(id);
    if (m.crashed) return undefined;
    const waiting = m.sentUnpersisted;
    if (waiting !== undefined) {
      // Still persisting: what may leave early does (takeEarlyMessages), or the write completes.
      if (this.#random.bool(0.5)) {
        const early = m.node.takeEarlyMessages();
        // Any node may also apply what is committed meanwhile (stable or still being persisted), as the registry does.
        const applied = this.#applyCommittedWhileSaving(m);
        if (early.length > 0 || applied) {
          this.network.send(early);
          return waiting.ready;
        }
      }
      m.sentUnpersisted = undefined;
      this.#persistApplyAdvance(m, waiting.ready, waiting.before, waiting.sent);
      return waiting.ready;
    }
    if (!m.node.hasReady()) return undefined;
    const before: ReadyContext = { wasLeader: m.node.status().state === "leader", lastIndexBefore: m.storage.lastIndex() };
    const ready = m.node.ready();
    const slowDisk = this.#options.leaderSendsFirst === true;
    const sentFirst = slowDisk && ready.sendBeforePersist;
    if (sentFirst) this.network.send(ready.messages);
    if (slowDisk && this.#random.bool(0.5)) {
      // The write takes until this node's next turn. Committed entries are on a quorum's disks
      // already: apply them now, as the registry does, before this Ready is persisted.
      if (ready.snapshot === undefined && !ready.committedEntries.some((entry) => entry.type === "conf-change")) {
        this.#apply(m, ready);
        this.#appliedEarly.add(ready);
      }
      m.sentUnpersisted = { ready, before, sent: sentFirst };
      return ready;
    }
    this.#persistApplyAdvance(m, ready, before, sentFirst);
    return ready;
  }

  #persistApplyAdvance(m: SimMember, ready: Ready, before: ReadyContext, sent: boolean): void {
    const id = m.id;
    if (ready.snapshot !== undefined) {
      const stored = m.storage.applySnapshot(ready.snapshot);
      if (!stored.ok) throw new Error(`node ${id}: applySnapshot(${ready.snapshot.metadata.index}): ${stored.reason}`);
    }
    m.storage.append(ready.entries);
    if (ready.mustSync && this.#options.flaw !== "unsynced-hard-state") {
      // A synced write flushes whatever hard state was waiting in the page cache with it.
      const hardState = ready.hardState ?? m.unsyncedHardState;
      if (hardState !== undefined) m.storage.setHardState(hardState);
      m.unsyncedHardState = undefined;
    } else if (ready.hardState !== undefined || ready.mustSync) {
      m.unsyncedHardState = ready.hardState ?? m.unsyncedHardState;
    }
    if (!sent) this.network.send(ready.messages);
    if (!this.#appliedEarly.delete(ready)) this.#apply(m, ready);
    this.#options.onReady?.(m, ready, before);
    m.node.advance(ready);
  }

  /** While a Ready is persisted: applies the committed entries the node hands out (`takeCommittedEntries`, up to a conf change, persisted or not); whether any were. */
  #applyCommittedWhileSaving(m: SimMember): boolean {
    let any = false;
    for (const entry of m.node.takeCommittedEntries(Number.MAX_SAFE_INTEGER)) {
      m.machine.apply(entry);
      m.appliedIndex = entry.index;
      any = true;
    }
    return any;
  }

  /** Applies a Ready's snapshot, committed entries (those not applied yet) and read states. */
  #apply(m: SimMember, ready: Ready): void {
    if (ready.snapshot !== undefined) {
      m.machine.restore(ready.snapshot);
      m.appliedIndex = ready.snapshot.metadata.index;
    }
    for (const entry of ready.committedEntries) {
      if (entry.index <= m.appliedIndex) continue;
      m.machine.apply(entry);
      m.appliedIndex = entry.index;
    }
    m.machine.release(ready.readStates);
  }

  /** Runs `processReady` on every live node until none has a Ready (bounded). */
  processAll(maxRounds = 20): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const id of this.ids) if (this.processReady(id) !== undefined) moved = true;
      if (!moved) return;
    }
  }

  /** Delivers the messages due by the current tick (without moving time). */
  deliverDue(): number {
    return this.#deliver(this.network.deliverable(this.network.now));
  }

  /**
   * Moves time one tick: every live node's Raft clock ticks (each skipped with `skipRate`, so clocks
   * drift) and the messages now due are delivered. Returns how many were delivered.
   */
  advanceClock(skipRate = 0): number {
    for (const id of this.live()) if (skipRate === 0 || !this.#random.bool(skipRate)) this.member(id).node.tick();
    return this.#deliver(this.network.tick());
  }

  #deliver(messages: readonly Message[]): number {
    for (const message of messages) {
      const target = this.members.get(message.to);
      if (target !== undefined && !target.crashed) target.node.step(message);
    }
    return messages.length;
  }

  /**
   * Crashes `id`: its RawNode and state machine are gone, so is a hard state never fsynced; its
   * storage keeps what was synced. Messages in flight to it are lost.
   */
  crash(id: string): void {
    const m = this.member(id);
    m.crashed = true;
    m.unsyncedHardState = undefined;
    m.sentUnpersisted = undefined;
    this.network.crash(m.id);
  }

  /** Restarts `id` from its storage: a new RawNode, the machine restored from the snapshot, committed entries replayed. */
  restart(id: string): void {
    const m = this.member(id);
    m.node = this.#createNode(id, m.storage);
    m.machine = this.#createMachine(m.id, m.storage);
    m.appliedIndex = m.storage.snapshot().metadata.index;
    m.crashed = false;
    this.network.restart(m.id);
  }

  /**
   * Snapshots `id`'s state machine at its applied index (with the membership in force there, which
   * `status().config` is between Readies) and compacts the log up to `keep` entries before it.
   */
  compact(id: string, keep = 2): boolean {
    const m = this.member(id);
    if (m.crashed || m.sentUnpersisted !== undefined) return false;
    const at = m.appliedIndex;
    if (at <= m.storage.snapshot().metadata.index || at < m.storage.firstIndex() + keep) return false;
    // Writing a snapshot is a synced write: it flushes the commit index waiting in the page cache,
    // or a restart would find a persisted commit below the snapshot (etcd's WAL.SaveSnapshot syncs too).
    if (m.unsyncedHardState !== undefined) m.storage.setHardState(m.unsyncedHardState);
    m.unsyncedHardState = undefined;
    const created = m.storage.createSnapshot(at, m.node.status().config, m.machine.snapshotData());
    if (!created.ok) throw new Error(`createSnapshot(${at}) on ${id}: ${created.reason}`);
    const compacted = m.storage.compact((at - keep) as LogIndex);
    if (!compacted.ok) throw new Error(`compact(${at - keep}) on ${id}: ${compacted.reason}`);
    return true;
  }
}
