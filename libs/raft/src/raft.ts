// The Raft state machine of one node (Ongaro & Ousterhout 2014, "the paper"; Ongaro 2014, "the
// thesis"): terms, elections with PreVote and CheckQuorum, log replication with per-follower flow
// control, ReadIndex, snapshots, single-server membership changes and leadership transfer. It is
// driven only by `tick`, `step` and local requests, and only fills outboxes (`msgs`, `readStates`)
// that RawNode hands to the driver; it does no I/O and reads no clock.
import { applyConfChange, checkConfChange, decodeConfChange, isMember } from "./conf-change.ts";
import type { ConfChange } from "./conf-change.ts";
import { entrySizeBytes, isEmptyHardState } from "./entry.ts";
import type { ConfState, Entry, EntryType, HardState, Snapshot } from "./entry.ts";
import type { LogIndex, NodeId, Term } from "./ids.ts";
import type { AppendMessage, AppendResponse, HeartbeatMessage, HeartbeatResponse, Message, SnapshotMessage, VoteRequest, VoteResponse } from "./message.ts";
import type { Progress } from "./progress.ts";
import { ProgressTracker } from "./progress-tracker.ts";
import { voteResult } from "./quorum.ts";
import { RaftLog } from "./raft-log.ts";
import type { ResolvedRaftConfig } from "./raft-config.ts";
import { ReadOnlyQueue } from "./read-only.ts";
import type { ProposeResult, ReadIndexResult, ReadState, TransferResult } from "./outcomes.ts";
import type { ProgressStatus, RaftState, SoftState, Status } from "./status.ts";

type CampaignKind = "pre-election" | "election" | "transfer";
type ProposedEntry = { readonly type: EntryType; readonly data: Uint8Array };

/** One Raft node's protocol state. Internal: drivers use `RawNode`. */
export class Raft {
  readonly id: NodeId;
  term: Term = 0 as Term;
  vote: NodeId | null = null;
  lead: NodeId | null = null;
  state: RaftState = "follower";
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  /** Messages to send once the `Ready` carrying them is persisted. */
  msgs: Message[] = [];
  /** Released reads, handed out with the next `Ready`. */
  readStates: ReadState[] = [];

  private readonly config: ResolvedRaftConfig;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId | null = null;
  /** The log index the membership in `tracker` is as of (its last applied conf change, or the snapshot). */
  private configIndex: LogIndex;
  /** The index of the newest conf-change entry a leader appended; no other may be proposed until it is applied. */
  private pendingConfIndex: LogIndex = 0 as LogIndex;
  /** Bytes of data in this leader's uncommitted entries. */
  private uncommittedSize = 0;
  private readOnly = new ReadOnlyQueue();
  /** Reads that arrived before this leader committed an entry of its term (thesis §6.4 step 1). */
  private pendingReadIndex: { context: string; from: NodeId }[] = [];
  /**
   * Followers to send appends to when the next Ready is built, so that many proposals between
   * two Readies travel in one message per follower. `true` also sends an append with no entries
   * (to carry a new commit index or probe).
   */
  private readonly appendsDue = new Map<NodeId, boolean>();
  /** flushAppends' followers and their allow-empty flags, reused from call to call. */
  private readonly dueScratch: NodeId[] = [];
  private readonly dueAllowEmpty: boolean[] = [];
  /**
   * A follower's transport reported its leader unreachable (the connection was refused or reset)
   * and nothing has been heard from the leader since: the leader's lease is treated as over here,
   * and this follower campaigns within a few ticks instead of a whole election timeout.
   */
  private leaderUnreachable = false;
  /**
   * This node campaigns because its leader's link broke (see `leaderUnreachable`) and no leader has
   * been heard from since. Followers that lost a crashed leader together may campaign in the same
   * instant and split the vote; their next attempts then come after a short random wait
   * (`quickElectionTimeout`) instead of a whole randomized election timeout, which would add one to
   * two more seconds to the failover. Cleared once a leader is heard from, or a majority refuses.
   */
  private leaderLost = false;

  constructor(config: ResolvedRaftConfig) {
    this.config = config;
    this.id = config.id;
    this.log = new RaftLog(config.storage, config.maxCommittedSizePerReady);
    this.tracker = new ProgressTracker({ maxInflight: config.maxInflightMsgs, maxInflightBytes: config.maxInflightBytes });
    const { hardState, confState } = config.storage.initialState();
    this.tracker.setConfState(confState, (this.log.lastIndex() + 1) as LogIndex);
    this.configIndex = (config.storage.firstIndex() - 1) as LogIndex;
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if (config.applied !== null && config.applied > this.log.applied) this.log.appliedTo(config.applied);
    this.info(
      `${this.id} starts [voters: (${this.tracker.voters.join(",")}), term: ${this.term}, commit: ${this.log.committed}, ` +
        `applied: ${this.log.applied}, last: ${this.log.lastTerm()}/${this.log.lastIndex()}]`,
    );
    this.becomeFollower(this.term, null);
  }

  private loadState(state: HardState): void {
    if (state.commit < this.log.committed || state.commit > this.log.lastIndex()) {
      throw new Error(`${this.id}: persisted commit ${state.commit} is outside [${this.log.committed}, ${this.log.lastIndex()}]`);
    }
    this.log.committed = state.commit;
    this.term = state.term;
    this.vote = state.vote;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { lead: this.lead, state: this.state };
  }

