// The registry server's Prometheus metrics (prom-client, text format 0.0.4): Raft state read from
// the node at scrape time (term, commit/applied/last index, leader, peers), and what the hooks of
// RegistryNode (WAL saves, leader changes), the write path and the HTTP API report as it happens,
// and the gossip member's (gossip-metrics.ts: Consul's memberlist and serf names).
import type { Status } from "@meshwork/raft";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { GossipEvent } from "@meshwork/gossip";
import { endpointFamily } from "./endpoint-family.ts";
import { GossipMetrics, type GossipView } from "./gossip-metrics.ts";

/** What the metrics read from the Raft node at scrape time (RegistryNode has it). */
export interface RaftView {
  status(): Status;
  readonly isLeader: boolean;
  readonly appliedIndex: number;
}

export interface RegistryMetricsOptions {
  /** Also export Node's process metrics (CPU, RSS, event-loop lag, GC): main does, tests need not. */
  readonly processMetrics?: boolean;
}

/** Where a write was proposed: here (leader) or forwarded to the leader. */
export type WriteVia = "local" | "forwarded";
/** applied (ok), refused by the state (failed CAS, invalid), or error (no leader, stopped, lost). */
export type WriteOutcome = "ok" | "refused" | "error";

const prefix = "meshwork_registry_";
/** Resolution of the nodejs_eventloop_lag_* histogram (prom-client's eventLoopMonitoringPrecision; its default is 10). */
const eventLoopSampleMs = 100;
/** The methods the API latency histogram names; any other counts as "other". */
const httpMethods: ReadonlySet<string> = new Set(["GET", "PUT", "POST", "DELETE", "HEAD"]);

/** Seconds; fdatasync on a quiet SSD is ~0.1–2 ms, on a loaded or network disk up to seconds. */
export const saveBucketsSeconds: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Seconds; blocking queries (?index=) wait up to minutes and are labelled apart. */
export const httpBucketsSeconds: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];

export class RegistryMetrics {
  readonly registry = new Registry();
  private view: RaftView | undefined;
  private readonly leaderChanges: Counter;
  private readonly saveDuration: Histogram<"fsync">;
  private readonly entriesSaved: Counter;
  private readonly writes: Counter<"via" | "outcome">;
  private readonly httpDuration: Histogram<"family" | "method" | "code" | "blocking">;
  private readonly gossip: GossipMetrics;

  constructor(options: RegistryMetricsOptions = {}) {
    const registers = [this.registry];
    // collect() runs with `this` bound to the metric; the view is read through this arrow.
    const currentView = (): RaftView | undefined => this.view;
    const gauge = (name: string, help: string, read: (view: RaftView, status: Status) => number) =>
      new Gauge({
        name: prefix + name,
        help,
        registers,
        collect() {
          const view = currentView();
          if (view === undefined) return;
          this.set(read(view, view.status()));
        },
      });
    gauge("raft_term", "Current Raft term of this server.", (_, status) => status.term);
    gauge("raft_commit_index", "Highest log index this server knows is committed.", (_, status) => status.commit);
    gauge("raft_applied_index", "Highest log index applied to this server's state.", (view) => view.appliedIndex);
    gauge("raft_last_index", "Index of the last entry in this server's log.", (_, status) => status.lastIndex);
    gauge("raft_is_leader", "1 when this server is the Raft leader, else 0.", (view) => (view.isLeader ? 1 : 0));
    gauge("raft_leader_known", "1 when this server knows a leader (itself included), else 0.", (_, status) => (status.lead === null ? 0 : 1));
    gauge("raft_voters", "Voting members in this server's Raft configuration.", (_, status) => status.config.voters.length);
    new Gauge({
      name: `${prefix}raft_peers`,
      help: "On the leader: other voters it is replicating to (state=up: replicate or snapshot) or probing without answer (state=down: unreachable or not yet answered). Absent on followers.",
      labelNames: ["state"],
      registers,
      collect() {
        this.reset();
        const view = currentView();
        if (view === undefined || !view.isLeader) return;
        const status = view.status();
        let up = 0;
        let down = 0;
        for (const progress of status.progress ?? []) {
          if (progress.id === status.id || progress.isLearner) continue;
          if (progress.state === "probe") down++;
          else up++;
        }
        this.set({ state: "up" }, up);
        this.set({ state: "down" }, down);
      },
    });
    this.leaderChanges = new Counter({ name: `${prefix}raft_leader_changes_total`, help: "Times the leader this server knows changed (including to none).", registers });
    this.saveDuration = new Histogram({
      name: `${prefix}wal_save_duration_seconds`,
      help: "Duration of one WAL save of a Raft Ready (write + fdatasync when fsync=true): the fsync latency.",
      labelNames: ["fsync"],
      buckets: [...saveBucketsSeconds],
      registers,
    });
    this.entriesSaved = new Counter({ name: `${prefix}wal_entries_saved_total`, help: "Log entries written to the WAL.", registers });
    this.writes = new Counter({
      name: `${prefix}writes_total`,
      help: "Writes (proposals) by where they were proposed (local: this server led; forwarded: sent to the leader) and outcome (ok, refused by the state, error).",
      labelNames: ["via", "outcome"],
      registers,
    });
    this.httpDuration = new Histogram({
      name: `${prefix}http_request_duration_seconds`,
      help: "Consul HTTP API requests by endpoint family, method and status code; blocking=true for ?index= queries (they wait on purpose).",
      labelNames: ["family", "method", "code", "blocking"],
      buckets: [...httpBucketsSeconds],
      registers,
    });
    // consul_memberlist_*, consul_serf_member_*, meshwork_registry_gossip_*: empty until attachGossip.
    this.gossip = new GossipMetrics(this.registry);
    // The event-loop delay histogram samples every 100 ms, not prom-client's default 10 ms: each
    // sample is a timer wakeup of an otherwise idle server, 100 a second were ~30 % of an idle
    // node's CPU (issue 5); a stall of 100 ms or more is still always seen, shorter ones in proportion.
    if (options.processMetrics === true) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: eventLoopSampleMs });
  }

  /** Starts reading Raft state from `view` (the node exists only after the storage was opened). */
  attach(view: RaftView): void {
    this.view = view;
  }

  /** Starts reading this server's gossip member (when --gossip-port is on). */
  attachGossip(view: GossipView): void {
    this.gossip.attach(view);
  }

  /** Every event of the gossip member (membership changes count into consul_serf_member_*). */
  observeGossipEvent(event: GossipEvent): void {
    this.gossip.observe(event);
  }

  /** RegistryNode's `onSave`. */
  observeSave(durationMs: number, entries: number, synced: boolean): void {
    this.saveDuration.observe({ fsync: synced ? "true" : "false" }, durationMs / 1000);
    if (entries > 0) this.entriesSaved.inc(entries);
  }

  /** RegistryNode's `onLeaderChange`. */
  leaderChanged(): void {
    this.leaderChanges.inc();
  }

  observeWrite(via: WriteVia, outcome: WriteOutcome): void {
    this.writes.inc({ via, outcome });
  }

  /** The HTTP API's `onRequest`. */
  observeHttp(request: { readonly method: string; readonly path: string; readonly query: URLSearchParams; readonly status: number; readonly durationMs: number }): void {
    const method = httpMethods.has(request.method) ? request.method : "other";
    this.httpDuration.observe(
      { family: endpointFamily(request.path), method, code: String(request.status), blocking: request.query.has("index") ? "true" : "false" },
      request.durationMs / 1000,
    );
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ readonly contentType: string; readonly body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
