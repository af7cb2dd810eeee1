// The command interpreter of the data-driven interaction tests (testdata/*.txt), in the manner of
// etcd-io/raft's InteractionEnv: build a cluster, campaign, propose, tick, deliver or drop
// messages, partition, crash and restart, and print every Ready, message and log line.
import { MemoryStorage, describeConfState, describeEntry, describeMessage, describeReady, logIndex, nodeId, term } from "../src/index.ts";
import type { ConfChangeType, ProposeResult, RaftLogger, ReadOnlyOption } from "../src/index.ts";
import { hasArg, intArg, stringArg } from "@meshwork/testing";
import type { DataDrivenCase } from "@meshwork/testing";
import { Cluster, text } from "./cluster.ts";
import type { NodeOptions } from "./cluster.ts";

type LogLevel = "none" | "info" | "debug";

/** Creates the handler for one testdata file; it keeps the cluster across the file's cases. */
export function createInteractionHandler(): (testCase: DataDrivenCase) => string {
  const env = new InteractionEnv();
  return (testCase) => env.handle(testCase);
}

class InteractionEnv {
  private level: LogLevel = "info";
  private logs: string[] = [];
  private readonly cluster: Cluster;

  constructor() {
    const logger: RaftLogger = {
      debug: (line) => {
        if (this.level === "debug") this.logs.push(`DEBUG ${line}`);
      },
      info: (line) => {
        if (this.level !== "none") this.logs.push(`INFO ${line}`);
      },
      warn: (line) => {
        if (this.level !== "none") this.logs.push(`WARN ${line}`);
      },
    };
    this.cluster = new Cluster({ voters: [], logger });
  }

  handle(tc: DataDrivenCase): string {
    this.logs = [];
    const out: string[] = [];
    switch (tc.cmd) {
      case "log-level":
        this.level = this.positional(tc)[0] as LogLevel;
        break;
      case "add-nodes":
        this.addNodes(tc);
        break;
      case "campaign":
        for (const id of this.positional(tc)) this.cluster.node(id).campaign();
        break;
      case "propose":
        out.push(this.describeProposal(this.cluster.node(this.positional(tc)[0] as string).propose(text(stringArg(tc, "data", "")))));
        break;
      case "propose-conf-change":
        out.push(this.proposeConfChange(tc));
        break;
      case "process-ready":
        for (const id of this.positional(tc)) this.processReady(id, out, this.positional(tc).length > 1);
        break;
      case "deliver-msgs":
        for (const id of this.positional(tc)) this.deliver(id, hasArg(tc, "drop"), out, this.positional(tc).length > 1);
        break;
      case "stabilize":
        this.stabilize(this.positional(tc), out);
        break;
      case "tick":
        this.tick(tc, intArg(tc, "n", 1));
        break;
      case "tick-election":
        this.tick(tc, "election");
        break;
      case "tick-heartbeat":
        this.tick(tc, "heartbeat");
        break;
      case "partition":
        this.cluster.heal();
        this.cluster.partition(this.positional(tc));
        // Messages already queued across the cut are lost, as on a real network.
        this.cluster.dropQueued((m) => this.cluster.network.isCut(m.from, m.to));
        break;
      case "heal":
        this.cluster.heal();
        break;
      case "crash":
        for (const id of this.positional(tc)) this.cluster.crash(id);
        break;
      case "restart":
        for (const id of this.positional(tc)) this.cluster.restart(id);
        break;
      case "status":
        for (const id of this.positional(tc)) out.push(...this.status(id));
        break;
      case "raft-state":
        out.push(...this.raftState());
        break;
      case "raft-log":
        for (const id of this.positional(tc)) out.push(...this.raftLog(id));
        break;
      case "applied":
        for (const id of this.positional(tc)) out.push(`${id}: [${this.cluster.appliedData(id).join(" ")}]`);
        break;
      case "compact": {
        const [id, index] = this.positional(tc) as [string, string];
        this.cluster.compact(id, Number(index));
        out.push(...this.raftLog(id));
        break;
      }
      case "transfer-leadership": {
        const result = this.cluster.node(stringArg(tc, "from")).transferLeader(nodeId(stringArg(tc, "to")));
        if (!result.ok) out.push(`refused: ${result.reason}`);
        break;
      }
      case "read-index": {
        const result = this.cluster.node(this.positional(tc)[0] as string).readIndex(stringArg(tc, "context"));
        if (!result.ok) out.push(`refused: ${result.reason}`);
        break;
      }
      case "report-unreachable":
        this.cluster.node(stringArg(tc, "from")).reportUnreachable(nodeId(stringArg(tc, "to")));
        break;
      case "report-snapshot":
        this.cluster.node(stringArg(tc, "from")).reportSnapshot(nodeId(stringArg(tc, "to")), hasArg(tc, "failed") ? "failed" : "finished");
        break;
      default:
        throw new Error(`unknown command ${tc.cmd}`);
    }
    out.push(...this.logs);
    this.logs = [];
    return out.length === 0 ? "ok\n" : `${out.join("\n")}\n`;
  }

