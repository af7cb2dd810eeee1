// The driver's handle on one Raft node (etcd's RawNode): feed it ticks, messages and requests,
// then take a `Ready` — persist, send, apply — and hand it back with `advance`.
import { encodeConfChange } from "./conf-change.ts";
import type { ConfChange } from "./conf-change.ts";
import { isEmptyHardState, isSameHardState } from "./entry.ts";
import type { Entry, HardState, Snapshot } from "./entry.ts";
import type { LogIndex, NodeId, Term } from "./ids.ts";
import type { Message } from "./message.ts";
import { Raft } from "./raft.ts";
import type { ProposeResult, ReadIndexResult, ReadState, TransferResult } from "./outcomes.ts";
import type { SoftState, Status } from "./status.ts";
import { resolveRaftConfig } from "./raft-config.ts";
import type { RaftConfig } from "./raft-config.ts";

/**
 * What a node needs its driver to do, in this order:
 * 1. persist `snapshot` (if any), then `entries`, then `hardState` (if any) — durably when
 *    `mustSync`;
 * 2. send `messages` (only now: some acknowledge what step 1 persisted, thesis §3.8);
 * 3. apply `snapshot` (if any) and then `committedEntries` to the state machine, and serve the
 *    reads in `readStates` once their index is applied;
 * 4. call `advance(ready)`.
 * Steps 2 and 3 may run concurrently; when `sendBeforePersist`, step 2 may also run before step 1.
 * `committedEntries` may be applied before step 1 completes: they are on a quorum's disks already
 * (a leader counts its own entries only at `advance`), so a crash loses none of them. While a
 * Ready is being persisted, `takeEarlyMessages` hands out what may leave before it is. A `Ready`
 * is handed out once; `ready()` again before `advance` is an error.
 */
export interface Ready {
  /** Present when leader or role changed since the last Ready. */
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed since the last Ready. */
  readonly hardState?: HardState;
  /** Entries to append to storage (they may replace a stored suffix from their first index). */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader, to persist and apply before anything else. */
  readonly snapshot?: Snapshot;
  readonly messages: readonly Message[];
  /** Entries committed since the last Ready, to apply in order; they may also be in `entries`. */
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** Whether `snapshot`, `entries` or `hardState` must reach stable storage (fsync) before `messages` leave; a commit-only change need not. */
  readonly mustSync: boolean;
  /**
   * The messages may leave before (in parallel with) step 1, as etcd's leader does: this node is
   * the leader and its term and vote did not change since the last Ready, so every message is a
   * leader's (appends, heartbeats, vote refusals, read answers) and none promises anything about
   * this node's disk — the leader counts its own entries towards a commit only at `advance`
   * (thesis §10.2.1). Still apply and advance only after step 1.
   */
  readonly sendBeforePersist: boolean;
}

/** Creates a node from its configuration and storage; throws `RangeError` on an invalid configuration. */
export function createRawNode(config: RaftConfig): RawNode {
  return new RawNode(config);
}

/**
 * One Raft node as a pure state machine. Nothing happens between calls: no timers, no I/O.
 * Restart a node by creating a new RawNode over the storage the old one persisted into.
 */
