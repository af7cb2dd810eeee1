// One registry server: drives a libs/raft RawNode over DurableStorage and the gRPC transport
// (tick timer; each Ready: persist → send → apply → advance), applies committed entries to the
// replicated state, and offers the contract's RegistryServer: writes (proposed here when leader,
// forwarded to the leader otherwise), consistency barriers (ReadIndex), blocking-query waits,
// leader-kept session TTLs and critical-service reaping, membership changes and graceful leave.
import { createRawNode, decodeConfChange, nodeId } from "@meshwork/raft";
import type { ConfChange, Entry, LogIndex, Message, NodeId, RawNode, Ready, ReadState, Snapshot, SoftState, Term } from "@meshwork/raft";
import { NotLeaderError } from "../registry-contract.ts";
import type { CommandResult, RaftMember, ReadConsistency, RegistryCommand, RegistryReads, RegistryServer, SessionInfo } from "../registry-contract.ts";
import { decodeEntry, encodeParsedEntry, parseCommand, restampEntry } from "../state/encode-command.ts";
import { DurableStorage } from "../storage/durable-storage.ts";
import type { SnapshotBuilder } from "../storage/durable-storage.ts";
import type { WalFs } from "../storage/wal-fs.ts";
import { ForwardError, ForwardRejection, GrpcRaftTransport } from "../transport/grpc-raft-transport.ts";
import type { TransportHandler, TransportTls } from "../transport/grpc-raft-transport.ts";
import { stringifyWithBytes } from "../transport/json-bytes.ts";
import { CommitAppendCoalescer } from "./commit-append-coalescer.ts";
import { LeaderTimers } from "./leader-timers.ts";
import { nextSnapshotIndex, snapshotRank } from "./next-snapshot-index.ts";
import type { ReplicatedState, StateMachineFactory } from "./replicated-state.ts";
import { decodeSnapshotEnvelope, encodeSnapshotEnvelopeHead } from "./snapshot-envelope.ts";