  /** Bare arguments (`campaign 1`), in the order the runner gives them. */
  private positional(tc: DataDrivenCase): string[] {
    return Object.entries(tc.args)
      .filter(([, values]) => values.length === 0)
      .map(([key]) => key);
  }

  private addNodes(tc: DataDrivenCase): void {
    const count = Number(this.positional(tc)[0]);
    const voters = tc.args["voters"] ?? [];
    const learners = tc.args["learners"] ?? [];
    const index = intArg(tc, "index", 0);
    const options: NodeOptions = {
      random: () => 0,
      electionTick: intArg(tc, "election-tick", 3),
      heartbeatTick: intArg(tc, "heartbeat-tick", 1),
      preVote: stringArg(tc, "prevote", "true") === "true",
      checkQuorum: stringArg(tc, "checkquorum", "true") === "true",
      readOnlyOption: stringArg(tc, "read-only", "safe") as ReadOnlyOption,
      ...(hasArg(tc, "max-size-per-msg") ? { maxSizePerMsg: intArg(tc, "max-size-per-msg") } : {}),
      // Committed entries are not paged unless asked, so the outputs stay short.
      maxCommittedSizePerReady: hasArg(tc, "max-committed-size") ? intArg(tc, "max-committed-size") : Number.POSITIVE_INFINITY,
      ...(hasArg(tc, "max-inflight") ? { maxInflightMsgs: intArg(tc, "max-inflight") } : {}),
      ...(hasArg(tc, "max-uncommitted-size") ? { maxUncommittedEntriesSize: intArg(tc, "max-uncommitted-size") } : {}),
      ...(hasArg(tc, "disable-forwarding") ? { disableProposalForwarding: true } : {}),
    };
    const timeouts = tc.args["timeouts"] ?? [];
    const electionTick = options.electionTick as number;
    const first = this.cluster.members.size + 1;
    for (let n = first; n < first + count; n++) {
      // Members with index=N start from a snapshot at N (term 1); without index, from bootstrap
      // entries; without voters, empty (a node to be added).
      const confState = { voters: voters.map(nodeId), learners: learners.map(nodeId) };
      const storage = index === 0 && voters.length > 0 ? new MemoryStorage({ bootstrap: confState }) : new MemoryStorage();
      if (index > 0) storage.applySnapshot({ metadata: { index: logIndex(index), term: term(1), confState }, data: new Uint8Array(0) });
      // The randomized election timeout of each node, in [electionTick, 2 * electionTick).
      const timeout = Number(timeouts[n - first] ?? electionTick);
      const draw = (timeout - electionTick + 0.5) / electionTick;
      this.cluster.addMember(String(n), storage, { ...options, random: () => draw });
    }
  }

  private describeProposal(result: ProposeResult): string {
    if (!result.ok) return `refused: ${result.reason}${result.leaderHint === undefined ? "" : ` (leader ${result.leaderHint})`}`;
    return result.via === "appended" ? `appended ${result.term}/${result.index}` : `forwarded to ${result.leader}`;
  }

  private proposeConfChange(tc: DataDrivenCase): string {
    const [id] = this.positional(tc) as [string];
    const types: ConfChangeType[] = ["add-voter", "add-learner", "remove-node"];
    const type = types.find((t) => hasArg(tc, t));
    if (type === undefined) throw new Error(`${tc.pos}: propose-conf-change needs add-voter=, add-learner= or remove-node=`);
    return this.describeProposal(this.cluster.node(id).proposeConfChange({ type, nodeId: nodeId(stringArg(tc, type)) }));
  }