export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private outstanding: Ready | null = null;
  /** Committed entries handed out by `takeCommittedEntries` while `outstanding` is persisted; counted applied at its advance. */
  private takenEarly: Entry[] = [];

  /** Throws `RangeError` if the configuration is invalid (see `resolveRaftConfig` for the value form). */
  constructor(config: RaftConfig) {
    const resolved = resolveRaftConfig(config);
    if (!resolved.ok) throw new RangeError(`invalid Raft configuration (${resolved.problem}): ${resolved.message}`);
    this.raft = new Raft(resolved.config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  get id(): NodeId {
    return this.raft.id;
  }

  /** The current term: `status().term` without building the status (its progress and configuration copies). */
  get term(): Term {
    return this.raft.term;
  }

  /** Advances the node's logical clock by one tick (elections, heartbeats, CheckQuorum). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (with PreVote if configured), as if the election timeout had fired. */
  campaign(): void {
    this.raft.startElection();
  }

  /** Delivers a message from a peer; throws if it is addressed to another node. */
  step(message: Message): void {
    if (message.to !== this.raft.id) throw new RangeError(`message to ${message.to} stepped into node ${this.raft.id}`);
    this.raft.step(message);
  }

  /** Proposes application data (Raft §5.3). "appended" is not "committed": watch `committedEntries`. */
  propose(data: Uint8Array): ProposeResult {
    return this.raft.propose([{ type: "normal", data }]);
  }

  /** Proposes several entries at once; all are appended or none. */
  proposeBatch(data: readonly Uint8Array[]): ProposeResult {
    return this.raft.propose(data.map((d) => ({ type: "normal" as const, data: d })));
  }

  /**
   * Proposes a one-server membership change (thesis §4.1). It takes effect on each node when that
   * node applies the committed entry (at `advance`); only one may be pending at a time.
   */
  proposeConfChange(change: ConfChange): ProposeResult {
    return this.raft.propose([{ type: "conf-change", data: encodeConfChange(change) }]);
  }

  /** Asks for a linearizable read point (thesis §6.4); `context` must be unique among pending reads. */
  readIndex(context: string): ReadIndexResult {
    return this.raft.readIndex(context);
  }

  /** Asks the leader to hand leadership to `to` (thesis §3.10); proposals are refused meanwhile. */
  transferLeader(to: NodeId): TransferResult {
    return this.raft.transferLeader(to);
  }

  /**
   * Tells the node its transport could not reach `to`: a leader probes `to` more gently; a follower
   * that lost its leader campaigns within a few ticks (with PreVote and CheckQuorum, see Raft).
   */
  reportUnreachable(to: NodeId): void {
    this.raft.reportUnreachable(to);
  }

  /** Tells the leader whether the snapshot it sent to `to` arrived. */
  reportSnapshot(to: NodeId, outcome: "finished" | "failed"): void {
    this.raft.reportSnapshot(to, outcome);
  }

  /** Whether `ready()` has anything; false while a Ready is outstanding. */
  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    const raft = this.raft;
    raft.flushAppends();
    if (raft.msgs.length > 0 || raft.readStates.length > 0) return true;
    if (raft.log.unstable.entries.length > 0 || raft.log.hasPendingSnapshot() || raft.log.hasNextCommittedEntries()) return true;
    const soft = raft.softState();
    if (soft.lead !== this.prevSoftState.lead || soft.state !== this.prevSoftState.state) return true;
    const hard = raft.hardState();
    return !isEmptyHardState(hard) && !isSameHardState(hard, this.prevHardState);
  }

  /** Takes what the driver must persist, send and apply now (see `Ready`). */
  ready(): Ready {
    if (this.outstanding !== null) throw new Error(`node ${this.raft.id}: ready() called before advance() of the previous Ready`);
    const raft = this.raft;
    raft.flushAppends();
    const soft = raft.softState();
    const hard = raft.hardState();
    const softChanged = soft.lead !== this.prevSoftState.lead || soft.state !== this.prevSoftState.state;
    const hardChanged = !isEmptyHardState(hard) && !isSameHardState(hard, this.prevHardState);
    const entries = raft.log.unstableEntries();
    const snapshot = raft.log.unstable.snapshot;
    const committedEntries = raft.log.nextCommittedEntries();
    const termOrVoteChanged = hardChanged && (hard.term !== this.prevHardState.term || hard.vote !== this.prevHardState.vote);
    const ready: Ready = {
      ...(softChanged ? { softState: soft } : {}),
      ...(hardChanged ? { hardState: hard } : {}),
      entries,
      ...(snapshot !== null ? { snapshot } : {}),
      messages: raft.msgs,
      committedEntries,
      readStates: raft.readStates,
      mustSync: entries.length > 0 || snapshot !== null || termOrVoteChanged,
      sendBeforePersist: soft.state === "leader" && !termOrVoteChanged && snapshot === null,
    };
    raft.msgs = [];
    raft.readStates = [];
    if (softChanged) this.prevSoftState = soft;
    if (hardChanged) this.prevHardState = hard;
    const lastCommitted = committedEntries[committedEntries.length - 1];
    if (lastCommitted !== undefined) raft.log.applying = lastCommitted.index;
    this.outstanding = ready;
    return ready;
  }

  /**
   * Messages that may leave while the outstanding Ready is still being persisted, for the driver to
   * send now instead of after that Ready's fsync:
   * - on a leader whose outstanding Ready has `sendBeforePersist` (so its term and vote on disk are
   *   already those of its leadership) and which is still leader of that term with that vote,
   *   everything it produced since: appends of entries proposed meanwhile, commit broadcasts,
   *   heartbeats, read answers — none promises anything about this node's disk (etcd's leader
   *   streams its appends the same way);
   * - on any other node, the requests it forwards to the leader (`prop`, `read-index`,
   *   `transfer-leader`): they promise nothing either, and a follower's disk is busy most of the
   *   time under load.
   * Empty with no Ready outstanding (take `ready()` instead). The other messages stay, in order,
   * for the next Ready.
   */
  takeEarlyMessages(): readonly Message[] {
    const outstanding = this.outstanding;
    const raft = this.raft;
    if (outstanding === null) return [];
    if (outstanding.sendBeforePersist && raft.state === "leader") {
      const hard = raft.hardState();
      if (hard.term === this.prevHardState.term && hard.vote === this.prevHardState.vote && !raft.log.hasPendingSnapshot()) {
        raft.flushAppends();
        if (raft.msgs.length === 0) return [];
        const messages = raft.msgs;
        raft.msgs = [];
        return messages;
      }
    }
    if (raft.msgs.length === 0) return [];
    let early: Message[] | null = null;
    const kept: Message[] = [];
    for (const message of raft.msgs) {
      if (message.type === "prop" || message.type === "read-index" || message.type === "transfer-leader") (early ??= []).push(message);
      else kept.push(message);
    }
    if (early === null) return [];
    raft.msgs = kept;
    return early;
  }

  /**
   * While a Ready is outstanding (being persisted): hands out the committed entries after those
   * handed out so far (within `maxBytes`, at least one), whether stable or still being persisted,
   * for the driver to apply now instead of after that Ready and the next. A committed entry is on a
   * quorum's disks and the same in every member's log (Log Matching), so a follower need not wait
   * for its own copy to be durable to apply it, as a leader need not. Stops before a conf change
   * (that one comes in a Ready, to take effect at advance). Empty with no Ready outstanding, or while
   * a snapshot is to be persisted. The driver applies them in order before its next call; `advance`
   * of the outstanding Ready then counts them applied too, and no later Ready repeats them.
   */
  takeCommittedEntries(maxBytes: number): readonly Entry[] {
    const log = this.raft.log;
    if (this.outstanding === null || log.hasPendingSnapshot() || log.committed <= log.applying) return [];
    const entries = log.slice((log.applying + 1) as LogIndex, (log.committed + 1) as LogIndex, maxBytes) ?? [];
    const confChange = entries.findIndex((entry) => entry.type === "conf-change");
    const taken = confChange < 0 ? entries : entries.slice(0, confChange);
    const last = taken[taken.length - 1];
    if (last === undefined) return [];
    log.applying = last.index;
    for (const entry of taken) this.takenEarly.push(entry);
    return taken;
  }

  /** Confirms that `ready` (the last one handed out) was persisted, sent and applied. */
  advance(ready: Ready): void {
    if (ready !== this.outstanding) throw new Error(`node ${this.raft.id}: advance() with a Ready that is not the outstanding one`);
    this.outstanding = null;
    if (ready.snapshot !== undefined) this.raft.snapshotApplied(ready.snapshot.metadata.index);
    const last = ready.entries[ready.entries.length - 1];
    if (last !== undefined) this.raft.entriesPersisted(last.index, last.term);
    this.raft.entriesApplied(ready.committedEntries);
    if (this.takenEarly.length > 0) {
      this.raft.entriesApplied(this.takenEarly);
      this.takenEarly = [];
    }
  }

  /** The index of the last entry in the log (persisted or not). */
  lastIndex(): LogIndex {
    return this.raft.log.lastIndex();
  }

  /** The node's state, with per-member progress on a leader. */
  status(): Status {
    return this.raft.status();
  }
}
