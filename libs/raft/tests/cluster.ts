// An in-process multi-node harness for scripted scenario tests: RawNodes over MemoryStorages, a
// fault-free FIFO `SimNetwork` whose messages the script delivers by hand, partitions, crash/restart
// from what was persisted. It persists, sends and applies each Ready exactly as `Ready` documents;
// randomized runs use `SimCluster` instead.
import { MemoryStorage, RawNode, decodeConfChange, describeMessage, logIndex, nodeId } from "../src/index.ts";
import type { ConfState, Entry, LogIndex, Message, NodeId, RaftConfig, RaftLogger, ReadState, Ready, Status } from "../src/index.ts";
import { NO_FAULTS, SimNetwork, createSeededRandom } from "@meshwork/testing";

/** Options shared by every node of a cluster. */
export type NodeOptions = Partial<Omit<RaftConfig, "id" | "storage">>;

/** One member of the harness: the node, what it persisted, and what it applied. */
export interface ClusterMember {
  readonly id: NodeId;
  node: RawNode;
  readonly storage: MemoryStorage;
  /** Normal entries applied, in order (the state machine of these tests is a list). */
  applied: Entry[];
  /** The membership after the last applied entry (conf changes applied by the core are mirrored here). */
  confState: ConfState;
  readStates: ReadState[];
  crashed: boolean;
  /** Options of this node on top of the cluster's. */
  readonly overrides: NodeOptions;
}

/** Creation options of a cluster. */
export interface ClusterOptions extends NodeOptions {
  /** Node ids that start as voters (default 1, 2, 3). */
  readonly voters?: readonly string[];
  readonly learners?: readonly string[];
  readonly seed?: number;
  /** Receives every log line of every node (lines name their node). */
  readonly log?: (line: string) => void;
  /** A full logger instead of `log` (debug lines included). */
  readonly logger?: RaftLogger;
}

/** A cluster of RawNodes in one process. */
export class Cluster {
  readonly members = new Map<NodeId, ClusterMember>();
  /**
   * The network: no loss, no delay, FIFO, so messages stay in flight in send order until the script
   * delivers them; partitions and crashes stop them as `SimNetwork` documents.
   */
  readonly network: SimNetwork<Message>;
  readonly options: NodeOptions;
  private readonly seed: number;
  private readonly logger: RaftLogger | undefined;
  /** Every message sent, for counting and asserting. */
  sent: Message[] = [];

  constructor(options: ClusterOptions = {}) {
    const { voters = ["1", "2", "3"], learners = [], seed = 1, log, logger, ...nodeOptions } = options;
    this.options = nodeOptions;
    this.seed = seed;
    this.network = new SimNetwork<Message>({ random: createSeededRandom(seed), faults: NO_FAULTS });
    this.logger = logger ?? (log === undefined ? undefined : { info: log, warn: log });
    const bootstrap: ConfState = { voters: voters.map(nodeId), learners: learners.map(nodeId) };
    for (const id of [...voters, ...learners]) this.addMember(id, new MemoryStorage({ bootstrap }));
  }

  /** Adds a node over `storage` (an empty one for a node about to be added by a conf change). */
  addMember(id: string, storage: MemoryStorage = new MemoryStorage(), overrides: NodeOptions = {}): ClusterMember {
    const member: ClusterMember = {
      id: nodeId(id),
      node: this.createNode(id, storage, overrides),
      storage,
      applied: [],
      confState: storage.initialState().confState,
      readStates: [],
      crashed: false,
      overrides,
    };
    this.members.set(member.id, member);
    return member;
  }

  private createNode(id: string, storage: MemoryStorage, overrides: NodeOptions): RawNode {
    const seeded = createSeededRandom(this.seed * 1009 + [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7));
    const random = () => seeded.next();
    return new RawNode({
      electionTick: 10,
      heartbeatTick: 1,
      ...this.options,
      ...overrides,
      id: nodeId(id),
      storage,
      random: overrides.random ?? random,
      ...(this.logger ? { logger: this.logger } : {}),
    });
  }

  member(id: string): ClusterMember {
    const member = this.members.get(nodeId(id));
    if (member === undefined) throw new Error(`no node ${id}`);
    return member;
  }

  node(id: string): RawNode {
    return this.member(id).node;
  }

  status(id: string): Status {
    return this.node(id).status();
  }

  /** Persists, sends and applies one Ready of `id`, if it has one; returns it. */
  processReady(id: string): Ready | undefined {
    const m = this.member(id);
    if (m.crashed || !m.node.hasReady()) return undefined;
    const ready = m.node.ready();
    if (ready.snapshot !== undefined) {
      m.storage.applySnapshot(ready.snapshot);
      m.applied = [];
      m.confState = ready.snapshot.metadata.confState;
    }
    m.storage.append(ready.entries);
    if (ready.hardState !== undefined) m.storage.setHardState(ready.hardState);
    for (const message of ready.messages) this.send(message);
    for (const entry of ready.committedEntries) {
      if (entry.type === "normal" && entry.data.byteLength > 0) m.applied.push(entry);
    }
    m.readStates.push(...ready.readStates);
    m.node.advance(ready);
    m.confState = m.node.status().config;
    return ready;
  }