export type LogFn = (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

export interface RegistryNodeOptions {
  readonly nodeId: string;
  readonly dataDir: string;
  /** Founding voters (Raft ids) when `dataDir` holds no log yet; every founder must be given the same set. Omit to join an existing cluster (then `addServer` on its leader). */
  readonly bootstrap?: readonly string[] | undefined;
  /** Known peers' Raft addresses (id → host:port); more are learnt from conf changes and from peers' messages. */
  readonly peerAddresses?: Readonly<Record<string, string>> | undefined;
  /** Where the Raft gRPC server listens; port 0 picks one. */
  readonly raftBind: { readonly host: string; readonly port: number };
  /** The host peers should dial for the Raft port (default: raftBind's host); the port is the bound one. */
  readonly advertiseHost?: string | undefined;
  /** This node's HTTP API address (`host:port`), reported as the leader's address to followers. */
  readonly httpAddress: string;
  readonly stateMachine: StateMachineFactory;
  readonly tls?: TransportTls | undefined;
  /** Wall clock (Unix ms), stamped into entries by the leader. Default Date.now. */
  readonly nowMs?: () => number;
  /** Election randomness. Default Math.random. */
  readonly random?: () => number;
  /** Milliseconds per Raft tick. Default 100 (elections after 1–2 s, heartbeats every 100 ms). */
  readonly tickMs?: number;
  readonly electionTick?: number;
  readonly heartbeatTick?: number;
  /** Applied entries between local snapshots (then the log is compacted); each voter at its own phase in that interval. Default 10,000. */
  readonly snapshotEvery?: number;
  /**
   * Entries kept below a local snapshot for followers a little behind (etcd's
   * SnapshotCatchUpEntries). Default min(5,000, snapshotEvery / 2).
   */
  readonly catchUpEntries?: number;
  /** How long a write or read waits for a leader to be elected before NotLeaderError. Default 5,000 ms. */
  readonly leaderWaitMs?: number;
  /**
   * How long a leader holds an append that only carries the commit index, waiting for the next
   * append with entries to the same follower to carry it instead (0: send at once). Default 10 ms:
   * a single sequential client's next write comes within it, so the commit rides on that append
   * (with 2 ms, a third of sequential puts paid for a commit-only append and its ack on every node).
   * A follower that forwarded the write is told at once, and any other message to a follower (a
   * heartbeat, a read-index answer) takes the held append along, so reads through a follower do not wait for it.
   */
  readonly commitHoldMs?: number;
  /** How long a write proposed through the leader may go unanswered before it fails with an unknown outcome. Default 5,000 ms. */
  readonly forwardTimeoutMs?: number;
  /** How long a ReadIndex may take before the read fails. Default 5,000 ms. */
  readonly readTimeoutMs?: number;
  /** WAL segment size (tests use small ones). */
  readonly segmentBytes?: number;
  /** The file system of the WAL and snapshots (tests wrap it to hold or fail an fdatasync). Default node:fs. */
  readonly walFs?: WalFs;
  readonly log?: LogFn;
  /**
   * Called once when the node had to stop itself (the disk refused a write, or a bug): the process
   * should exit non-zero so its supervisor restarts it and recovery reads the WAL.
   */
  readonly onFatal?: (error: unknown) => void;
  /** Metrics hook: each `storage.save` of a Ready, its duration (ms), entries written and whether it fsynced. */
  readonly onSave?: (durationMs: number, entries: number, synced: boolean) => void;
  /** Metrics hook: the leader this node knows changed (null: none known). */
  readonly onLeaderChange?: (leaderId: string | null) => void;
}

interface PendingProposal {
  readonly term: Term;
  readonly resolve: (result: CommandResult & { readonly index: number }) => void;
  readonly reject: (error: Error) => void;
}

/**
 * How long one event-loop turn encodes a snapshot, and how many KV entries one chunk holds (a
 * slice ends between chunks). A write takes several turns of the node it goes through, and every
 * one of them waits for a slice: with 8-ms slices of 1,000-entry chunks, a sequential write that
 * met a snapshot of a 20,000-key state took 30–75 ms; with 1 ms of 100-entry chunks, 16–20 ms
 * (bench/registry/README.md, fifteenth session).
 */
const snapshotSliceMs = 1;
const snapshotKvPerChunk = 100;

/** A write this follower proposed through the leader (a Raft `prop`), answered when it applies the entry. */
interface PendingForward {
  /** The term the proposal was sent in: only that term's leader can append it (older-term messages are dropped). */
  readonly term: Term;
  readonly resolve: (result: CommandResult & { readonly index: number }) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** A write proposed through a leader is known not to have been applied: it may be proposed again. */
class ProposalLostError extends Error {
  constructor(why: string) {
    super(`the write was not applied (${why}); retry`);
    this.name = "ProposalLostError";
  }
}

interface PendingConfChange {
  readonly term: Term;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface PendingRead {
  index: number | null;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

interface ChangeWaiter {
  readonly index: (state: RegistryReads) => number;
  readonly minIndex: number;
  readonly done: () => void;
}

/** The registry node was stopped while a request was waiting. */
export class NodeStoppedError extends Error {
  constructor(nodeIdValue: string) {
    super(`registry node ${nodeIdValue} stopped`);
    this.name = "NodeStoppedError";
  }
}

/** A running registry server (RegistryServer of registry-contract.ts). */
export class RegistryNode implements RegistryServer {
  readonly nodeId: string;
  private readonly self: NodeId;
  private readonly options: RegistryNodeOptions;
  private readonly storage: DurableStorage;
  private readonly transport: GrpcRaftTransport;
  /** Every Raft message leaves through it: a leader's commit-only appends wait for the next append. */
  private readonly outbox: CommitAppendCoalescer;
  private readonly raw: RawNode;
  private readonly stateMachine: StateMachineFactory;
  private readonly nowMs: () => number;
  private readonly logFn: LogFn;
  private current: ReplicatedState;
  /** Raft id → Raft address, for the snapshot envelope and `peers`. */
  private readonly raftAddresses = new Map<string, string>();
  /** Raft id → HTTP address, learnt from peers' messages. */
  private readonly httpAddresses = new Map<string, string>();
  /** Raft id → when a message from it last arrived (autopilot's LastContact, read on the leader). */
  private readonly lastHeardMs = new Map<string, number>();
  private applied: number;
  private lastSnapshotIndex: number;
  /** The applied index at or past which this server takes its next snapshot (`scheduleSnapshot`). */
  private nextSnapshotAt = Number.POSITIVE_INFINITY;
  private soft: SoftState = { lead: null, state: "follower" };
  private readonly proposals = new Map<number, PendingProposal>();
  /** Writes proposed through the leader, by their entry's origin id. */
  private readonly forwarded = new Map<string, PendingForward>();
  private forwardSequence = 0;
  /** The term of the last entry applied (a newer one tells which forwarded proposals are lost). */
  private termApplied = 0;
  /** `onStateReplaced` listeners. */
  private readonly replacedListeners = new Set<(index: number) => void>();
  /** A Ready's fdatasync is running off the event loop; no other Ready is taken until it is done. */
  private saving = false;
  /** `stop` waiting for that fdatasync before it closes the WAL. */
  private onSaveDone: (() => void) | null = null;
  /** Whether the messages of `unsaved` already left (a leader's, sent before persisting). */
  private unsavedSent = false;
  /** A local snapshot being built, a few chunks per event-loop turn (see `maybeSnapshot`). */
  private snapshotting: { readonly index: LogIndex; readonly chunks: Iterator<Uint8Array>; readonly builder: SnapshotBuilder; done: boolean; flushed: "no" | "flushing" | "yes" } | null = null;
  private readonly confChanges = new Map<number, PendingConfChange>();
  private readonly reads = new Map<string, PendingRead>();
  private readonly waiters = new Set<ChangeWaiter>();
  private readonly leaderWaiters = new Set<() => void>();
  private readonly timers = new LeaderTimers();
  private readonly contextPrefix: string;
  private httpAddress: string;
  private readSequence = 0;
  private ticks = 0;
  private processScheduled = false;
  private tickTimer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  /** A Ready the disk refused for lack of space (ENOSPC/EDQUOT): retried until it fits; nothing after it runs first. */
  private unsaved: Ready | undefined;
  /** Why writes are refused while `unsaved` waits; undefined when the disk accepts writes. */
  private diskFull: string | undefined;
  /** The bound Raft port. */
  raftPort = 0;

  private constructor(options: RegistryNodeOptions, storage: DurableStorage, transport: GrpcRaftTransport) {
    this.options = options;
    this.nodeId = options.nodeId;
    this.self = nodeId(options.nodeId);
    this.storage = storage;
    this.transport = transport;
    this.outbox = new CommitAppendCoalescer({
      send: (messages) => transport.send(messages),
      holdMs: options.commitHoldMs ?? 10,
      schedule: (run, delayMs) => {
        const timer = setTimeout(run, delayMs);
        return () => clearTimeout(timer);
      },
    });
    this.stateMachine = options.stateMachine;
    this.nowMs = options.nowMs ?? Date.now;
    this.httpAddress = options.httpAddress;
    this.logFn = options.log ?? (() => undefined);
    this.contextPrefix = `${options.nodeId}/${this.nowMs().toString(36)}/${Math.floor((options.random ?? Math.random)() * 1e9).toString(36)}`;
    for (const [id, address] of Object.entries(options.peerAddresses ?? {})) this.raftAddresses.set(id, address);
    const snapshot = storage.snapshot();
    this.current = stateMachine(options.stateMachine, snapshot, this.raftAddresses);
    this.applied = snapshot.metadata.index;
    this.termApplied = snapshot.metadata.term;
    this.lastSnapshotIndex = snapshot.metadata.index;
    this.raw = createRawNode({
      id: this.self,
      electionTick: options.electionTick ?? 10,
      heartbeatTick: options.heartbeatTick ?? 1,
      storage,
      random: options.random ?? Math.random,
      // Followers hand writes to the leader as Raft `prop` messages on the peer stream (batched per
      // event-loop turn with the rest of the traffic) and answer their client when they apply them.
      disableProposalForwarding: false,
      // The core narrates every election step; "leader changed" (ours) is the info-level line.
      logger: { info: (line) => this.logFn("debug", line), warn: (line) => this.logFn("warn", line) },
    });
    this.scheduleSnapshot();
  }

  /**
   * Opens the data directory (founding the cluster if it is empty and `bootstrap` is given),
   * starts the Raft transport and the tick timer. Throws WalCorruptionError for a damaged log.
   */
  static async start(options: RegistryNodeOptions): Promise<RegistryNode> {
    const bootstrap = options.bootstrap === undefined || options.bootstrap.length === 0 ? undefined : { voters: options.bootstrap.map(nodeId), learners: [] };
    if (bootstrap !== undefined && !bootstrap.voters.includes(nodeId(options.nodeId))) {
      throw new RangeError(`--peers must include this node (--node-id ${options.nodeId}); got ${options.bootstrap?.join(", ") ?? ""}`);
    }
    const storage = DurableStorage.open(options.dataDir, {
      ...(bootstrap !== undefined ? { bootstrap } : {}),
      ...(options.segmentBytes !== undefined ? { segmentBytes: options.segmentBytes } : {}),
      ...(options.walFs !== undefined ? { fs: options.walFs } : {}),
      catchUpEntries: options.catchUpEntries ?? Math.min(5000, Math.floor((options.snapshotEvery ?? 10_000) / 2)),
    });
    const log = options.log ?? (() => undefined);
    let transport: GrpcRaftTransport | null = null;
    try {
      transport = new GrpcRaftTransport({
        selfId: nodeId(options.nodeId),
        httpAddress: options.httpAddress,
        raftAddress: "",
        tls: options.tls,
        log: (level, msg, fields) => log(level, msg, fields),
      });
      const node = new RegistryNode(options, storage, transport);
      node.raftPort = await transport.start(options.raftBind.host, options.raftBind.port, node.handler());
      const raftAddress = `${options.advertiseHost ?? options.raftBind.host}:${node.raftPort}`;
      transport.setAdvertised({ raftAddress });
      node.raftAddresses.set(options.nodeId, raftAddress);
      for (const [id, address] of node.raftAddresses) transport.setPeer(nodeId(id), address);
      // Replay what the log holds as committed before resolving, so callers see the state as it
      // was at shutdown (not just the snapshot).
      node.process();
      node.tickTimer = setInterval(() => node.tick(), options.tickMs ?? 100);
      node.log("info", "registry node started", { applied: node.applied, raftAddress, members: node.raw.status().config });
      node.scheduleProcess();
      return node;
    } catch (error) {
      if (transport !== null) transport.forceClose();
      storage.close();
      throw error;
    }
  }

  private log(level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void {
    this.logFn(level, msg, { node: this.nodeId, ...fields });
  }

  // ---- RegistryServer -------------------------------------------------------------------------

  /** The current state (a new object after a snapshot from the leader is installed: read it fresh). */
  get state(): RegistryReads {
    return this.current;
  }

  get isLeader(): boolean {
    return !this.stopped && this.soft.state === "leader";
  }

  /** The leader's Raft id, or null. */
  get leaderId(): string | null {
    return this.stopped ? null : this.soft.lead;
  }

  get leaderAddress(): string {
    const lead = this.leaderId;
    if (lead === null) return "";
    if (lead === this.nodeId) return this.httpAddress;
    return this.httpAddresses.get(lead) ?? "";
  }

  get peers(): readonly string[] {
    const config = this.raw.status().config;
    return config.voters.map((id) => this.raftAddresses.get(id) ?? id);
  }

  /** Voters and learners with their Raft addresses and the leader flag (`/v1/operator/raft/configuration`). */
  raftMembers(): readonly RaftMember[] {
    const { voters, learners } = this.raw.status().config;
    const lead = this.leaderId;
    const member = (id: string, voter: boolean): RaftMember => ({ id, raftAddress: this.raftAddresses.get(id) ?? id, voter, leader: id === lead });
    return [...voters.map((id) => member(id, true)), ...learners.map((id) => member(id, false))];
  }

  /** The index of the last entry applied here. */
  get appliedIndex(): number {
    return this.applied;
  }

  /** The term of the entry at `appliedIndex` (of the installed snapshot, when that is the last thing applied). */
  get appliedTerm(): number {
    return this.termApplied;
  }

  /**
   * Calls `listener` after the state was replaced as a whole: a `state-restore` entry applied, or
   * a snapshot from the leader installed (which may hold a restore this node never applied).
   */
  onStateReplaced(listener: (index: number) => void): () => void {
    this.replacedListeners.add(listener);
    return () => this.replacedListeners.delete(listener);
  }

  /** Raft status, for operators and tests. */
  status(): ReturnType<RawNode["status"]> {
    return this.raw.status();
  }

  async write(command: RegistryCommand): Promise<CommandResult & { readonly index: number }> {
    // Validate here so a bad command fails on the node that received it (CommandDecodeError); once:
    // what is proposed below is this checked copy.
    const checked = parseCommand(command);
    const deadline = this.nowMs() + (this.options.leaderWaitMs ?? 5000);
    for (;;) {
      this.checkRunning();
      if (this.isLeader) {
        const proposed = this.proposeLocal(checked);
        if (proposed !== null) return proposed;
      } else if (this.leaderId !== null) {
        const forwarded = this.proposeViaLeader(checked);
        if (forwarded !== null) {
          try {
            return await forwarded;
          } catch (error) {
            if (!(error instanceof ProposalLostError)) throw error;
            // Certainly not applied (a newer leader's entries came first): propose it again.
            continue;
          }
        }
      }
      const remaining = deadline - this.nowMs();
      if (remaining <= 0) throw new NotLeaderError(this.leaderAddress);
      await this.leaderChange(Math.min(remaining, 200));
    }
  }

  async readBarrier(consistency: ReadConsistency): Promise<void> {
    this.checkRunning();
    if (consistency === "stale") return;
    // "default" on the leader serves its state as it is (Consul's default mode); a follower has no
    // such shortcut and does a ReadIndex through the leader, like "consistent".
    if (consistency === "default" && this.isLeader) return;
    const deadline = this.nowMs() + (this.options.leaderWaitMs ?? 5000);
    for (;;) {
      this.checkRunning();
      const context = `${this.contextPrefix}/${++this.readSequence}`;
      if (this.raw.readIndex(context).ok) {
        this.scheduleProcess();
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.reads.delete(context);
            reject(new NotLeaderError(this.leaderAddress));
          }, this.options.readTimeoutMs ?? 5000);
          this.reads.set(context, { index: null, resolve, reject, timer });
        });
        return;
      }
      const remaining = deadline - this.nowMs();
      if (remaining <= 0) throw new NotLeaderError(this.leaderAddress);
      await this.leaderChange(Math.min(remaining, 200));
    }
  }

  waitForChange(index: (state: RegistryReads) => number, minIndex: number, waitMs: number, signal?: AbortSignal): Promise<void> {
    if (this.stopped || index(this.current) > minIndex || signal?.aborted === true) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: ChangeWaiter = {
        index,
        minIndex,
        done: () => {
          this.waiters.delete(waiter);
          clearTimeout(timer);
          signal?.removeEventListener("abort", waiter.done);
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, waitMs);
      signal?.addEventListener("abort", waiter.done);
      this.waiters.add(waiter);
    });
  }

  async addServer(id: string, raftAddress: string): Promise<void> {
    await this.changeMembership({ type: "add-voter", nodeId: nodeId(id), context: raftAddress });
  }

  /** Adds a server as a non-voter (Raft learner): it gets the log but does not count for quorum until `addServer` promotes it. */
  async addNonVoter(id: string, raftAddress: string): Promise<void> {
    await this.changeMembership({ type: "add-learner", nodeId: nodeId(id), context: raftAddress });
  }

  /**
   * The leader's view of every Raft member for autopilot: voter or not, its match index and how
   * long ago the leader last heard from it; undefined on a follower (only the leader tracks progress).
   */
  raftProgress(): { readonly lastIndex: number; readonly term: number; readonly servers: readonly { readonly id: string; readonly voter: boolean; readonly matchIndex: number; readonly lastContactMs: number | undefined }[] } | undefined {
    const status = this.raw.status();
    if (status.state !== "leader" || status.progress === null) return undefined;
    const now = this.nowMs();
    const servers = status.progress.map((progress) => {
      const heard = this.lastHeardMs.get(progress.id);
      return {
        id: progress.id as string,
        voter: !progress.isLearner,
        matchIndex: progress.id === this.self ? status.lastIndex : progress.match,
        lastContactMs: progress.id === this.self ? 0 : heard === undefined ? undefined : Math.max(0, now - heard),
      };
    });
    return { lastIndex: status.lastIndex, term: status.term, servers };
  }

  async removeServer(id: string): Promise<void> {
    await this.changeMembership({ type: "remove-node", nodeId: nodeId(id) });
  }

  /**
   * Renews a session's TTL (Consul's PUT /v1/session/renew): the timers live on the leader, so a
   * follower forwards. Resolves with the session, or undefined if it does not exist.
   */
  async renewSession(id: string): Promise<SessionInfo | undefined> {
    this.checkRunning();
    if (this.isLeader) return this.renewLocal(id);
    const lead = this.leaderId;
    if (lead === null) throw new NotLeaderError("");
    const response = await this.transport.forward(nodeId(lead), { renewSessionId: id }).catch((error: unknown) => {
      if (error instanceof ForwardError && error.notLeader) throw new NotLeaderError(this.leaderAddress);
      throw error;
    });
    return (JSON.parse(response.resultJson) as SessionInfo | null) ?? undefined;
  }

  /** Sets this node's HTTP API address once its listener is bound (sent to peers with every batch). */
  setHttpAddress(address: string): void {
    this.httpAddress = address;
    this.transport.setAdvertised({ httpAddress: address });
  }

  /** Learns or corrects a peer's Raft address. */
  setPeerAddress(id: string, raftAddress: string): void {
    if (id === this.nodeId) return;
    this.raftAddresses.set(id, raftAddress);
    this.transport.setPeer(nodeId(id), raftAddress);
  }

  /**
   * Graceful leave: a leader hands leadership to its most caught-up voter (waiting up to
   * `timeoutMs` for another node to take over), then the node stops.
   */
  async leave(timeoutMs = 3000): Promise<void> {
    if (this.stopped) return;
    if (this.isLeader) {
      const status = this.raw.status();
      const candidates = (status.progress ?? []).filter((p) => p.id !== this.self && !p.isLearner).sort((a, b) => b.match - a.match);
      const target = candidates[0];
      if (target !== undefined) {
        this.log("info", "transferring leadership before leaving", { to: target.id });
        this.raw.transferLeader(target.id);
        this.scheduleProcess();
        const deadline = this.nowMs() + timeoutMs;
        while (this.soft.state === "leader" && this.nowMs() < deadline && !this.stopped) await this.leaderChange(deadline - this.nowMs());
      }
    }
    await this.stop();
  }

  /** Stops ticking, closes the transport and the storage; waiting requests fail with NodeStoppedError. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const saving = this.saving;
    this.halt();
    // The WAL is closed below: let an fdatasync in flight finish first.
    if (saving) await new Promise<void>((resolve) => (this.onSaveDone = resolve));
    await this.transport.close();
    this.storage.close();
    this.log("info", "registry node stopped");
  }

  /** Stops at once without a clean transport shutdown (tests: a crash of the process). */
  kill(): void {
    if (this.stopped) return;
    this.halt();
    this.transport.forceClose();
    this.storage.close();
  }

  private halt(): void {
    this.stopped = true;
    this.outbox.clear();
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    if (this.snapshotting !== null) {
      try {
        this.snapshotting.builder.abort();
      } catch {
        // the temp file is removed at the next compaction
      }
      this.snapshotting = null;
    }
    const error = new NodeStoppedError(this.nodeId);
    for (const pending of this.proposals.values()) pending.reject(error);
    this.proposals.clear();
    for (const pending of this.confChanges.values()) pending.reject(error);
    this.confChanges.clear();
    for (const pending of this.forwarded.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.forwarded.clear();
    for (const read of this.reads.values()) {
      clearTimeout(read.timer);
      read.reject(error);
    }
    this.reads.clear();
    for (const waiter of [...this.waiters]) waiter.done();
    this.notifyLeaderWaiters();
  }

  private checkRunning(): void {
    if (this.stopped) throw new NodeStoppedError(this.nodeId);
    if (this.diskFull !== undefined) throw new DiskFullError(this.nodeId, this.diskFull);
  }

  // ---- proposing ------------------------------------------------------------------------------

  /**
   * Proposes on this follower: the entry goes to the leader as a Raft `prop` message and this node
   * answers when it applies it (every replica computes the same result). Null when no proposal
   * could be sent. Rejects with ProposalLostError once the entry can no longer be applied: entries
   * of a newer term were applied first (a `prop` is appended only by the leader of the term it was
   * sent in, and a log's terms only grow), so the write may safely be proposed again.
   */
  private proposeViaLeader(command: RegistryCommand): Promise<CommandResult & { readonly index: number }> | null {
    const origin = `${this.contextPrefix}/w${++this.forwardSequence}`;
    const term = this.raw.term;
    const result = this.raw.propose(encodeParsedEntry({ command, nowMs: this.nowMs(), origin }));
    if (!result.ok || result.via !== "forwarded") return null;
    this.scheduleProcess();
    return new Promise((resolve, reject) => {
      // A prop is lost without a word if the leader drops it (transfer in progress, or the link
      // failed): after this long its outcome is unknown to us, like a request to a server that died.
      const timer = setTimeout(() => {
        if (this.forwarded.delete(origin)) reject(new Error(`no outcome for the write from leader ${result.leader} within ${this.options.forwardTimeoutMs ?? 5000} ms; it may or may not have been applied`));
      }, this.options.forwardTimeoutMs ?? 5000);
      this.forwarded.set(origin, { term, resolve, reject, timer });
    });
  }

  /** Settles forwarded writes older than `term`, now that entries of `term` were applied (or a snapshot of it installed). */
  private settleForwardedBefore(term: number, how: "lost" | "unknown"): void {
    for (const [origin, pending] of this.forwarded) {
      if (pending.term >= term) continue;
      this.forwarded.delete(origin);
      clearTimeout(pending.timer);
      pending.reject(how === "lost" ? new ProposalLostError("a newer leader's entries were applied first") : new Error("the write's outcome is unknown: this node installed a snapshot past it (retry if idempotent)"));
    }
  }

  /** Proposes `command` (from parseCommand) on this (leader) node; null when leadership was lost meanwhile (the caller retries). */
  private proposeLocal(command: RegistryCommand): Promise<CommandResult & { readonly index: number }> | null {
    const result = this.raw.propose(encodeParsedEntry({ command, nowMs: this.nowMs() }));
    if (!result.ok) {
      if (result.reason === "not-leader" || result.reason === "transfer-in-progress" || result.reason === "proposal-dropped") return null;
      return Promise.reject(new Error(`the leader refused the write (${result.reason})`));
    }
    if (result.via !== "appended") return null;
    const { index, term } = result;
    this.scheduleProcess();
    return new Promise((resolve, reject) => this.proposals.set(index, { term, resolve, reject }));
  }

  private async changeMembership(change: ConfChange): Promise<void> {
    this.checkRunning();
    if (!this.isLeader) throw new NotLeaderError(this.leaderAddress);
    const result = this.raw.proposeConfChange(change);
    if (!result.ok) {
      if (result.reason === "not-leader") throw new NotLeaderError(this.leaderAddress);
      throw new Error(`membership change ${change.type} ${change.nodeId} refused (${result.reason}): ${result.reason === "conf-change-pending" ? "one change at a time; retry when the previous one is applied" : "see the Raft status"}`);
    }
    if (result.via !== "appended") throw new NotLeaderError(this.leaderAddress);
    const { index, term } = result;
    this.scheduleProcess();
    await new Promise<void>((resolve, reject) => this.confChanges.set(index, { term, resolve, reject }));
  }

  private renewLocal(id: string): SessionInfo | undefined {
    const session = this.current.session(id);
    if (session !== undefined) this.timers.renew(id, session.ttlMs, this.nowMs());
    return session;
  }

  // ---- the driver loop ------------------------------------------------------------------------

  private handler(): TransportHandler {
    return {
      onMessage: (message: Message, sender) => {
        if (this.stopped) return;
        this.lastHeardMs.set(message.from, this.nowMs());
        if (sender.httpAddress !== "") this.httpAddresses.set(message.from, sender.httpAddress);
        if (sender.raftAddress !== "" && this.raftAddresses.get(message.from) !== sender.raftAddress) this.setPeerAddress(message.from, sender.raftAddress);
        try {
          // Stamp writes proposed by followers with this leader's clock, as for its own.
          if (message.type === "prop" && this.soft.state === "leader") {
            const nowMs = this.nowMs();
            this.raw.step({ ...message, entries: message.entries.map((entry) => (entry.type === "normal" ? { ...entry, data: restampEntry(entry.data, nowMs) } : entry)) });
            // Its client waits for that follower to apply the write: the commit goes to it at once.
            this.outbox.proposed(message.from, this.raw.lastIndex());
          } else this.raw.step(message);
        } catch (error) {
          const lost = /commit (\d+) is past the last index (\d+)/.exec(error instanceof Error ? error.message : "");
          if (lost) {
            // The leader saw entries up to lost[1] acknowledged by this node, which now ends at
            // lost[2]: synced data vanished from disk (not a torn unsynced write). Raft cannot
            // repair a log that shrank behind its acknowledgements (etcd panics here); stop loudly.
            this.fail(
              new Error(
                `this node's log ends at ${lost[2]} but it had acknowledged entries up to ${lost[1]}: synced data was lost from ${this.options.dataDir}. ` +
                  `Remove the data directory and rejoin the cluster (meshctl registry leave --id ${this.nodeId}, then join), or restore it from a peer.`,
              ),
            );
            return;
          }
          this.log("warn", "raft message refused", { from: message.from, type: message.type, err: error });
        }
        this.scheduleProcess();
      },
      onForward: async (request) => {
        if (!this.isLeader) throw new ForwardRejection(this.leaderId ?? "");
        if (request.command === null) {
          const session = this.renewLocal(request.renewSessionId);
          return { index: this.applied, resultJson: JSON.stringify(session ?? null) };
        }
        const command = parseCommand(JSON.parse(Buffer.from(request.command).toString("utf8")));
        const proposed = this.proposeLocal(command);
        if (proposed === null) throw new ForwardRejection(this.leaderId ?? "");
        const result = await proposed;
        const { index, ...rest } = result;
        return { index, resultJson: stringifyWithBytes(rest) };
      },
      onUnreachable: (peer) => {
        if (!this.stopped) this.raw.reportUnreachable(peer);
      },
      onSnapshotSent: (peer, outcome) => {
        if (this.stopped) return;
        this.raw.reportSnapshot(peer, outcome);
        this.scheduleProcess();
      },
    };
  }

  private tick(): void {
    if (this.stopped) return;
    this.raw.tick();
    // The leader's timers are checked once per heartbeat-ish period of 10 ticks (1 s by default).
    if (this.isLeader && ++this.ticks % 10 === 0) this.leaderSweep();
    this.scheduleProcess();
  }

  private scheduleProcess(): void {
    if (this.processScheduled || this.stopped) return;
    this.processScheduled = true;
    // setImmediate, not a microtask: proposals and messages of one event-loop turn share a Ready (one fdatasync).
    setImmediate(this.runScheduled);
  }

  /** scheduleProcess's check-phase turn (one function for every turn, not a closure per schedule). */
  private readonly runScheduled = (): void => {
    this.processScheduled = false;
    if (this.stopped) return;
    try {
      this.process();
    } catch (error) {
      // A failed fdatasync or a bug: stop rather than run on with memory ahead of disk. The
      // process supervisor restarts us; recovery reads the WAL.
      this.fail(error);
    }
  };

  /** Stops the node for good and reports why (the process exits 1 through onFatal). */
  private fail(error: unknown): void {
    this.log("error", "registry node failed; stopping", { err: error });
    try {
      this.kill();
    } finally {
      this.options.onFatal?.(error);
    }
  }

  /**
   * Runs the driver loop over every Ready there is (RawNode's order: persist → send → apply →
   * advance). A Ready that needs an fdatasync is written at once and synced off the event loop;
   * the loop stops there and resumes when the sync is done, so requests and peers' messages keep
   * being taken meanwhile and the next Ready carries them all (group commit). A leader's messages
   * leave before its own write (`sendBeforePersist`): its disk and its followers' work in parallel.
   */
  private process(): void {
    if (this.saving) {
      // What may leave before this Ready is on disk does (takeEarlyMessages: a leader's appends
      // of new proposals and commit broadcasts, so followers' disks work while ours does; a
      // follower's forwarded proposals), and what was committed meanwhile is applied and answered.
      const early = this.raw.takeEarlyMessages();
      if (early.length > 0) this.outbox.send(early);
      this.applyCommittedWhileSaving();
      return;
    }
    const appliedBefore = this.applied;
    while (!this.saving && (this.unsaved !== undefined || this.raw.hasReady())) {
      const retry = this.unsaved !== undefined;
      const ready = this.unsaved ?? this.raw.ready();
      const sentFirst = retry ? this.unsavedSent : ready.sendBeforePersist;
      if (!retry && sentFirst) this.outbox.send(ready.messages);
      const saveStart = performance.now();
      try {
        if (ready.mustSync || ready.snapshot !== undefined) {
          // Committed entries are on a quorum's disks already (a leader counts itself only after
          // its own fdatasync): apply and answer them now, not after this Ready's fdatasync.
          // finishReady skips them (applyEntry ignores what is applied). Not with a snapshot or a
          // conf change, which take effect in order at advance.
          if (ready.snapshot === undefined && ready.committedEntries.length > 0 && !ready.committedEntries.some((entry) => entry.type === "conf-change")) {
            for (const entry of ready.committedEntries) this.applyEntry(entry);
            for (const readState of ready.readStates) this.onReadState(readState);
          }
          this.saving = true;
          this.storage.saveAsync(ready, (error) => {
            this.saving = false;
            const done = this.onSaveDone;
            this.onSaveDone = null;
            done?.();
            this.onSaved(ready, sentFirst, saveStart, error);
          });
          break;
        }
        this.storage.save(ready);
      } catch (error) {
        this.saving = false;
        if (!isOutOfSpace(error)) throw error;
        this.onDiskFull(ready, sentFirst, error);
        return;
      }
      this.finishReady(ready, sentFirst, saveStart);
    }
    this.afterProcess(appliedBefore);
  }

  /**
   * While a Ready is being persisted: applies (and answers) what was committed meanwhile — on a
   * leader by its followers' acknowledgements, on a follower by the leader's commit index — instead
   * of after this fdatasync and the next Ready's. A follower that took a write answers it once the
   * leader says it is committed, not after its own fdatasync of it too (issue 5: a slow fsync on the
   * forwarding follower was on every forwarded put's path). Stops before a conf change (those take
   * effect in order, at advance); no later Ready repeats these.
   */
  private applyCommittedWhileSaving(): void {
    const before = this.applied;
    for (const entry of this.raw.takeCommittedEntries(Number.MAX_SAFE_INTEGER)) this.applyEntry(entry);
    if (this.applied !== before) {
      this.serveReads();
      this.notifyWaiters();
    }
  }

  /** The fdatasync of `ready` finished (or failed: then the node stops, as for a failed write). */
  private onSaved(ready: Ready, sentFirst: boolean, saveStart: number, error: Error | null): void {
    if (this.stopped) return;
    try {
      if (error !== null) throw error;
      const appliedBefore = this.applied;
      this.finishReady(ready, sentFirst, saveStart);
      this.afterProcess(appliedBefore);
      this.process();
    } catch (failure) {
      this.fail(failure);
    }
  }

  /** Send (unless sent already), apply, advance: the rest of a persisted Ready. */
  private finishReady(ready: Ready, sentFirst: boolean, saveStart: number): void {
    if (this.unsaved !== undefined) {
      this.log("info", "the disk accepts writes again", {});
      this.unsaved = undefined;
      this.unsavedSent = false;
      this.diskFull = undefined;
    }
    this.options.onSave?.(performance.now() - saveStart, ready.entries.length, ready.mustSync);
    if (ready.softState !== undefined) this.onSoftState(ready.softState);
    if (!sentFirst) this.outbox.send(ready.messages);
    if (ready.snapshot !== undefined) this.applySnapshot(ready.snapshot);
    for (const entry of ready.committedEntries) this.applyEntry(entry);
    for (const readState of ready.readStates) this.onReadState(readState);
    this.raw.advance(ready);
    this.afterAdvance(ready);
  }

  private afterProcess(appliedBefore: number): void {
    this.serveReads();
    if (this.applied !== appliedBefore) this.notifyWaiters();
    if (this.saving || this.unsaved !== undefined) return;
    if (this.snapshotting?.done === true) this.continueSnapshot();
    // Not only when this call applied something: entries applied early, under an fdatasync, count too.
    else this.maybeSnapshot();
  }

  /**
   * The WAL cut the failed write back (nothing half-written stays), so the same Ready can be saved
   * again once space is freed. Until then nothing of it is sent or applied, writes get a 5xx
   * (DiskFullError) and pending ones fail: their outcome is unknown to the client, as for any 5xx.
   */
  private onDiskFull(ready: Ready, sent: boolean, error: unknown): void {
    const first = this.unsaved === undefined;
    this.unsaved = ready;
    this.unsavedSent = sent;
    this.diskFull = error instanceof Error ? error.message : String(error);
    if (first) this.log("error", "the disk is full: writes are refused until space is freed", { err: error });
    const refused = new DiskFullError(this.nodeId, this.diskFull);
    for (const [index, pending] of this.proposals) {
      this.proposals.delete(index);
      pending.reject(refused);
    }
    for (const [origin, pending] of this.forwarded) {
      this.forwarded.delete(origin);
      clearTimeout(pending.timer);
      pending.reject(refused);
    }
    setTimeout(() => this.scheduleProcess(), 500).unref();
  }

  private onSoftState(soft: SoftState): void {
    const wasLeader = this.soft.state === "leader";
    const leaderChanged = soft.lead !== this.soft.lead;
    this.soft = soft;
    if (leaderChanged) {
      this.log("info", "leader changed", { leader: soft.lead, role: soft.state });
      this.options.onLeaderChange?.(soft.lead);
      // A ReadIndex request sent to the old leader may be lost with it: ask the new one too (a
      // second answer only moves the read point later, which is still linearizable).
      if (soft.lead !== null) for (const [context, read] of this.reads) if (read.index === null) this.raw.readIndex(context);
    }
    if (soft.state === "leader" && !wasLeader) this.timers.reset();
    if (soft.state !== "leader" && wasLeader) {
      this.timers.reset();
      this.outbox.flush();
    }
    this.notifyLeaderWaiters();
  }

  private applySnapshot(snapshot: Snapshot): void {
    this.current = stateMachine(this.stateMachine, snapshot, this.raftAddresses);
    for (const [id, address] of this.raftAddresses) this.transport.setPeer(nodeId(id), address);
    this.applied = snapshot.metadata.index;
    this.lastSnapshotIndex = snapshot.metadata.index;
    this.scheduleSnapshot();
    this.log("info", "installed snapshot from the leader", { index: snapshot.metadata.index, bytes: snapshot.data.byteLength });
    const lost = new Error("the write's outcome is unknown: this node installed a snapshot past it (retry if idempotent)");
    for (const [index, pending] of this.proposals) {
      if (index <= snapshot.metadata.index) {
        this.proposals.delete(index);
        pending.reject(lost);
      }
    }
    this.termApplied = Math.max(this.termApplied, snapshot.metadata.term);
    this.settleForwardedBefore(snapshot.metadata.term, "unknown");
    this.stateReplaced(snapshot.metadata.index);
  }

  /**
   * The whole state changed at `index`: the leader's session clocks start afresh (a restored
   * session gets a full TTL from now, as with a new leader), and the listeners (the local agent's
   * check runner) reload. Blocking queries wake through `notifyWaiters`: every index moved forward.
   */
  private stateReplaced(index: number): void {
    this.timers.reset();
    for (const listener of [...this.replacedListeners]) {
      try {
        listener(index);
      } catch (error) {
        this.log("error", "a state-replaced listener failed", { index, err: error });
      }
    }
  }

  private applyEntry(entry: Entry): void {
    if (entry.index <= this.applied) return;
    this.applied = entry.index;
    if (entry.term > this.termApplied) {
      this.termApplied = entry.term;
      if (this.forwarded.size > 0) this.settleForwardedBefore(entry.term, "lost");
    }
    if (entry.type === "conf-change") {
      this.current.markApplied(entry.index);
      const change = decodeConfChange(entry.data);
      if (change.type !== "remove-node" && change.context !== undefined && change.context !== "") this.setPeerAddress(change.nodeId, change.context);
      const pending = this.confChanges.get(entry.index);
      if (pending !== undefined) {
        this.confChanges.delete(entry.index);
        if (pending.term === entry.term) pending.resolve();
        else pending.reject(new Error("the membership change was lost in a leadership change; retry"));
      }
      return;
    }
    const pending = this.proposals.get(entry.index);
    if (pending !== undefined) this.proposals.delete(entry.index);
    if (entry.data.byteLength === 0) {
      // A new leader's empty entry (Raft §8).
      this.current.markApplied(entry.index);
      pending?.reject(new Error("the write was lost in a leadership change; retry"));
      return;
    }
    let result: CommandResult;
    let forwarded: PendingForward | undefined;
    try {
      const { command, nowMs, origin } = decodeEntry(entry.data);
      if (origin !== undefined && (forwarded = this.forwarded.get(origin)) !== undefined) {
        this.forwarded.delete(origin);
        clearTimeout(forwarded.timer);
      }
      result = this.current.apply(entry.index, command, nowMs);
      if (command.op === "state-restore" && result.ok) {
        this.log("info", "state restored from a saved snapshot", { index: entry.index, bytes: entry.data.byteLength });
        this.stateReplaced(entry.index);
      }
    } catch (error) {
      // Every replica fails the same way on the same entry, so they stay identical.
      this.log("error", "committed entry could not be applied", { index: entry.index, err: error });
      this.current.markApplied(entry.index);
      const failure = error instanceof Error ? error : new Error(String(error));
      pending?.reject(failure);
      forwarded?.reject(failure);
      return;
    }
    forwarded?.resolve({ ...result, index: entry.index });
    if (pending === undefined) return;
    if (pending.term === entry.term) pending.resolve({ ...result, index: entry.index });
    else pending.reject(new Error("the write was lost in a leadership change; retry"));
  }

  private afterAdvance(ready: Ready): void {
    // Conf changes take effect at advance: drop transports to removed members.
    if (!ready.committedEntries.some((entry) => entry.type === "conf-change")) return;
    // A new membership gives this server a new snapshot phase.
    this.scheduleSnapshot();
    const config = this.raw.status().config;
    for (const id of [...this.raftAddresses.keys()]) {
      if (id !== this.nodeId && !config.voters.includes(nodeId(id)) && !config.learners.includes(nodeId(id))) {
        const removed = ready.committedEntries.some((entry) => entry.type === "conf-change" && decodeConfChange(entry.data).nodeId === id);
        if (removed) {
          this.raftAddresses.delete(id);
          this.transport.removePeer(nodeId(id));
        }
      }
    }
  }

  private onReadState(readState: ReadState): void {
    const read = this.reads.get(readState.context);
    if (read !== undefined) read.index = readState.index;
  }

  private serveReads(): void {
    for (const [context, read] of this.reads) {
      if (read.index !== null && read.index <= this.applied) {
        this.reads.delete(context);
        clearTimeout(read.timer);
        read.resolve();
      }
    }
  }

  private notifyWaiters(): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.index(this.current) > waiter.minIndex) waiter.done();
    }
  }

  private leaderChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.leaderWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.leaderWaiters.add(done);
    });
  }

  private notifyLeaderWaiters(): void {
    for (const done of [...this.leaderWaiters]) done();
  }

  /** The next snapshot's index after the last, at this server's phase among the current voters (`nextSnapshotIndex`). */
  private scheduleSnapshot(): void {
    const { voters } = this.raw.status().config;
    this.nextSnapshotAt = nextSnapshotIndex(this.lastSnapshotIndex, this.options.snapshotEvery ?? 10_000, snapshotRank(this.nodeId, voters), voters.length);
  }

  /**
   * Every `snapshotEvery` applied entries, at this server's own phase in that interval (so that the
   * servers do not all snapshot at one index), a snapshot at the applied index, then the log is
   * compacted. The state is captured now; its bytes are encoded and checksummed a slice
   * (`snapshotSliceMs`) per event-loop turn (so a large state stalls neither heartbeats nor the
   * writes in flight for long) and written in chunks (never one buffer of the whole state).
   */
  private maybeSnapshot(): void {
    if (this.snapshotting !== null || this.applied < this.nextSnapshotAt) return;
    const index = this.applied as LogIndex;
    const builder = this.storage.beginSnapshot(index, this.raw.status().config);
    if (builder === null) return;
    builder.add(encodeSnapshotEnvelopeHead(Object.fromEntries(this.raftAddresses)));
    this.snapshotting = { index, chunks: this.current.snapshotChunks({ reuseBuffer: true, kvPerChunk: snapshotKvPerChunk }), builder, done: false, flushed: "no" };
    this.continueSnapshot();
  }

  /**
   * A local snapshot that failed to write or sync: no room is not fatal (the log stays
   * uncompacted; the next applied entry tries again), anything else is.
   */
  private abandonSnapshot(job: { readonly builder: SnapshotBuilder }, error: unknown): void {
    this.snapshotting = null;
    try {
      job.builder.abort();
    } catch {
      // the temp file is removed at the next compaction
    }
    if (!isOutOfSpace(error)) this.fail(error);
    else this.log("warn", "no space for a snapshot; the log stays uncompacted", { err: error });
  }

  private continueSnapshot(): void {
    const job = this.snapshotting;
    if (job === null || this.stopped) return;
    const until = performance.now() + snapshotSliceMs;
    try {
      while (!job.done && performance.now() < until) {
        const next = job.chunks.next();
        if (next.done === true) job.done = true;
        else job.builder.add(next.value);
      }
    } catch (error) {
      this.abandonSnapshot(job, error);
      return;
    }
    if (!job.done) {
      setImmediate(() => this.continueSnapshot());
      return;
    }
    // The file's bytes go to disk off the event loop (an fdatasync of up to tens of MB on the
    // main thread stalled every request for its length); then the rest below.
    if (job.flushed === "flushing") return;
    if (job.flushed === "no") {
      job.flushed = "flushing";
      job.builder.flush((error) => {
        if (this.snapshotting !== job) return; // aborted meanwhile (stop, or the leader's snapshot)
        if (error === null) {
          job.flushed = "yes";
          this.continueSnapshot();
          return;
        }
        this.abandonSnapshot(job, error);
      });
      return;
    }
    // The file is written (and the WAL compacted) between Readies: never under an fdatasync in
    // flight or while a Ready waits for disk space; `afterProcess` comes back here once they are done.
    if (this.saving || this.unsaved !== undefined) return;
    this.snapshotting = null;
    try {
      if (!job.builder.finish()) return;
    } catch (error) {
      // No room for the snapshot file: the log stays uncompacted, which is safe; the next applied
      // entry tries again.
      if (!isOutOfSpace(error)) this.fail(error);
      else this.log("warn", "no space for a snapshot; the log stays uncompacted", { err: error });
      return;
    }
    this.lastSnapshotIndex = job.index;
    this.scheduleSnapshot();
    this.log("info", "snapshot taken; log compacted", { index: job.index, bytes: job.builder.dataBytes });
    // Entries applied meanwhile may already call for the next one.
    this.maybeSnapshot();
  }

  /** The leader's timers: expire sessions, reap services critical for too long. */
  private leaderSweep(): void {
    const now = this.nowMs();
    for (const id of this.timers.expiredSessions(this.current, now)) {
      this.log("info", "session TTL expired; destroying", { session: id });
      this.proposeMaintenance({ op: "session-destroy", id }, `session/${id}`);
    }
    for (const due of this.timers.criticalServices(this.current, now)) {
      this.log("info", "service critical past deregister_critical_service_after; deregistering", { ...due });
      this.proposeMaintenance({ op: "catalog-deregister", node: due.node, serviceId: due.serviceId }, `service/${due.node}/${due.serviceId}`);
    }
  }

  private proposeMaintenance(command: RegistryCommand, key: string): void {
    const proposed = this.proposeLocal(parseCommand(command));
    if (proposed === null) {
      this.timers.retry(key);
      return;
    }
    proposed.catch(() => this.timers.retry(key));
  }
}

/** The state held by `snapshot` (empty at index 0); merges the snapshot's address book into `addresses`. */
function stateMachine(factory: StateMachineFactory, snapshot: Snapshot, addresses: Map<string, string>): ReplicatedState {
  if (snapshot.metadata.index === 0 || snapshot.data.byteLength === 0) return factory.empty();
  const envelope = decodeSnapshotEnvelope(snapshot.data);
  for (const [id, address] of Object.entries(envelope.peers)) if (!addresses.has(id)) addresses.set(id, address);
  return factory.restore(envelope.state);
}

/** The node's disk has no space for the Raft log: writes are refused (HTTP 5xx) until it has. */
export class DiskFullError extends Error {
  constructor(nodeId: string, cause: string) {
    super(`registry node ${nodeId} cannot write its log: ${cause}; free space in its data directory`);
    this.name = "DiskFullError";
  }
}

function isOutOfSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}
