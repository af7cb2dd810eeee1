// The contract between the registry's parts (DESIGN.md §3.4), so they can be built side by side:
//   state/   the replicated state machine (pure): KV, sessions, catalog, health — applies commands
//   server/  the Raft node: proposes commands, applies committed ones to the state, linearizable reads
//   http/    the Consul-compatible HTTP API over a RegistryServer
// Commands travel through Raft as JSON (encodeEntry/decodeEntry in state/encode-command.ts). Values are base64
// in commands (JSON-safe), bytes in query results.

/** A Consul KV entry as the state holds it (the HTTP layer base64-encodes `value`). */
export interface KvEntry {
  readonly key: string;
  readonly value: Uint8Array;
  /** The value as padded base64, when the state keeps it so (then `value` is decoded on each read): saves encoding it again. */
  readonly valueBase64?: string;
  readonly flags: number;
  /** Raft index of the write that created the key (kept across modifications, reset by delete). */
  readonly createIndex: number;
  readonly modifyIndex: number;
  /** Times a session acquired the key (Consul's LockIndex: the fencing token). */
  readonly lockIndex: number;
  /** Holder session id, if locked. */
  readonly session: string | undefined;
}

/** One operation of a `/v1/txn` (Consul's KV verbs; all-or-nothing). */
export type KvTxnOp =
  | { readonly verb: "set"; readonly key: string; readonly value: string; readonly flags?: number }
  | { readonly verb: "cas"; readonly key: string; readonly value: string; readonly flags?: number; readonly index: number }
  | { readonly verb: "lock"; readonly key: string; readonly value: string; readonly flags?: number; readonly session: string }
  | { readonly verb: "unlock"; readonly key: string; readonly value: string; readonly flags?: number; readonly session: string }
  | { readonly verb: "get"; readonly key: string }
  | { readonly verb: "get-tree"; readonly key: string }
  | { readonly verb: "check-index"; readonly key: string; readonly index: number }
  | { readonly verb: "check-session"; readonly key: string; readonly session: string }
  | { readonly verb: "check-not-exists"; readonly key: string }
  | { readonly verb: "delete"; readonly key: string }
  | { readonly verb: "delete-tree"; readonly key: string }
  | { readonly verb: "delete-cas"; readonly key: string; readonly index: number };

export type HealthStatus = "passing" | "warning" | "critical";

export interface CheckDefinition {
  readonly checkId: string;
  readonly name: string;
  readonly serviceId: string | undefined;
  readonly status: HealthStatus;
  readonly output: string;
  /** How the agent runs it: HTTP / TCP / gRPC health / TTL (as Consul's check definition). */
  readonly type: "http" | "tcp" | "grpc" | "ttl" | "serf";
  readonly http?: string | undefined;
  readonly tcp?: string | undefined;
  readonly grpc?: string | undefined;
  readonly intervalMs?: number | undefined;
  readonly timeoutMs?: number | undefined;
  readonly ttlMs?: number | undefined;
  /** Consul's deregister_critical_service_after. */
  readonly deregisterCriticalAfterMs?: number | undefined;
}

export interface ServiceDefinition {
  readonly id: string;
  readonly service: string;
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  /** Labels such as `app`, `version` live here. */
  readonly meta: Readonly<Record<string, string>>;
}

/**
 * A Consul prepared query (structs.PreparedQuery, /v1/query) as the HTTP layer validated it.
 * Strings of `service` are templates (`${name.full}`…) when `template.type` is set.
 */
export interface PreparedQueryDefinition {
  /** A UUID, made by the HTTP layer on create. */
  readonly id: string;
  /** "" for an anonymous query (then `session` is set) or a catch-all template. */
  readonly name: string;
  /** The session whose invalidation deletes the query; "" for none. */
  readonly session: string;
  /** Accepted and shown, never used (no ACLs here). */
  readonly token: string;
  readonly template: { readonly type: "" | "name_prefix_match"; readonly regexp: string; readonly removeEmptyTags: boolean };
  readonly service: PreparedQueryService;
  /** `ttl`: a Go duration ("10s") or "" (the DNS server's default TTL). */
  readonly dns: { readonly ttl: string };
}

/** What a prepared query selects (structs.ServiceQuery, without Connect, peers and sameness groups). */
export interface PreparedQueryService {
  readonly service: string;
  /** One datacenter: accepted and kept, never used (execution stays local, `Failovers` is 0). */
  readonly failover: { readonly nearestN: number; readonly datacenters: readonly string[] };
  /** Passing only; otherwise warning passes too (critical never does). */
  readonly onlyPassing: boolean;
  readonly ignoreCheckIds: readonly string[];
  /** "_agent", a node name or "": which node goes first in the results. */
  readonly near: string;
  /** Every tag required, none of the `!tag` ones present (case-insensitive). */
  readonly tags: readonly string[];
  readonly nodeMeta: Readonly<Record<string, string>>;
  readonly serviceMeta: Readonly<Record<string, string>>;
}