  private send(message: Message): void {
    this.sent.push(message);
    this.network.send([message]);
  }

  /** Messages sent and not yet delivered, in send order. */
  get queue(): Message[] {
    return this.network.peek();
  }

  /** Removes queued messages matching `predicate` (they are lost); returns them in send order. */
  dropQueued(predicate: (message: Message) => boolean): Message[] {
    return this.network.dropInFlight(predicate);
  }

  /**
   * Takes the queued messages addressed to `id` (all if omitted) and steps them into their
   * receivers in send order; those on a link cut meanwhile are lost. Returns the messages taken.
   */
  deliver(id?: string): Message[] {
    // Taking one receiver's messages out of the network goes through dropInFlight (the script,
    // not a fault, picks them); the cut check below is what the network would do at delivery.
    const taken = id === undefined ? this.network.peek() : this.network.dropInFlight((m) => m.to === id);
    if (id === undefined) this.network.dropInFlight(() => true);
    for (const message of taken) {
      const target = this.members.get(message.to);
      if (target === undefined || target.crashed || this.network.isCut(message.from, message.to)) continue;
      target.node.step(message);
    }
    return taken;
  }

  /** Processes Readies and delivers messages until nothing moves (bounded, to catch livelocks). */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const id of this.members.keys()) if (this.processReady(id) !== undefined) moved = true;
      if (this.queue.length > 0) {
        this.deliver();
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error(`cluster did not stabilize within ${maxRounds} rounds; queue: ${this.queue.slice(0, 5).map(describeMessage).join("; ")}`);
  }

  /** Ticks every live node `times` times, stabilizing after each tick. */
  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const m of this.members.values()) if (!m.crashed) m.node.tick();
      this.stabilize();
    }
  }

  /** Campaigns `id` and stabilizes; returns the leader afterwards. */
  elect(id: string): NodeId | null {
    this.node(id).campaign();
    this.stabilize();
    return this.leader();
  }

  /** The live leader with the highest term, or null. */
  leader(): NodeId | null {
    let best: Status | null = null;
    for (const m of this.members.values()) {
      if (m.crashed) continue;
      const s = m.node.status();
      if (s.state === "leader" && (best === null || s.term > best.term)) best = s;
    }
    return best?.id ?? null;
  }

  /** Cuts every link between `group` and the other nodes, both ways. */
  partition(group: readonly string[]): void {
    this.network.partition([group.map(nodeId)]);
  }

  /** Restores every link (queued messages on cut links were already dropped). */
  heal(): void {
    this.network.heal();
  }

  /** Stops a node: it loses everything not persisted, and messages to it are dropped. */
  crash(id: string): void {
    this.member(id).crashed = true;
    this.network.crash(nodeId(id));
  }

  /** Restarts a crashed node from its storage; it re-applies committed entries after its snapshot. */
  restart(id: string): void {
    const m = this.member(id);
    m.node = this.createNode(id, m.storage, m.overrides);
    m.applied = [];
    m.confState = m.storage.initialState().confState;
    m.crashed = false;
    this.network.restart(m.id);
  }

  /** Snapshots `id`'s applied state at `index` and compacts its log up to there. */
  compact(id: string, index: number): void {
    const m = this.member(id);
    const at = logIndex(index);
    const created = m.storage.createSnapshot(at, this.confStateAt(m, at), new Uint8Array(0));
    if (!created.ok) throw new Error(`createSnapshot(${index}) on ${id}: ${created.reason}`);
    const compacted = m.storage.compact(at);
    if (!compacted.ok) throw new Error(`compact(${index}) on ${id}: ${compacted.reason}`);
  }

  /** The membership in force at `index`: the snapshot's, with the conf changes up to `index` replayed. */
  private confStateAt(m: ClusterMember, index: LogIndex): ConfState {
    const snapshot = m.storage.snapshot();
    let state = snapshot.metadata.confState;
    const first = m.storage.firstIndex();
    if (index >= first) {
      for (const entry of m.storage.entries(first, logIndex(index + 1), Number.POSITIVE_INFINITY)) {
        if (entry.type === "conf-change") state = applyChange(state, entry);
      }
    }
    return state;
  }

  /** The data of applied entries of `id`, decoded as text. */
  appliedData(id: string): string[] {
    return this.member(id).applied.map((e) => new TextDecoder().decode(e.data));
  }
}

function applyChange(state: ConfState, entry: Entry): ConfState {
  const change = decodeConfChange(entry.data);
  const voters = new Set(state.voters);
  const learners = new Set(state.learners);
  if (change.type === "add-voter") {
    learners.delete(change.nodeId);
    voters.add(change.nodeId);
  } else if (change.type === "add-learner") {
    voters.delete(change.nodeId);
    learners.add(change.nodeId);
  } else {
    voters.delete(change.nodeId);
    learners.delete(change.nodeId);
  }
  return { voters: [...voters].sort(), learners: [...learners].sort() };
}

/** Encodes text as entry data. */
export function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}