  private processReady(id: string, out: string[], withHeader: boolean): boolean {
    const pending = this.logs;
    this.logs = [];
    const ready = this.cluster.processReady(id);
    const lines: string[] = [];
    if (ready !== undefined) lines.push(...describeReady(ready).split("\n").filter((l) => l !== ""));
    lines.push(...this.logs);
    this.logs = pending;
    if (ready === undefined && lines.length === 0) return false;
    if (withHeader) out.push(`> ${id} handling ready`, ...lines.map((l) => `  ${l}`));
    else out.push(...lines);
    return true;
  }

  private deliver(id: string, drop: boolean, out: string[], withHeader: boolean): boolean {
    if (!this.cluster.queue.some((m) => m.to === id)) return false;
    const pending = this.logs;
    this.logs = [];
    const lines: string[] = [];
    if (drop) {
      for (const m of this.cluster.dropQueued((q) => q.to === id)) lines.push(`dropped: ${describeMessage(m)}`);
    } else {
      // Deliver one by one so each message is followed by the lines it caused.
      const mine = this.cluster.dropQueued((m) => m.to === id);
      for (const m of mine) {
        lines.push(describeMessage(m));
        const member = this.cluster.member(id);
        if (!member.crashed) member.node.step(m);
        lines.push(...this.logs);
        this.logs = [];
      }
    }
    this.logs = pending;
    if (withHeader) out.push(`> ${id} receiving messages`, ...lines.map((l) => `  ${l}`));
    else out.push(...lines);
    return true;
  }

  private stabilize(only: string[], out: string[]): void {
    const ids = only.length > 0 ? only : [...this.cluster.members.keys()];
    for (let round = 0; round < 100; round++) {
      let moved = false;
      for (const id of ids) if (this.processReady(id, out, true)) moved = true;
      for (const id of ids) if (this.deliver(id, false, out, true)) moved = true;
      if (!moved) return;
    }
    throw new Error("stabilize did not converge within 100 rounds");
  }

  /** Ticks the nodes named, one tick each in turn, as their clocks would run side by side. */
  private tick(tc: DataDrivenCase, what: number | "election" | "heartbeat"): void {
    const plan = this.positional(tc).map((id) => {
      const member = this.cluster.member(id);
      const options = { ...this.cluster.options, ...member.overrides };
      const count = what === "election" ? (options.electionTick ?? 10) : what === "heartbeat" ? (options.heartbeatTick ?? 1) : what;
      return { member, count };
    });
    const rounds = Math.max(0, ...plan.map((p) => p.count));
    for (let round = 0; round < rounds; round++) {
      for (const { member, count } of plan) if (round < count) member.node.tick();
    }
  }

  private status(id: string): string[] {
    const s = this.cluster.status(id);
    const lines = [`${id}: ${s.state} term=${s.term} lead=${s.lead ?? "-"} commit=${s.commit} applied=${s.applied} last=${s.lastIndex} ${describeConfState(s.config)}`];
    for (const p of s.progress ?? []) {
      lines.push(
        `  ${p.id}: ${p.state} match=${p.match} next=${p.next}${p.isLearner ? " learner" : ""}${p.paused ? " paused" : ""}` +
          `${p.pendingSnapshot > 0 ? ` pending-snapshot=${p.pendingSnapshot}` : ""}${p.inflight > 0 ? ` inflight=${p.inflight}` : ""}${p.recentActive ? "" : " inactive"}`,
      );
    }
    return lines;
  }

  private raftState(): string[] {
    return [...this.cluster.members.values()].map((m) => {
      if (m.crashed) return `${m.id}: crashed`;
      const s = m.node.status();
      return `${m.id}: ${s.state} term=${s.term} vote=${s.vote ?? "-"} lead=${s.lead ?? "-"} commit=${s.commit} applied=${s.applied}`;
    });
  }

  private raftLog(id: string): string[] {
    const storage = this.cluster.member(id).storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    const snapshot = storage.snapshot();
    const lines = [`${id}: snapshot ${snapshot.metadata.term}/${snapshot.metadata.index}, entries ${first}..${last}`];
    if (last >= first) {
      for (const entry of storage.entries(first, logIndex(last + 1), Number.POSITIVE_INFINITY)) lines.push(`  ${describeEntry(entry)}`);
    }
    return lines;
  }
}