  // ---- time -------------------------------------------------------------------------------

  /** Advances the logical clock by one tick. */
  tick(): void {
    if (this.state === "leader") this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.isPromotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.startElection();
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const [id, pr] of this.tracker.progress) {
      if (pr.state === "snapshot" && ++pr.snapshotTicks >= this.config.snapshotTimeoutTick) {
        this.debug(`${this.id} gave up waiting for snapshot ${pr.pendingSnapshot} at ${id}; will send again`);
        pr.pendingSnapshot = 0 as LogIndex;
        pr.becomeProbe();
        this.sendAppend(id);
      }
    }
    if (this.electionElapsed >= this.config.electionTick) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) this.checkQuorum();
      // A transfer that did not finish within an election timeout is abandoned (thesis §3.10).
      if (this.state === "leader" && this.leadTransferee !== null) {
        this.info(`${this.id} [term ${this.term}] abandoned the transfer to ${this.leadTransferee}: not done within an election timeout`);
        this.abortLeaderTransfer();
      }
    }
    if (this.state !== "leader") return;
    if (this.heartbeatElapsed >= this.config.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat(this.readOnly.lastPendingContext());
    }
  }

  /** CheckQuorum (thesis §6.2): a leader that has not heard from a quorum in an election timeout steps down. */
  private checkQuorum(): void {
    if (!this.tracker.isQuorumActive(this.id)) {
      this.warn(`${this.id} stepped down at term ${this.term}: no quorum heard from within an election timeout`);
      this.becomeFollower(this.term, null);
      return;
    }
    for (const [id, pr] of this.tracker.progress) if (id !== this.id) pr.recentActive = false;
  }

  /** A (pre-)candidate's timeout after its leader was lost: 2 to electionTick / 2 + 1 ticks, at random. */
  private quickElectionTimeout(): number {
    const choices = Math.max(1, Math.floor(this.config.electionTick / 2));
    return 2 + Math.min(Math.floor(this.config.random() * choices), choices - 1);
  }

  private resetRandomizedElectionTimeout(): void {
    // Raft §5.2: timeouts drawn from [T, 2T) make split votes rare.
    const spread = Math.min(Math.floor(this.config.random() * this.config.electionTick), this.config.electionTick - 1);
    this.randomizedElectionTimeout = this.config.electionTick + Math.max(0, spread);
  }

  // ---- role transitions -------------------------------------------------------------------

  private reset(term: Term): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = null;
    }
    this.lead = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.leaderUnreachable = false;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.tracker.resetVotes();
    const last = this.log.lastIndex();
    for (const [id, old] of this.tracker.progress) {
      const pr = this.tracker.newProgress((last + 1) as LogIndex, old.isLearner);
      if (id === this.id) pr.match = last;
      this.tracker.progress.set(id, pr);
    }
    this.pendingConfIndex = 0 as LogIndex;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnlyQueue();
    this.pendingReadIndex = [];
    this.appendsDue.clear();
  }

  becomeFollower(term: Term, lead: NodeId | null): void {
    this.reset(term);
    this.lead = lead;
    if (lead !== null) this.leaderLost = false;
    this.state = "follower";
    this.info(`${this.id} became follower at term ${this.term}`);
  }

  private becomeCandidate(): void {
    if (this.state === "leader") throw new Error(`${this.id}: a leader cannot become candidate`);
    this.reset((this.term + 1) as Term);
    this.vote = this.id;
    this.state = "candidate";
    this.info(`${this.id} became candidate at term ${this.term}`);
  }

  /** PreVote (thesis §9.6): campaign for term+1 without incrementing the term or voting. */
  private becomePreCandidate(): void {
    if (this.state === "leader") throw new Error(`${this.id}: a leader cannot become pre-candidate`);
    this.tracker.resetVotes();
    this.lead = null;
    this.state = "pre-candidate";
    this.info(`${this.id} became pre-candidate at term ${this.term}`);
  }

  private becomeLeader(): void {
    if (this.state === "follower") throw new Error(`${this.id}: a follower cannot become leader without an election`);
    this.reset(this.term);
    this.lead = this.id;
    this.leaderLost = false;
    this.state = "leader";
    const self = this.tracker.progress.get(this.id);
    if (self !== undefined) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // Raft §8: a new leader appends a no-op entry of its term; committing it commits every earlier
    // entry (§5.4.2) and lets ReadIndex start (thesis §6.4).
    this.appendEntries([{ type: "normal", data: new Uint8Array(0) }]);
    // No conf change until that no-op is applied: this closes the single-server change bug
    // (Ongaro, raft-dev, 2015; thesis §4.1 errata), because any change a previous leader left
    // uncommitted is then either committed or gone.
    this.pendingConfIndex = this.log.lastIndex();
    this.info(`${this.id} became leader at term ${this.term}`);
  }

  // ---- elections --------------------------------------------------------------------------

  /** Starts an election now, with PreVote if configured (a local request, as if the timeout fired). */
  startElection(): void {
    this.hup(this.config.preVote ? "pre-election" : "election");
  }

  /** Starts an election if this node may (local request or election timeout). */
  private hup(kind: CampaignKind): void {
    if (this.state === "leader") {
      this.debug(`${this.id} is already leader; no election`);
      return;
    }
    if (!this.isPromotable()) {
      this.warn(`${this.id} is not a voter (or awaits a snapshot) and cannot campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.warn(`${this.id} cannot campaign at term ${this.term}: committed conf changes are not applied yet`);
      return;
    }
    this.info(`${this.id} is starting a new election at term ${this.term}`);
    this.campaign(kind);
  }

  private isPromotable(): boolean {
    return this.tracker.isVoter(this.id) && !this.log.hasPendingSnapshot();
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    const entries = this.log.slice((this.log.applied + 1) as LogIndex, (this.log.committed + 1) as LogIndex, Number.POSITIVE_INFINITY) ?? [];
    return entries.some((entry) => entry.type === "conf-change");
  }

  private campaign(kind: CampaignKind): void {
    let voteTerm: Term;
    let type: VoteRequest["type"];
    if (kind === "pre-election") {
      this.becomePreCandidate();
      type = "pre-vote";
      // PreVote asks for the term it would campaign at, without moving to it.
      voteTerm = (this.term + 1) as Term;
    } else {
      this.becomeCandidate();
      type = "vote";
      voteTerm = this.term;
    }
    if (this.leaderLost) this.randomizedElectionTimeout = this.quickElectionTimeout();
    if (this.poll(this.id, type === "vote" ? "vote-resp" : "pre-vote-resp", true) === "won") {
      // A single voter wins at once.
      if (kind === "pre-election") this.campaign("election");
      else this.becomeLeader();
      return;
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    for (const id of this.tracker.voters) {
      if (id === this.id) continue;
      this.info(`${this.id} [last ${logTerm}/${index}] sent ${type} request to ${id} at term ${this.term}`);
      this.send<VoteRequest>({ type, from: this.id, to: id, term: voteTerm, index, logTerm, transfer: kind === "transfer" });
    }
  }

  private poll(from: NodeId, type: VoteResponse["type"], granted: boolean): "won" | "lost" | "pending" {
    this.info(`${this.id} received ${granted ? "" : "rejected "}${type} from ${from} at term ${this.term}`);
    this.tracker.recordVote(from, granted);
    const tally = this.tracker.tallyVotes();
    this.info(`${this.id} has ${tally.granted} ${type} votes and ${tally.rejected} rejections`);
    return tally.result;
  }

  private handleVoteRequest(m: VoteRequest): void {
    const respType = m.type === "vote" ? "vote-resp" : "pre-vote-resp";
    // Raft §5.2: one vote per term, first come first served; a PreVote for a future term binds nothing.
    const canVote = this.vote === m.from || (this.vote === null && this.lead === null) || (m.type === "pre-vote" && m.term > this.term);
    const last = `${this.log.lastTerm()}/${this.log.lastIndex()}`;
    // Raft §5.4.1: only for a candidate whose log is at least as up-to-date as ours.
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      this.info(`${this.id} [last ${last}, vote ${this.vote ?? "-"}] granted ${m.type} to ${m.from} [last ${m.logTerm}/${m.index}] at term ${this.term}`);
      // The answer carries the request's term, so a pre-candidate ahead of us does not drop it as stale.
      this.send<VoteResponse>({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === "vote") {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.info(`${this.id} [last ${last}, vote ${this.vote ?? "-"}] rejected ${m.type} from ${m.from} [last ${m.logTerm}/${m.index}] at term ${this.term}`);
      this.send<VoteResponse>({ type: respType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  // ---- the message dispatcher -------------------------------------------------------------

  /** Handles a message from a peer. */
  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === "vote" || m.type === "pre-vote") {
        // Thesis §4.2.3/§9.6: while a leader is known to be alive (its lease, kept by
        // CheckQuorum), ignore disrupting elections, unless the leader itself asked for one.
        const inLease = this.config.checkQuorum && this.lead !== null && this.electionElapsed < this.config.electionTick && !this.leaderUnreachable;
        if (inLease && !m.transfer) {
          this.info(
            `${this.id} [term ${this.term}, vote ${this.vote ?? "-"}] ignored ${m.type} from ${m.from} at term ${m.term}: ` +
              `leader ${this.lead} is within its lease (${this.config.electionTick - this.electionElapsed} ticks left)`,
          );
          return;
        }
      }
      if (m.type === "pre-vote" || (m.type === "pre-vote-resp" && !m.reject)) {
        // PreVote never moves the term; a granted pre-vote answers for the term we asked about.
      } else {
        // Raft §5.1: a higher term means we are out of date.
        this.info(`${this.id} [term ${this.term}] received ${m.type} with higher term ${m.term} from ${m.from}`);
        const fromLeader = m.type === "app" || m.type === "heartbeat" || m.type === "snap";
        this.becomeFollower(m.term, fromLeader ? m.from : null);
      }
    } else if (m.term < this.term) {
      if ((this.config.checkQuorum || this.config.preVote) && (m.type === "heartbeat" || m.type === "app")) {
        // A deposed leader that cannot see higher terms through votes (ignored under the lease,
        // or never sent under PreVote) learns the current term from this answer.
        this.send<AppendResponse>({
          type: "app-resp",
          from: this.id,
          to: m.from,
          term: this.term,
          index: 0 as LogIndex,
          reject: false,
          rejectHint: 0 as LogIndex,
          logTerm: 0 as Term,
        });
      } else if (m.type === "pre-vote") {
        this.info(`${this.id} [term ${this.term}] rejected pre-vote from ${m.from} at lower term ${m.term}`);
        this.send<VoteResponse>({ type: "pre-vote-resp", from: this.id, to: m.from, term: this.term, reject: true });
      } else {
        this.debug(`${this.id} [term ${this.term}] ignored ${m.type} with lower term ${m.term} from ${m.from}`);
      }
      return;
    }

    if (m.type === "vote" || m.type === "pre-vote") {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.state) {
      case "leader":
        this.stepLeader(m);
        break;
      case "candidate":
      case "pre-candidate":
        this.stepCandidate(m);
        break;
      case "follower":
        this.stepFollower(m);
        break;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case "prop":
        if (!this.tracker.progress.has(this.id) || this.leadTransferee !== null) {
          this.debug(`${this.id} dropped a forwarded proposal from ${m.from}`);
          return;
        }
        this.appendProposal(m.entries, "replace-invalid");
        return;
      case "read-index":
        this.handleReadIndex(m.context, m.from);
        return;
      case "transfer-leader":
        this.handleTransferLeader(m.transferee);
        return;
      case "app-resp":
      case "heartbeat-resp": {
        const pr = this.tracker.progress.get(m.from);
        if (pr === undefined) {
          this.debug(`${this.id} ignored ${m.type} from non-member ${m.from}`);
          return;
        }
        if (m.type === "app-resp") this.handleAppendResponse(m, pr);
        else this.handleHeartbeatResponse(m, pr);
        return;
      }
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
    const ownVoteResp = this.state === "pre-candidate" ? "pre-vote-resp" : "vote-resp";
    switch (m.type) {
      case "app":
        // A leader of our term exists (Raft §5.2): give up the candidacy.
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case "snap":
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case "vote-resp":
      case "pre-vote-resp": {
        // In "candidate", late pre-vote answers of this term are ignored, and vice versa.
        if (m.type !== ownVoteResp) return;
        const result = this.poll(m.from, m.type, !m.reject);
        if (result === "won") {
          if (this.state === "pre-candidate") this.campaign("election");
          else this.becomeLeader();
        } else if (result === "lost") {
          // A lost pre-vote carries a future term; stay at ours. A majority refused (they hear a
          // leader, or hold newer entries): back to whole election timeouts.
          this.leaderLost = false;
          this.becomeFollower(this.term, null);
        }
        return;
      }
      default:
        this.debug(`${this.id} as ${this.state} ignored ${m.type} from ${m.from}`);
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "app":
        this.electionElapsed = 0;
        this.leaderUnreachable = false;
        this.leaderLost = false;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.electionElapsed = 0;
        this.leaderUnreachable = false;
        this.leaderLost = false;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case "snap":
        this.electionElapsed = 0;
        this.leaderUnreachable = false;
        this.leaderLost = false;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case "timeout-now":
        // Thesis §3.10: the leader asks us to campaign now, skipping PreVote (we are not partitioned).
        this.info(`${this.id} [term ${this.term}] received timeout-now from ${m.from}; campaigning for leadership`);
        this.hup("transfer");
        return;
      case "read-index-resp":
        this.readStates.push({ index: m.index, context: m.context });
        return;
      default:
        // Forwarded requests ("prop", "read-index", "transfer-leader") that reach a non-leader are
        // dropped rather than forwarded again; their senders time out and retry.
        this.debug(`${this.id} as follower ignored ${m.type} from ${m.from}`);
        return;
    }
  }

  // ---- replication: follower side ---------------------------------------------------------

  private handleAppend(m: AppendMessage): void {
    const reply = (fields: Pick<AppendResponse, "index" | "reject" | "rejectHint" | "logTerm">): void =>
      this.send<AppendResponse>({ type: "app-resp", from: this.id, to: m.from, term: this.term, ...fields });
    if (m.index < this.log.committed) {
      // Everything up to our commit index matches any leader's log (Raft §5.4 leader completeness).
      reply({ index: this.log.committed, reject: false, rejectHint: 0 as LogIndex, logTerm: 0 as Term });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      reply({ index: lastNew, reject: false, rejectHint: 0 as LogIndex, logTerm: 0 as Term });
      return;
    }
    // Raft §5.3: no entry at (index, logTerm). Point the leader at the last entry that may match:
    // the largest index <= m.index whose term is <= m.logTerm, skipping our whole divergent tail.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()) as LogIndex, m.logTerm);
    this.debug(`${this.id} rejected app [${m.logTerm}/${m.index}] from ${m.from}; hint ${hint.term}/${hint.index}`);
    reply({ index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(m.commit);
    this.send<HeartbeatResponse>({ type: "heartbeat-resp", from: this.id, to: m.from, term: this.term, context: m.context });
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const { index, term } = m.snapshot.metadata;
    const restored = this.restore(m.snapshot);
    this.info(`${this.id} [commit ${this.log.committed}] ${restored ? "restored" : "ignored"} snapshot ${term}/${index} from ${m.from}`);
    this.send<AppendResponse>({
      type: "app-resp",
      from: this.id,
      to: m.from,
      term: this.term,
      index: restored ? this.log.lastIndex() : this.log.committed,
      reject: false,
      rejectHint: 0 as LogIndex,
      logTerm: 0 as Term,
    });
  }

  /** InstallSnapshot (Raft §7): replaces the log and membership; false if the snapshot is stale or already covered. */
  private restore(snapshot: Snapshot): boolean {
    const { index, term, confState } = snapshot.metadata;
    if (index <= this.log.committed) return false;
    if (this.state !== "follower") throw new Error(`${this.id}: restoring a snapshot as ${this.state}`);
    if (!isMember(confState, this.id)) {
      // A node being added may get a snapshot older than its own addition; it stays a non-member
      // (it cannot campaign) until it applies the conf change that follows in the log.
      this.info(`${this.id} is not a member of snapshot ${term}/${index} (${confState.voters.join(",")}); restoring anyway`);
    }
    if (this.log.matchTerm(index, term)) {
      // Raft §7: the log already holds the snapshot's last entry; keep the entries after it.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    this.tracker.setConfState(confState, (this.log.lastIndex() + 1) as LogIndex);
    this.configIndex = index;
    return true;
  }

  // ---- replication: leader side -----------------------------------------------------------

  /**
   * Appends proposed entries at this leader's term. A conf change while another is pending is
   * refused ("refuse") or, for forwarded proposals that have nobody to answer, turned into an
   * empty normal entry ("replace-invalid").
   */
  private appendProposal(proposed: readonly ProposedEntry[], invalidConfChange: "refuse" | "replace-invalid"): ProposeResult {
    let entries = proposed;
    let confIndex: LogIndex | null = null;
    for (let i = 0; i < proposed.length; i++) {
      const entry = proposed[i] as ProposedEntry;
      if (entry.type !== "conf-change") continue;
      const problem = confIndex !== null ? "conf-change-pending" : this.checkConfChangeProposal(decodeConfChange(entry.data));
      if (problem === null) {
        confIndex = (this.log.lastIndex() + i + 1) as LogIndex;
        continue;
      }
      if (invalidConfChange === "refuse") return { ok: false, reason: problem };
      this.info(`${this.id} replaced a forwarded conf change with an empty entry: ${problem}`);
      if (entries === proposed) entries = proposed.slice();
      (entries as ProposedEntry[])[i] = { type: "normal", data: new Uint8Array(0) };
    }
    if (!this.appendEntries(entries)) {
      this.debug(`${this.id} dropped a proposal: uncommitted entries would exceed ${this.config.maxUncommittedEntriesSize} bytes`);
      return { ok: false, reason: "uncommitted-too-large" };
    }
    if (confIndex !== null) this.pendingConfIndex = confIndex;
    return { ok: true, via: "appended", term: this.term, index: this.log.lastIndex() };
  }

  private checkConfChangeProposal(change: ConfChange): "conf-change-pending" | "removes-last-voter" | null {
    if (this.pendingConfIndex > this.log.applied) return "conf-change-pending";
    return checkConfChange(this.tracker.confState(), change);
  }

  /** Appends at this leader's term; false (nothing appended) if the uncommitted budget would overflow. */
  private appendEntries(proposed: readonly ProposedEntry[]): boolean {
    const last = this.log.lastIndex();
    let payload = 0;
    for (const entry of proposed) payload += entry.data.byteLength;
    // An empty uncommitted tail accepts any proposal, so one large entry cannot block forever.
    if (this.uncommittedSize > 0 && payload > 0 && this.uncommittedSize + payload > this.config.maxUncommittedEntriesSize) return false;
    this.uncommittedSize += payload;
    const entries: Entry[] = new Array<Entry>(proposed.length);
    for (let i = 0; i < proposed.length; i++) {
      const entry = proposed[i] as ProposedEntry;
      entries[i] = { term: this.term, index: (last + 1 + i) as LogIndex, type: entry.type, data: entry.data };
    }
    this.log.append(entries);
    // The leader's own match moves once the driver has persisted these (see `entriesPersisted`).
    this.broadcastAppend(false);
    return true;
  }

  /** Records that the driver persisted entries up to (`index`, `entryTerm`); a leader counts itself now (thesis §3.8). */
  entriesPersisted(index: LogIndex, entryTerm: Term): void {
    this.log.stableTo(index, entryTerm);
    if (this.state !== "leader" || entryTerm !== this.term) return;
    const self = this.tracker.progress.get(this.id);
    if (self !== undefined && self.maybeUpdate(index)) this.commitAndBroadcast();
  }

  /** Advances the commit index if a quorum allows it, then tells the followers. */
  private commitAndBroadcast(): boolean {
    if (!this.log.maybeCommit(this.tracker.committed(), this.term)) return false;
    this.releasePendingReadIndex();
    this.broadcastAppend(true);
    return true;
  }

  private handleAppendResponse(m: AppendResponse, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0) {
        // Skip every index where our term exceeds the follower's term at the hint: none can match
        // (terms only grow along a log), so we probe at most once per term.
        nextProbe = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
      }
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        this.debug(`${this.id} backs ${m.from} up to next ${pr.next} after rejection of ${m.index}`);
        if (pr.state === "replicate") pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasProbeAtMatch = pr.match === m.index && pr.state === "probe";
    if (!pr.maybeUpdate(m.index) && !wasProbeAtMatch) return;
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.match + 1 >= this.log.firstIndex()) {
      // The follower caught up (by the snapshot or otherwise) to where our log can continue.
      this.debug(`${this.id} resumes replication to ${m.from} after a snapshot [match ${pr.match}]`);
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "replicate") pr.inflights.freeLE(m.index);

    if (!this.commitAndBroadcast() && pr.canBumpCommit(this.log.committed)) this.sendAppend(m.from);
    else this.appendsDue.set(m.from, this.appendsDue.get(m.from) ?? false);
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.info(`${this.id} sent timeout-now to ${m.from}: its log is up to date`);
      this.sendTimeoutNow(m.from);
    }
  }

  private handleHeartbeatResponse(m: HeartbeatResponse, pr: Progress): void {
    pr.recentActive = true;
    pr.msgAppFlowPaused = false;
    // Resume a follower that fell behind or is probing (its window may hold only lost messages).
    if (pr.match < this.log.lastIndex() || pr.state === "probe") this.sendAppend(m.from);
    if (this.config.readOnlyOption !== "safe" || m.context === null) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (acks === undefined) return;
    const votes = new Map<NodeId, boolean>();
    for (const id of acks) votes.set(id, true);
    if (voteResult(this.tracker.voters, votes) !== "won") return;
    for (const read of this.readOnly.advance(m.context)) this.answerRead(read.from, read.context, read.index);
  }

  /** Queues an append to `to` (sent when the next Ready is built), with entries if any, else empty. */
  private sendAppend(to: NodeId): void {
    this.appendsDue.set(to, true);
  }

  /** Queues appends to every other member; `allowEmpty` also sends ones without entries (to carry the commit index). */
  private broadcastAppend(allowEmpty: boolean): void {
    for (const id of this.tracker.members) {
      if (id === this.id) continue;
      if (allowEmpty || !this.appendsDue.has(id)) this.appendsDue.set(id, allowEmpty || (this.appendsDue.get(id) ?? false));
    }
  }

  /**
   * Sends the appends queued since the last Ready: per follower as many messages as flow control
   * allows, each up to `maxSizePerMsg`. Called when a Ready is built.
   */
  flushAppends(): void {
    if (this.appendsDue.size === 0) return;
    if (this.state !== "leader") {
      this.appendsDue.clear();
      return;
    }
    // In id order (deterministic output); the keys go through one reused array, not an array of
    // [id, flag] pairs per call (this runs at every Ready of a busy leader).
    const due = this.dueScratch;
    const allowEmptyOf = this.dueAllowEmpty;
    due.length = 0;
    allowEmptyOf.length = 0;
    for (const to of this.appendsDue.keys()) due.push(to);
    sortIdsInPlace(due);
    for (const to of due) allowEmptyOf.push(this.appendsDue.get(to) === true);
    this.appendsDue.clear();
    for (let i = 0; i < due.length; i++) {
      const to = due[i] as NodeId;
      const allowEmpty = allowEmptyOf[i] === true;
      if (!this.tracker.progress.has(to)) continue;
      if (!this.maybeSendAppend(to, allowEmpty)) continue;
      while (this.maybeSendAppend(to, false)) {
        // Keep filling the window.
      }
    }
  }

  /** Sends one append (or a snapshot if the needed entries are compacted); false if nothing was sent. */
  private maybeSendAppend(to: NodeId, allowEmpty: boolean): boolean {
    const pr = this.tracker.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = (pr.next - 1) as LogIndex;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) return this.maybeSendSnapshot(to, pr);
    let entries: readonly Entry[] = [];
    // With a full window in replicate state, send only empty appends: one that gets through is
    // acknowledged or rejected, which frees the window even if every earlier append was lost.
    if (pr.state !== "replicate" || !pr.inflights.isFull()) {
      const found = this.log.entriesFrom(pr.next, this.config.maxSizePerMsg);
      if (found === undefined) return this.maybeSendSnapshot(to, pr);
      entries = found;
    }
    if (entries.length === 0 && !allowEmpty) return false;
    let bytes = 0;
    for (const entry of entries) bytes += entrySizeBytes(entry);
    const commit = this.log.committed;
    this.send<AppendMessage>({ type: "app", from: this.id, to, term: this.term, index: prevIndex, logTerm: prevTerm, entries, commit });
    pr.sentEntries(entries.length, bytes);
    pr.sentCommitIndex(commit);
    return true;
  }

  private maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) {
      this.debug(`${this.id} holds the snapshot for ${to}: not recently active`);
      return false;
    }
    const snapshot = this.log.snapshot();
    if (snapshot === "temporarily-unavailable") {
      this.debug(`${this.id} cannot send a snapshot to ${to} yet: temporarily unavailable`);
      return false;
    }
    if (snapshot.metadata.index === 0) throw new Error(`${this.id}: entries for ${to} are compacted but there is no snapshot`);
    this.debug(`${this.id} [first ${this.log.firstIndex()}, commit ${this.log.committed}] sent snapshot ${snapshot.metadata.term}/${snapshot.metadata.index} to ${to}`);
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send<SnapshotMessage>({ type: "snap", from: this.id, to, term: this.term, snapshot });
    return true;
  }

  private broadcastHeartbeat(context: string | null): void {
    for (const id of this.tracker.members) {
      if (id === this.id) continue;
      const pr = this.tracker.progress.get(id) as Progress;
      // Never tell a follower to commit past what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed) as LogIndex;
      this.send<HeartbeatMessage>({ type: "heartbeat", from: this.id, to: id, term: this.term, commit, context });
      pr.sentCommitIndex(commit);
    }
  }

  /** The driver reports that `to` could not be reached: stop pipelining and probe again. */
  reportUnreachable(to: NodeId): void {
    if (this.state === "follower" && to === this.lead) {
      this.onLeaderUnreachable();
      return;
    }
    const pr = this.tracker.progress.get(to);
    if (this.state !== "leader" || pr === undefined) return;
    if (pr.state === "replicate") pr.becomeProbe();
  }

  /**
   * A follower's transport could not reach the leader (e.g. connection refused: the process is
   * gone). Waiting out a whole election timeout would add a second of unavailability, so the
   * follower gives up the leader's lease and campaigns within 1–3 ticks (spread at random so two
   * followers that both lost the leader rarely split the vote; when they do, `leaderLost` keeps
   * their next tries as quick). Only with PreVote and CheckQuorum:
   * a follower whose link alone broke then fails its pre-vote against peers that still hear the
   * leader (they are within its lease), so a live leader is never deposed by this. Not with
   * lease-based reads, whose safety needs every follower to wait out the lease (thesis §6.4.1).
   */
  private onLeaderUnreachable(): void {
    if (this.leaderUnreachable || !this.config.preVote || !this.config.checkQuorum || this.config.readOnlyOption !== "safe") return;
    this.leaderUnreachable = true;
    this.leaderLost = true;
    const wait = 1 + Math.min(Math.floor(this.config.random() * 3), 2);
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - wait);
    this.info(`${this.id} [term ${this.term}] lost its link to leader ${this.lead}; campaigning in ${this.randomizedElectionTimeout - this.electionElapsed} ticks`);
  }

  /** The driver reports the fate of a snapshot sent to `to`. */
  reportSnapshot(to: NodeId, outcome: "finished" | "failed"): void {
    const pr = this.tracker.progress.get(to);
    if (this.state !== "leader" || pr === undefined || pr.state !== "snapshot") return;
    // On failure forget the snapshot, or probing would start from an index the follower lacks.
    if (outcome === "failed") pr.pendingSnapshot = 0 as LogIndex;
    pr.becomeProbe();
    // Wait for the follower's answer (or a heartbeat) before the next append.
    pr.msgAppFlowPaused = true;
  }

  // ---- proposals --------------------------------------------------------------------------

  /** A local proposal: appended on the leader, forwarded by a follower that knows one, else refused. */
  propose(entries: readonly ProposedEntry[]): ProposeResult {
    if (this.state === "leader") {
      if (!this.tracker.progress.has(this.id)) return { ok: false, reason: "proposal-dropped" };
      if (this.leadTransferee !== null) return { ok: false, reason: "transfer-in-progress", leaderHint: this.id };
      return this.appendProposal(entries, "refuse");
    }
    if (this.state !== "follower" || this.lead === null) return { ok: false, reason: "not-leader" };
    if (this.config.disableProposalForwarding) return { ok: false, reason: "not-leader", leaderHint: this.lead };
    this.send({ type: "prop", from: this.id, to: this.lead, term: this.term, entries });
    return { ok: true, via: "forwarded", leader: this.lead };
  }

  // ---- reads ------------------------------------------------------------------------------

  /** A local linearizable read (thesis §6.4); the answer comes back as a `ReadState`. */
  readIndex(context: string): ReadIndexResult {
    if (this.state === "leader") {
      this.handleReadIndex(context, this.id);
      return { ok: true };
    }
    if (this.state !== "follower" || this.lead === null) return { ok: false, reason: "not-leader" };
    // Thesis §6.4.3: a follower asks the leader for its read index.
    this.send({ type: "read-index", from: this.id, to: this.lead, term: this.term, context });
    return { ok: true };
  }

  private handleReadIndex(context: string, from: NodeId): void {
    if (this.tracker.isSingletonOf(this.id)) {
      this.answerRead(from, context, this.log.committed);
      return;
    }
    // Thesis §6.4 step 1: until an entry of this term is committed, the leader may not know the
    // latest commit index; park the read.
    if (!this.committedEntryInCurrentTerm()) {
      this.pendingReadIndex.push({ context, from });
      return;
    }
    this.startRead(context, from);
  }

  private startRead(context: string, from: NodeId): void {
    if (this.config.readOnlyOption === "lease-based") {
      // Thesis §6.4.1: inside the lease no other leader can exist; answer without a round trip.
      this.answerRead(from, context, this.log.committed);
      return;
    }
    // Thesis §6.4 steps 2-3: note the commit index, then confirm leadership with a heartbeat round.
    if (this.readOnly.add(context, this.log.committed, from, this.id)) this.broadcastHeartbeat(context);
  }

  private releasePendingReadIndex(): void {
    if (this.pendingReadIndex.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const parked = this.pendingReadIndex;
    this.pendingReadIndex = [];
    for (const read of parked) this.startRead(read.context, read.from);
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private answerRead(from: NodeId, context: string, index: LogIndex): void {
    if (from === this.id) this.readStates.push({ index, context });
    else this.send({ type: "read-index-resp", from: this.id, to: from, term: this.term, index, context });
  }

  // ---- leadership transfer ----------------------------------------------------------------

  /** Asks to hand leadership to `transferee` (thesis §3.10); a follower forwards the request to its leader. */
  transferLeader(transferee: NodeId): TransferResult {
    if (this.state === "leader") return this.handleTransferLeader(transferee);
    if (this.state !== "follower" || this.lead === null) return { ok: false, reason: "not-leader" };
    this.send({ type: "transfer-leader", from: this.id, to: this.lead, term: this.term, transferee });
    return { ok: true };
  }

  private handleTransferLeader(transferee: NodeId): TransferResult {
    const pr = this.tracker.progress.get(transferee);
    if (pr === undefined || pr.isLearner) return { ok: false, reason: "not-a-voter" };
    if (this.leadTransferee !== null) {
      if (this.leadTransferee === transferee) return { ok: true };
      this.info(`${this.id} [term ${this.term}] aborted the transfer to ${this.leadTransferee}`);
      this.abortLeaderTransfer();
    }
    if (transferee === this.id) return { ok: false, reason: "already-leader" };
    this.info(`${this.id} [term ${this.term}] starts to transfer leadership to ${transferee}`);
    // The transfer must finish within one election timeout, counted from now.
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    // Thesis §3.10 step 1: bring the target's log up to date, then (step 2) tell it to campaign.
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(transferee);
    else this.sendAppend(transferee);
    return { ok: true };
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: "timeout-now", from: this.id, to, term: this.term });
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = null;
  }

  // ---- applying ---------------------------------------------------------------------------

  /**
   * Records that the driver applied `entries` (the committed entries of a Ready, in order):
   * membership changes take effect now, and the leader's uncommitted budget shrinks.
   */
  entriesApplied(entries: readonly Entry[]): void {
    const last = entries[entries.length - 1];
    if (last === undefined) return;
    this.log.appliedTo(last.index);
    let payload = 0;
    for (const entry of entries) {
      payload += entry.data.byteLength;
      if (entry.type === "conf-change") this.applyConfChangeEntry(entry);
    }
    if (this.state === "leader") this.uncommittedSize = Math.max(0, this.uncommittedSize - payload);
  }

  /** Marks a snapshot from a Ready as persisted and applied. */
  snapshotApplied(index: LogIndex): void {
    this.log.stableSnapTo(index);
  }

  private applyConfChangeEntry(entry: Entry): void {
    // A snapshot restored while this entry was being applied already holds a later membership.
    if (entry.index <= this.configIndex) return;
    this.configIndex = entry.index;
    const change = decodeConfChange(entry.data);
    this.switchToConfig(applyConfChange(this.tracker.confState(), change));
  }

  private switchToConfig(next: ConfState): void {
    // A member added now is probed from the last entry, so the first append carries something.
    this.tracker.setConfState(next, Math.max(this.log.lastIndex(), 1) as LogIndex);
    this.info(`${this.id} switched to configuration voters=(${next.voters.join(",")}) learners=(${next.learners.join(",")})`);
    if (this.state !== "leader") return;
    if (!this.tracker.isVoter(this.id)) {
      // Thesis §4.2.2: a leader removed from the configuration steps down once the change is committed.
      this.becomeFollower(this.term, null);
      return;
    }
    if (this.leadTransferee !== null && !this.tracker.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    // Fewer voters may make a quorum already; otherwise start replicating to the new members.
    if (!this.commitAndBroadcast()) this.broadcastAppend(false);
  }

  // ---- introspection ----------------------------------------------------------------------

  status(): Status {
    let progress: ProgressStatus[] | null = null;
    if (this.state === "leader") {
      progress = this.tracker.members.map((id) => {
        const pr = this.tracker.progress.get(id) as Progress;
        return {
          id,
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          paused: pr.isPaused(),
          pendingSnapshot: pr.pendingSnapshot,
          recentActive: pr.recentActive,
          inflight: pr.inflights.count(),
        };
      });
    }
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      lead: this.lead,
      state: this.state,
      config: this.tracker.confState(),
      leadTransferee: this.leadTransferee,
      progress,
    };
  }

  // ---- plumbing ---------------------------------------------------------------------------

  private send<M extends Message>(m: M): void {
    if (m.to === this.id) throw new Error(`${this.id}: ${m.type} addressed to itself`);
    this.msgs.push(m);
  }

  private debug(line: string): void {
    this.config.logger?.debug?.(line);
  }

  private info(line: string): void {
    this.config.logger?.info?.(line);
  }

  private warn(line: string): void {
    this.config.logger?.warn?.(line);
  }
}

/**
 * Sorts a few ids in place by insertion. `Array.prototype.sort` copies the array into a work array
 * first: garbage at every Ready of a busy leader, for two or four followers.
 */
function sortIdsInPlace(ids: NodeId[]): void {
  for (let i = 1; i < ids.length; i++) {
    const id = ids[i] as NodeId;
    let j = i - 1;
    while (j >= 0 && (ids[j] as NodeId) > id) {
      ids[j + 1] = ids[j] as NodeId;
      j--;
    }
    ids[j + 1] = id;
  }
}