/** A prepared query in the state. */
export interface StoredPreparedQuery extends PreparedQueryDefinition {
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** Everything that changes the replicated state. */
export type RegistryCommand =
  | { readonly op: "kv-set"; readonly key: string; readonly value: string; readonly flags?: number; readonly cas?: number; readonly acquire?: string; readonly release?: string }
  | { readonly op: "kv-delete"; readonly key: string; readonly recurse?: boolean; readonly cas?: number }
  | { readonly op: "txn"; readonly ops: readonly KvTxnOp[] }
  | {
      readonly op: "session-create";
      readonly id: string;
      readonly name: string;
      readonly node: string;
      readonly ttlMs: number;
      readonly lockDelayMs: number;
      readonly behavior: "release" | "delete";
      readonly checks: readonly string[];
    }
  | { readonly op: "session-destroy"; readonly id: string }
  | { readonly op: "catalog-register"; readonly node: string; readonly address: string; readonly nodeMeta?: Readonly<Record<string, string>>; readonly service?: ServiceDefinition; readonly checks?: readonly CheckDefinition[] }
  | { readonly op: "catalog-deregister"; readonly node: string; readonly serviceId?: string; readonly checkId?: string }
  | { readonly op: "check-update"; readonly node: string; readonly checkId: string; readonly status: HealthStatus; readonly output: string }
  /**
   * Replaces the whole state with a saved one (`PUT /v1/snapshot`): `state` is the base64 of
   * `RegistryState.snapshot()` bytes. Everything restored takes the entry's index as its
   * create/modify index, so every index moves forward (see RegistryState's `restoreState`).
   */
  | { readonly op: "state-restore"; readonly state: string }
  /**
   * Creates (`create`: the id must be new) or replaces (the id must exist) a prepared query. The
   * state refuses a name another query has (case-insensitive), a name that is another query's id,
   * a second catch-all template, an unknown session and a template that does not compile.
   */
  | { readonly op: "query-set"; readonly create: boolean; readonly query: PreparedQueryDefinition }
  /** Deletes a prepared query; an unknown id is an error (Consul's "Cannot modify non-existent prepared query"). */
  | { readonly op: "query-delete"; readonly id: string };

/**
 * What applying a command returned: `ok` false for a failed CAS / lock / txn check (Consul answers
 * `false` or 409 with the txn errors), with the KV results of a txn.
 */
export interface CommandResult {
  readonly ok: boolean;
  /** Txn: results of get/set ops in order; errors name the failing op index. */
  readonly results?: readonly KvEntry[];
  readonly errors?: readonly { readonly opIndex: number; readonly what: string }[];
}

/** The read side of the state (served by the node after the consistency check the caller asked for). */
export interface RegistryReads {
  /** The index of the last applied command (X-Consul-Index of "everything"). */
  readonly appliedIndex: number;
  kvGet(key: string): KvEntry | undefined;
  kvList(prefix: string): readonly KvEntry[];
  /** Keys under `prefix`, folded at the first `separator` after it (Consul `?keys&separator=`). */
  kvKeys(prefix: string, separator: string | undefined): readonly string[];
  /** The highest modify index among keys under `prefix` (or of the deletion that removed them): the X-Consul-Index of a KV read. */
  kvIndex(prefix: string): number;
  sessions(): readonly SessionInfo[];
  session(id: string): SessionInfo | undefined;
  nodes(): readonly CatalogNode[];
  services(): Readonly<Record<string, readonly string[]>>;
  serviceInstances(service: string): readonly ServiceInstance[];
  /**
   * The instances of every service whose name `include` accepts, by service name (sorted), each
   * list as serviceInstances gives it — in one pass over the catalog (the watch of a whole catalog
   * would otherwise scan it once per service).
   */
  serviceInstancesWhere(include: (service: string) => boolean): ReadonlyMap<string, readonly ServiceInstance[]>;
  /** Index of the last change to the catalog (or to `service` when given). */
  catalogIndex(service?: string): number;
  /**
   * All checks of `node` (node-level and service-level), by check id. Optional: without it the HTTP
   * layer sees only the checks of nodes that have services (through serviceInstances).
   */
  nodeChecks?(node: string): readonly ServiceInstance["checks"][number][];
  /** Every prepared query, by id. */
  queries(): readonly StoredPreparedQuery[];
  query(id: string): StoredPreparedQuery | undefined;
  /** Index of the last change to the prepared queries (Consul's "prepared-queries" table index). */
  queryIndex(): number;
  /**
   * The whole state as bytes (RegistryState's canonical snapshot, what a `state-restore` command
   * carries) at `appliedIndex`. Optional: without it `GET /v1/snapshot` answers 501.
   */
  snapshot?(): Uint8Array;
}

export interface SessionInfo {
  readonly id: string;
  readonly name: string;
  readonly node: string;
  readonly ttlMs: number;
  readonly lockDelayMs: number;
  readonly behavior: "release" | "delete";
  readonly checks: readonly string[];
  readonly createIndex: number;
}

export interface CatalogNode {
  readonly node: string;
  readonly address: string;
  readonly meta: Readonly<Record<string, string>>;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export interface ServiceInstance {
  readonly node: CatalogNode;
  readonly service: ServiceDefinition & { readonly createIndex: number; readonly modifyIndex: number };
  /** The node's checks and the service's checks. */
  readonly checks: readonly (CheckDefinition & { readonly node: string; readonly createIndex: number; readonly modifyIndex: number })[];
}

/** Consistency of a read (Consul's default / ?consistent / ?stale). */
export type ReadConsistency = "default" | "consistent" | "stale";

/** One Raft member as `/v1/operator/raft/configuration` shows it. */
export interface RaftMember {
  readonly id: string;
  /** Its Raft (gRPC) address, `host:port`; the id when not known yet. */
  readonly raftAddress: string;
  readonly voter: boolean;
  readonly leader: boolean;
}

/** The running registry server as the HTTP API (and DNS, and the control plane's watch) use it. */
export interface RegistryServer {
  readonly nodeId: string;
  /** Proposes a write; resolves after it is committed (fsynced on a quorum) and applied here. Rejects with NotLeaderError on a follower that cannot forward. */
  write(command: RegistryCommand): Promise<CommandResult & { readonly index: number }>;
  /** Resolves when a read with `consistency` may be served from the local state (ReadIndex for consistent; leader check for default). */
  readBarrier(consistency: ReadConsistency): Promise<void>;
  readonly state: RegistryReads;
  /** Resolves when `index(state)` exceeds `minIndex`, or after `waitMs` (Consul blocking queries), or when `signal` aborts. */
  waitForChange(index: (state: RegistryReads) => number, minIndex: number, waitMs: number, signal?: AbortSignal): Promise<void>;
  /** Leader's HTTP address (`host:port`) or "" when unknown (X-Consul-KnownLeader: false). */
  readonly leaderAddress: string;
  readonly isLeader: boolean;
  /** Raft peers' addresses (`/v1/status/peers`). */
  readonly peers: readonly string[];
  /**
   * Raft members with their ids (`/v1/operator/raft/configuration`): Raft address, voter or
   * learner, leader. Optional: without it the configuration lists `peers` by address.
   */
  raftMembers?(): readonly RaftMember[];
  /** Cluster membership changes (`/v1/operator/raft/peer`). */
  addServer(id: string, raftAddress: string): Promise<void>;
  removeServer(id: string): Promise<void>;
  /**
   * Renews a session's TTL (`PUT /v1/session/renew/:id`): the TTL clock lives on the leader, outside
   * the replicated state. Resolves to the session, or undefined when it does not exist (404).
   * Optional: a server without it answers renew with the session as it is (added by the HTTP layer).
   */
  renewSession?(id: string): Promise<SessionInfo | undefined>;
  /** The Raft term of the entry at `state.appliedIndex` (written into saved snapshots). Optional: 0 when absent. */
  readonly appliedTerm?: number;
  /**
   * Calls `listener` with the index each time the state is replaced as a whole here — a
   * `state-restore` entry applied, or a Raft snapshot installed from the leader — after the new
   * state is readable. The local agent reloads its node's checks then. Returns the unsubscribe.
   * Optional: a server without it never replaces its state.
   */
  onStateReplaced?(listener: (index: number) => void): () => void;
}

/** A write reached a follower that has no leader to forward to. */
export class NotLeaderError extends Error {
  readonly leaderAddress: string;
  constructor(leaderAddress: string) {
    super(leaderAddress === "" ? "no cluster leader" : `not the leader; the leader is ${leaderAddress}`);
    this.name = "NotLeaderError";
    this.leaderAddress = leaderAddress;
  }
}
