// The registry's replicated state machine (DESIGN.md §3.4): Consul's KV store, sessions and
// catalog, changed only by `apply(index, command, nowMs)` of committed Raft entries. Pure: no I/O,
// no clock (time is the leader's `nowMs` carried in the entry), no randomness — so every replica that
// applies the same entries holds the same state and produces the same snapshot bytes.
import type {
  CatalogNode,
  CheckDefinition,
  CommandResult,
  KvEntry,
  KvTxnOp,
  RegistryCommand,
  RegistryReads,
  ServiceDefinition,
  ServiceInstance,
  SessionInfo,
  StoredPreparedQuery,
} from "../registry-contract.ts";
import { base64ToLatin1, checkedBase64ToLatin1, encodeBase64, latin1Bytes, latin1ToBase64 } from "./base64.ts";
import { PreparedQueryTable } from "./prepared-query-table.ts";
import { SortedKeys } from "./sorted-keys.ts";

/** Consul's limit of operations in one `/v1/txn` (a larger txn fails, HTTP 413). */
export const MAX_TXN_OPS = 64;
/** Consul's default session lock-delay (the HTTP layer fills it in when `LockDelay` is absent). */
export const DEFAULT_LOCK_DELAY_MS = 15_000;
/** Consul's largest lock-delay. */
export const MAX_LOCK_DELAY_MS = 60_000;
/** Consul's session TTL bounds (0 = no TTL). */
export const MIN_SESSION_TTL_MS = 10_000;
export const MAX_SESSION_TTL_MS = 86_400_000;

export type StoredService = ServiceInstance["service"];
export type StoredCheck = ServiceInstance["checks"][number];

/** One KV operation's outcome inside `apply`: `error` = invalid request, `ok: false` alone = CAS/lock refused. */
interface KvOutcome {
  readonly ok: boolean;
  readonly entries?: readonly KvEntry[];
  readonly error?: string;
}

/** 2 added the prepared queries (`queryMaxIndex`, `queries`); version 1 snapshots are read as having none. */
const SNAPSHOT_VERSION = 2;
const READABLE_SNAPSHOT_VERSIONS: readonly number[] = [1, 2];
const OK: CommandResult = { ok: true };
const REFUSED: CommandResult = { ok: false };

/**
 * The registry's state. `apply` is the only writer; the `RegistryReads` queries never change it.
 * Returned entries and records are shared with the state: treat them as immutable.
 */
export class RegistryState implements RegistryReads {
  // The collections are not readonly: a `state-restore` swaps them all at once (`restoreState`).
  private applied = 0;
  // KV
  private kv = new Map<string, StoredKvEntry>();
  private kvOrder = new SortedKeys();
  /** Deleted keys → index of the deletion; dropped when the key is written again (its ModifyIndex is then higher). */
  private tombstones = new Map<string, number>();
  private tombstoneOrder = new SortedKeys();
  /** Index of the last KV write or delete anywhere (Consul's "kvs" table index). */
  private kvMaxIndex = 0;
  /** Key → Unix ms until which `acquire` is refused (set when the holder's session was invalidated). */
  private lockDelays = new Map<string, number>();
  /** Derived: session id → keys it holds. */
  private held = new Map<string, Set<string>>();
  // Sessions
  private sessionsById = new Map<string, SessionInfo>();
  // Catalog
  private nodesByName = new Map<string, CatalogNode>();
  private servicesByNode = new Map<string, Map<string, StoredService>>();
  private checksByNode = new Map<string, Map<string, StoredCheck>>();
  /** Service name → index of the last change to its instances (kept after the last one is gone). */
  private serviceIndexes = new Map<string, number>();
  private catalogMaxIndex = 0;
  // Prepared queries
  private queryTable = new PreparedQueryTable();
  /** Undo actions while a txn runs, replayed backwards if it fails. */
  private undo: (() => void)[] | undefined;

  get appliedIndex(): number {
    return this.applied;
  }

  /**
   * Applies the committed command at Raft `index` (greater than every index applied before) with
   * the proposing leader's clock `nowMs`. A refused CAS/lock is `{ ok: false }`; an invalid request
   * (unknown session, unknown check, bad TTL…) is `{ ok: false, errors }` and changes nothing.
   */
  apply(index: number, command: RegistryCommand, nowMs: number): CommandResult {
    if (!Number.isSafeInteger(index) || index <= this.applied) {
      throw new Error(`apply(${index}): entries must be applied in increasing index order; already applied ${this.applied}`);
    }
    this.applied = index;
    switch (command.op) {
      case "kv-set":
        return this.applyKvSet(index, command, nowMs);
      case "kv-delete":
        if (command.recurse === true) return result(this.deleteTree(index, command.key));
        if (command.cas !== undefined) return result(this.deleteCas(index, command.key, command.cas));
        return result(this.deleteKey(index, command.key));
      case "txn":
        return this.applyTxn(index, command.ops, nowMs);
      case "session-create":
        return this.createSession(index, command);
      case "session-destroy":
        this.invalidateSession(index, command.id, nowMs);
        return OK;
      case "catalog-register":
        return this.register(index, command, nowMs);
      case "catalog-deregister":
        return this.deregister(index, command, nowMs);
      case "check-update":
        return this.updateCheck(index, command, nowMs);
      case "state-restore":
        return this.restoreState(index, command.state);
      case "query-set":
        return refusal(this.queryTable.set(index, command.query, { create: command.create, sessionExists: (id) => this.sessionsById.has(id) }));
      case "query-delete":
        return refusal(this.queryTable.delete(index, command.id));
    }
  }

  /** Records that the Raft entry at `index` carried no command (leader no-op, configuration change). */
  markApplied(index: number): void {
    if (index > this.applied) this.applied = index;
  }

  // ---- KV reads ----

  kvGet(key: string): KvEntry | undefined {
    return this.kv.get(key);
  }

  kvList(prefix: string): readonly KvEntry[] {
    return this.kvOrder.withPrefix(prefix).flatMap((key) => this.kv.get(key) ?? []);
  }

  kvKeys(prefix: string, separator: string | undefined): readonly string[] {
    const out: string[] = [];
    for (const key of this.kvOrder.withPrefix(prefix)) {
      let shown = key;
      if (separator !== undefined && separator !== "") {
        const at = key.indexOf(separator, prefix.length);
        if (at >= 0) shown = key.slice(0, at + separator.length);
      }
      if (out[out.length - 1] !== shown) out.push(shown);
    }
    return out;
  }

  /**
   * The highest ModifyIndex under `prefix` or tombstone (deletion index) under it; when neither
   * exists, the index of the last KV change anywhere (as Consul falls back to the table index),
   * so a blocking query on a key that does not exist yet still wakes when it is created.
   */
  kvIndex(prefix: string): number {
    if (prefix === "") return this.kvMaxIndex;
    let max = 0;
    for (const key of this.kvOrder.withPrefix(prefix)) max = Math.max(max, this.kv.get(key)?.modifyIndex ?? 0);
    for (const key of this.tombstoneOrder.withPrefix(prefix)) max = Math.max(max, this.tombstones.get(key) ?? 0);
    return max === 0 ? this.kvMaxIndex : max;
  }

  /** Unix ms until which `acquire` of `key` is refused, or 0. */
  lockDelayUntil(key: string): number {
    return this.lockDelays.get(key) ?? 0;
  }

  // ---- Session reads ----

  sessions(): readonly SessionInfo[] {
    return [...this.sessionsById.values()].sort((a, b) => compare(a.id, b.id));
  }

  session(id: string): SessionInfo | undefined {
    return this.sessionsById.get(id);
  }

  // ---- Catalog reads ----

  nodes(): readonly CatalogNode[] {
    return [...this.nodesByName.values()].sort((a, b) => compare(a.node, b.node));
  }

  services(): Readonly<Record<string, readonly string[]>> {
    const tags = new Map<string, Set<string>>();
    for (const services of this.servicesByNode.values()) {
      for (const service of services.values()) {
        let set = tags.get(service.service);
        if (set === undefined) tags.set(service.service, (set = new Set()));
        for (const tag of service.tags) set.add(tag);
      }
    }
    return Object.fromEntries([...tags.entries()].sort(([a], [b]) => compare(a, b)).map(([name, set]) => [name, [...set].sort(compare)]));
  }

  serviceInstances(service: string): readonly ServiceInstance[] {
    const out: ServiceInstance[] = [];
    for (const node of this.nodes()) {
      const services = this.servicesByNode.get(node.node);
      if (services === undefined) continue;
      const checks = [...(this.checksByNode.get(node.node)?.values() ?? [])].sort((a, b) => compare(a.checkId, b.checkId));
      for (const instance of [...services.values()].sort((a, b) => compare(a.id, b.id))) {
        if (instance.service !== service) continue;
        out.push({ node, service: instance, checks: checks.filter((c) => c.serviceId === undefined || c.serviceId === instance.id) });
      }
    }
    return out;
  }

  serviceInstancesWhere(include: (service: string) => boolean): ReadonlyMap<string, readonly ServiceInstance[]> {
    const byService = new Map<string, ServiceInstance[]>();
    for (const node of this.nodes()) {
      const services = this.servicesByNode.get(node.node);
      if (services === undefined) continue;
      let checks: StoredCheck[] | undefined;
      for (const instance of [...services.values()].sort((a, b) => compare(a.id, b.id))) {
        if (!include(instance.service)) continue;
        checks ??= [...(this.checksByNode.get(node.node)?.values() ?? [])].sort((a, b) => compare(a.checkId, b.checkId));
        let list = byService.get(instance.service);
        if (list === undefined) byService.set(instance.service, (list = []));
        list.push({ node, service: instance, checks: checks.filter((c) => c.serviceId === undefined || c.serviceId === instance.id) });
      }
    }
    return new Map([...byService.entries()].sort(([a], [b]) => compare(a, b)));
  }

  /** The node's checks (all of them, node-level and service-level), by check id. */
  nodeChecks(node: string): readonly StoredCheck[] {
    return [...(this.checksByNode.get(node)?.values() ?? [])].sort((a, b) => compare(a.checkId, b.checkId));
  }

  catalogIndex(service?: string): number {
    if (service === undefined) return this.catalogMaxIndex;
    return this.serviceIndexes.get(service) ?? this.catalogMaxIndex;
  }

  // ---- Prepared query reads ----

  queries(): readonly StoredPreparedQuery[] {
    return this.queryTable.list();
  }

  query(id: string): StoredPreparedQuery | undefined {
    return this.queryTable.get(id);
  }

  queryIndex(): number {
    return this.queryTable.index;
  }

  // ---- KV writes ----

  private applyKvSet(index: number, command: Extract<RegistryCommand, { op: "kv-set" }>, nowMs: number): CommandResult {
    const flags = command.flags ?? 0;
    // Consul's PUT: `release` wins over `acquire`, which wins over `cas` (kvs_endpoint.go).
    if (command.release !== undefined) return result(this.unlock(index, command.key, command.value, flags, command.release));
    if (command.acquire !== undefined) return result(this.lock(index, { key: command.key, value: command.value, flags, session: command.acquire }, nowMs));
    if (command.cas !== undefined) return result(this.cas(index, command.key, command.value, flags, command.cas));
    return result(this.set(index, command.key, command.value, flags));
  }

  /** Plain write: keeps CreateIndex, LockIndex and the holder session. */
  private set(index: number, key: string, value: string, flags: number): KvOutcome {
    const existing = this.kv.get(key);
    const entry = new StoredKvEntry(key, base64ToLatin1(value), flags, existing?.createIndex ?? index, index, existing?.lockIndex ?? 0, existing?.session);
    return { ok: true, entries: [this.writeEntry(entry, index)] };
  }

  /** `cas=0`: create only; `cas=N`: only if the key exists with ModifyIndex N. */
  private cas(index: number, key: string, value: string, flags: number, cas: number): KvOutcome {
    const existing = this.kv.get(key);
    if (cas === 0 ? existing !== undefined : existing?.modifyIndex !== cas) return { ok: false };
    return this.set(index, key, value, flags);
  }

  private lock(index: number, op: { key: string; value: string; flags: number; session: string }, nowMs: number): KvOutcome {
    if (!this.sessionsById.has(op.session)) return { ok: false, error: `invalid session ${JSON.stringify(op.session)}: create it first (PUT /v1/session/create)` };
    const delayUntil = this.lockDelays.get(op.key);
    if (delayUntil !== undefined && nowMs < delayUntil) return { ok: false };
    const existing = this.kv.get(op.key);
    if (existing?.session !== undefined && existing.session !== op.session) return { ok: false };
    // An expired lock-delay is dropped by the next successful acquire (a refusal changes nothing).
    if (delayUntil !== undefined) this.setLockDelay(op.key, undefined);
    // Re-acquiring by the holder keeps the LockIndex; a new holder increments it (the fencing token).
    const lockIndex = existing === undefined ? 1 : existing.session === op.session ? existing.lockIndex : existing.lockIndex + 1;
    const entry = new StoredKvEntry(op.key, base64ToLatin1(op.value), op.flags, existing?.createIndex ?? index, index, lockIndex, op.session);
    return { ok: true, entries: [this.writeEntry(entry, index)] };
  }

  private unlock(index: number, key: string, value: string, flags: number, session: string): KvOutcome {
    const existing = this.kv.get(key);
    if (existing === undefined || existing.session !== session) return { ok: false };
    const entry = new StoredKvEntry(key, base64ToLatin1(value), flags, existing.createIndex, index, existing.lockIndex, undefined);
    return { ok: true, entries: [this.writeEntry(entry, index)] };
  }

  /** Deleting an absent key is a successful no-op that changes no index (as in Consul). */
  private deleteKey(index: number, key: string): KvOutcome {
    if (!this.kv.has(key)) return { ok: true };
    this.putEntry(key, undefined, index);
    return { ok: true };
  }

  /** Consul: a missing key counts as deleted (true); an existing one must have ModifyIndex `cas`. */
  private deleteCas(index: number, key: string, cas: number): KvOutcome {
    const existing = this.kv.get(key);
    if (existing === undefined) return { ok: true };
    if (existing.modifyIndex !== cas) return { ok: false };
    return this.deleteKey(index, key);
  }

  private deleteTree(index: number, prefix: string): KvOutcome {
    for (const key of this.kvOrder.withPrefix(prefix)) this.putEntry(key, undefined, index);
    return { ok: true };
  }

  private getTree(prefix: string): KvOutcome {
    return { ok: true, entries: this.kvList(prefix) };
  }

  // ---- Txn ----

  private applyTxn(index: number, ops: readonly KvTxnOp[], nowMs: number): CommandResult {
    if (ops.length > MAX_TXN_OPS) {
      return { ok: false, errors: [{ opIndex: MAX_TXN_OPS, what: `transaction contains too many operations (${ops.length} > ${MAX_TXN_OPS}): split it` }] };
    }
    const undo: (() => void)[] = [];
    this.undo = undo;
    const results: KvEntry[] = [];
    const errors: { opIndex: number; what: string }[] = [];
    const rollback = (): void => {
      for (const action of undo.reverse()) action();
    };
    try {
      // Like Consul, every op runs (so all errors are reported), then a failure rolls back all.
      ops.forEach((op, opIndex) => {
        const what = this.applyTxnOp(index, op, nowMs, results);
        if (what !== undefined) errors.push({ opIndex, what });
      });
    } catch (error) {
      rollback(); // an op that throws (a command that skipped parseCommand) leaves no half-txn behind
      throw error;
    } finally {
      this.undo = undefined;
    }
    if (errors.length > 0) {
      rollback();
      return { ok: false, errors };
    }
    return { ok: true, results };
  }

  /** Runs one txn op; returns its error message (Consul's wording) or undefined. */
  private applyTxnOp(index: number, op: KvTxnOp, nowMs: number, results: KvEntry[]): string | undefined {
    const key = op.key;
    const q = JSON.stringify(key);
    const collect = (outcome: KvOutcome, failure: string): string | undefined => {
      if (outcome.error !== undefined) return outcome.error;
      if (!outcome.ok) return failure;
      results.push(...(outcome.entries ?? []));
      return undefined;
    };
    switch (op.verb) {
      case "set":
        return collect(this.set(index, key, op.value, op.flags ?? 0), "");
      case "cas":
        return collect(this.cas(index, key, op.value, op.flags ?? 0, op.index), `failed to set key ${q}, index is stale`);
      case "lock": {
        const delayUntil = this.lockDelays.get(key);
        if (this.sessionsById.has(op.session) && delayUntil !== undefined && nowMs < delayUntil) {
          return `failed to lock key ${q} due to lock delay (until ${delayUntil} ms)`;
        }
        return collect(this.lock(index, { key, value: op.value, flags: op.flags ?? 0, session: op.session }, nowMs), `failed to lock key ${q}, lock is already held`);
      }
      case "unlock":
        return collect(this.unlock(index, key, op.value, op.flags ?? 0, op.session), `failed to unlock key ${q}, lock isn't held, or is held by another session`);
      case "get": {
        const entry = this.kv.get(key);
        if (entry === undefined) return `key ${q} doesn't exist`;
        results.push(entry);
        return undefined;
      }
      case "get-tree":
        return collect(this.getTree(key), "");
      case "check-index": {
        const entry = this.kv.get(key);
        if (entry === undefined) return `failed to check index, key ${q} doesn't exist`;
        if (entry.modifyIndex !== op.index) return `failed index check for key ${q}, current modify index ${entry.modifyIndex} != ${op.index}`;
        results.push(entry);
        return undefined;
      }
      case "check-session": {
        const entry = this.kv.get(key);
        if (entry === undefined) return `failed to check session, key ${q} doesn't exist`;
        if (entry.session !== op.session) return `failed session check for key ${q}, current session ${JSON.stringify(entry.session ?? "")} != ${JSON.stringify(op.session)}`;
        results.push(entry);
        return undefined;
      }
      case "check-not-exists":
        return this.kv.has(key) ? `key ${q} exists` : undefined;
      case "delete":
        return collect(this.deleteKey(index, key), "");
      case "delete-tree":
        return collect(this.deleteTree(index, key), "");
      case "delete-cas":
        return collect(this.deleteCas(index, key, op.index), `failed to delete key ${q}, index is stale`);
    }
  }

  // ---- KV mutation primitives (every KV change goes through these, so a txn can undo it) ----

  /**
   * Writes `entry` unless it equals the stored one in everything but ModifyIndex: then, as Consul's
   * kvsSetTxn, nothing is written and the stored entry (with its old ModifyIndex) is returned, so an
   * identical PUT wakes no blocking query.
   */
  private writeEntry(entry: StoredKvEntry, index: number): StoredKvEntry {
    const existing = this.kv.get(entry.key);
    if (existing !== undefined && sameEntry(existing, entry)) return existing;
    this.putEntry(entry.key, entry, index);
    return entry;
  }

  /** Writes or (with `undefined`) deletes `key` at `index`, keeping tombstones, the session index and kvMaxIndex. */
  private putEntry(key: string, entry: StoredKvEntry | undefined, index: number): void {
    const old = this.kv.get(key);
    const oldTombstone = this.tombstones.get(key);
    const oldMax = this.kvMaxIndex;
    this.undo?.push(() => {
      this.rawPut(key, old);
      this.setTombstoneRaw(key, oldTombstone);
      this.kvMaxIndex = oldMax;
    });
    this.rawPut(key, entry);
    this.setTombstoneRaw(key, entry === undefined ? index : undefined);
    this.kvMaxIndex = index;
  }

  private rawPut(key: string, entry: StoredKvEntry | undefined): void {
    const old = this.kv.get(key);
    if (old?.session !== undefined) this.held.get(old.session)?.delete(key);
    if (entry === undefined) {
      this.kv.delete(key);
      this.kvOrder.delete(key);
      return;
    }
    if (old === undefined) this.kvOrder.add(key);
    this.kv.set(key, entry);
    if (entry.session !== undefined) {
      let keys = this.held.get(entry.session);
      if (keys === undefined) this.held.set(entry.session, (keys = new Set()));
      keys.add(key);
    }
  }

  private setTombstoneRaw(key: string, index: number | undefined): void {
    if (index === undefined) {
      if (this.tombstones.delete(key)) this.tombstoneOrder.delete(key);
    } else {
      if (!this.tombstones.has(key)) this.tombstoneOrder.add(key);
      this.tombstones.set(key, index);
    }
  }

  private setLockDelay(key: string, untilMs: number | undefined): void {
    const old = this.lockDelays.get(key);
    this.undo?.push(() => (old === undefined ? this.lockDelays.delete(key) : this.lockDelays.set(key, old)));
    if (untilMs === undefined) this.lockDelays.delete(key);
    else this.lockDelays.set(key, untilMs);
  }

  // ---- Sessions ----

  private createSession(index: number, command: Extract<RegistryCommand, { op: "session-create" }>): CommandResult {
    const fail = (what: string): CommandResult => ({ ok: false, errors: [{ opIndex: 0, what }] });
    if (this.sessionsById.has(command.id)) return fail(`session ${JSON.stringify(command.id)} already exists: generate a new id`);
    if (command.ttlMs !== 0 && (command.ttlMs < MIN_SESSION_TTL_MS || command.ttlMs > MAX_SESSION_TTL_MS)) {
      return fail(`invalid session TTL ${command.ttlMs} ms: must be 0 (none) or between ${MIN_SESSION_TTL_MS} and ${MAX_SESSION_TTL_MS} ms (10s-24h)`);
    }
    if (command.lockDelayMs > MAX_LOCK_DELAY_MS) return fail(`lock delay ${command.lockDelayMs} ms exceeds the maximum of ${MAX_LOCK_DELAY_MS} ms (60s)`);
    // Consul requires the node and each check to exist and the checks not to be critical. A session
    // without checks may name a node the catalog does not know (the servers need not register themselves).
    if (command.checks.length > 0) {
      if (!this.nodesByName.has(command.node)) return fail(`missing node registration: node ${JSON.stringify(command.node)} is not in the catalog`);
      for (const checkId of command.checks) {
        const check = this.checksByNode.get(command.node)?.get(checkId);
        if (check === undefined) return fail(`missing check ${JSON.stringify(checkId)} registration on node ${JSON.stringify(command.node)}`);
        if (check.status === "critical") return fail(`check ${JSON.stringify(checkId)} is in critical state: a session cannot use it`);
      }
    }
    this.sessionsById.set(command.id, {
      id: command.id,
      name: command.name,
      node: command.node,
      ttlMs: command.ttlMs,
      lockDelayMs: command.lockDelayMs,
      behavior: command.behavior,
      checks: [...command.checks],
      createIndex: index,
    });
    return OK;
  }

  /**
   * Destroys session `id` (no-op if absent): its keys are released (or deleted, with behavior
   * "delete") at `index`, and each gets a lock-delay of the session's `lockDelayMs` from `nowMs`.
   */
  private invalidateSession(index: number, id: string, nowMs: number): void {
    const session = this.sessionsById.get(id);
    if (session === undefined) return;
    this.sessionsById.delete(id);
    this.queryTable.deleteOfSession(index, id);
    const keys = [...(this.held.get(id) ?? [])].sort(compare);
    this.held.delete(id);
    for (const key of keys) {
      const entry = this.kv.get(key);
      if (entry === undefined) continue;
      this.putEntry(key, session.behavior === "delete" ? undefined : entry.withIndexes(index, entry.lockIndex, undefined), index);
      if (session.lockDelayMs > 0) this.setLockDelay(key, nowMs + session.lockDelayMs);
    }
  }

  /** Invalidates the sessions that name check `checkId` of `node`. */
  private invalidateSessionsOfCheck(index: number, node: string, checkId: string, nowMs: number): void {
    for (const session of this.sessions()) {
      if (session.node === node && session.checks.includes(checkId)) this.invalidateSession(index, session.id, nowMs);
    }
  }

  // ---- Catalog ----

  private register(index: number, command: Extract<RegistryCommand, { op: "catalog-register" }>, nowMs: number): CommandResult {
    const known = this.servicesByNode.get(command.node);
    for (const check of command.checks ?? []) {
      if (check.serviceId !== undefined && check.serviceId !== command.service?.id && known?.get(check.serviceId) === undefined) {
        return {
          ok: false,
          errors: [{ opIndex: 0, what: `check ${JSON.stringify(check.checkId)} refers to service ${JSON.stringify(check.serviceId)}, which is not registered on node ${JSON.stringify(command.node)}: register the service first or with it` }],
        };
      }
    }
    const oldNode = this.nodesByName.get(command.node);
    const meta = { ...(command.nodeMeta ?? {}) };
    if (oldNode === undefined || oldNode.address !== command.address || !sameJson(oldNode.meta, meta)) {
      this.nodesByName.set(command.node, { node: command.node, address: command.address, meta, createIndex: oldNode?.createIndex ?? index, modifyIndex: index });
      this.touchNode(index, command.node);
    }
    if (command.service !== undefined) this.putService(index, command.node, command.service);
    for (const check of command.checks ?? []) this.putCheck(index, command.node, check, nowMs);
    return OK;
  }

  private putService(index: number, node: string, definition: ServiceDefinition): void {
    let services = this.servicesByNode.get(node);
    if (services === undefined) this.servicesByNode.set(node, (services = new Map()));
    const old = services.get(definition.id);
    const next: ServiceDefinition = {
      id: definition.id,
      service: definition.service,
      address: definition.address,
      port: definition.port,
      tags: [...definition.tags],
      meta: { ...definition.meta },
    };
    if (old !== undefined && sameJson(serviceDefinitionOf(old), next)) return;
    services.set(definition.id, { ...next, createIndex: old?.createIndex ?? index, modifyIndex: index });
    if (old !== undefined && old.service !== next.service) this.touchService(index, old.service);
    this.touchService(index, next.service);
  }

  private putCheck(index: number, node: string, definition: CheckDefinition, nowMs: number): void {
    let checks = this.checksByNode.get(node);
    if (checks === undefined) this.checksByNode.set(node, (checks = new Map()));
    const old = checks.get(definition.checkId);
    const next = withoutUndefined({ ...definition, node });
    if (old !== undefined && sameJson(checkDefinitionOf(old), next)) return;
    checks.set(definition.checkId, { ...next, createIndex: old?.createIndex ?? index, modifyIndex: index });
    if (old !== undefined) this.touchCheck(index, node, old);
    this.touchCheck(index, node, next);
    if (next.status === "critical") this.invalidateSessionsOfCheck(index, node, definition.checkId, nowMs);
  }

  private deregister(index: number, command: Extract<RegistryCommand, { op: "catalog-deregister" }>, nowMs: number): CommandResult {
    const { node } = command;
    if (!this.nodesByName.has(node)) return OK;
    if (command.serviceId !== undefined || command.checkId !== undefined) {
      if (command.serviceId !== undefined) this.removeService(index, node, command.serviceId, nowMs);
      if (command.checkId !== undefined) this.removeCheck(index, node, command.checkId, nowMs);
      return OK;
    }
    for (const serviceId of [...(this.servicesByNode.get(node)?.keys() ?? [])].sort(compare)) this.removeService(index, node, serviceId, nowMs);
    for (const checkId of [...(this.checksByNode.get(node)?.keys() ?? [])].sort(compare)) this.removeCheck(index, node, checkId, nowMs);
    this.nodesByName.delete(node);
    this.servicesByNode.delete(node);
    this.checksByNode.delete(node);
    this.catalogMaxIndex = index;
    for (const session of this.sessions()) if (session.node === node) this.invalidateSession(index, session.id, nowMs);
    return OK;
  }

  /** Removes a service and its checks (as Consul's service deregistration does). */
  private removeService(index: number, node: string, serviceId: string, nowMs: number): void {
    const services = this.servicesByNode.get(node);
    const old = services?.get(serviceId);
    if (services === undefined || old === undefined) return;
    services.delete(serviceId);
    this.touchService(index, old.service);
    for (const check of this.nodeChecks(node)) if (check.serviceId === serviceId) this.removeCheck(index, node, check.checkId, nowMs);
  }

  private removeCheck(index: number, node: string, checkId: string, nowMs: number): void {
    const checks = this.checksByNode.get(node);
    const old = checks?.get(checkId);
    if (checks === undefined || old === undefined) return;
    checks.delete(checkId);
    this.touchCheck(index, node, old);
    this.invalidateSessionsOfCheck(index, node, checkId, nowMs);
  }

  private updateCheck(index: number, command: Extract<RegistryCommand, { op: "check-update" }>, nowMs: number): CommandResult {
    const old = this.checksByNode.get(command.node)?.get(command.checkId);
    if (old === undefined) {
      return { ok: false, errors: [{ opIndex: 0, what: `check ${JSON.stringify(command.checkId)} is not registered on node ${JSON.stringify(command.node)}: register it first` }] };
    }
    if (old.status === command.status && old.output === command.output) return OK;
    this.putCheck(index, command.node, { ...checkDefinitionOf(old), status: command.status, output: command.output }, nowMs);
    return OK;
  }

  /** A node-level change: every service on the node changes index. */
  private touchNode(index: number, node: string): void {
    this.catalogMaxIndex = index;
    for (const service of this.servicesByNode.get(node)?.values() ?? []) this.serviceIndexes.set(service.service, index);
  }

  private touchService(index: number, name: string): void {
    this.catalogMaxIndex = index;
    this.serviceIndexes.set(name, index);
  }

  /** A check of a service changes that service's index; a node-level check, all of the node's. */
  private touchCheck(index: number, node: string, check: { readonly serviceId?: string | undefined }): void {
    if (check.serviceId === undefined) {
      this.touchNode(index, node);
      return;
    }
    const service = this.servicesByNode.get(node)?.get(check.serviceId);
    if (service !== undefined) this.touchService(index, service.service);
    this.catalogMaxIndex = index;
  }

  // ---- Restore (PUT /v1/snapshot) ----

  /**
   * Replaces everything with the saved state in `stateBase64` (base64 of `snapshot()` bytes).
   *
   * Indexes: everything restored — keys, tombstones, sessions, nodes, services, checks, the KV and
   * catalog indexes — takes `index`, the restore entry's, as its create and modify index. Keeping
   * the saved indexes would move indexes backwards (Consul's restore does; its clients reset) and,
   * worse, let a ModifyIndex this cluster once issued for one value name another value after the
   * restore, so a `?cas=` token read before it could succeed against data its client never saw.
   * Rebased, every index read before the restore is stale for CAS, and every blocking query and
   * watch (waiting for its index to pass one below `index`) wakes and reads the restored state.
   * LockIndex (a count: the fencing token) and lock-delays (leader wall-clock times) are kept.
   * Bytes that are not a snapshot change nothing but `appliedIndex`, like any failed command.
   */
  private restoreState(index: number, stateBase64: string): CommandResult {
    let saved: RegistryState;
    try {
      saved = RegistryState.restore(latin1Bytes(checkedBase64ToLatin1(stateBase64)));
    } catch (error) {
      return { ok: false, errors: [{ opIndex: 0, what: `cannot restore the state: ${error instanceof Error ? error.message : String(error)}` }] };
    }
    const next = new RegistryState();
    // kvOrder is sorted, so the sorted index is built in order.
    for (const key of saved.kvOrder.withPrefix("")) next.rawPut(key, (saved.kv.get(key) as StoredKvEntry).rebased(index));
    for (const key of saved.tombstoneOrder.withPrefix("")) next.setTombstoneRaw(key, index);
    next.lockDelays = saved.lockDelays;
    for (const session of saved.sessionsById.values()) next.sessionsById.set(session.id, { ...session, createIndex: index });
    for (const node of saved.nodesByName.values()) next.nodesByName.set(node.node, { ...node, createIndex: index, modifyIndex: index });
    for (const [node, services] of saved.servicesByNode) {
      next.servicesByNode.set(node, new Map([...services].map(([id, service]) => [id, { ...service, createIndex: index, modifyIndex: index }])));
    }
    for (const [node, checks] of saved.checksByNode) {
      next.checksByNode.set(node, new Map([...checks].map(([id, check]) => [id, { ...check, createIndex: index, modifyIndex: index }])));
    }
    // A service only the old state had falls back to catalogMaxIndex, which is `index` too.
    for (const name of saved.serviceIndexes.keys()) next.serviceIndexes.set(name, index);
    this.kv = next.kv;
    this.kvOrder = next.kvOrder;
    this.tombstones = next.tombstones;
    this.tombstoneOrder = next.tombstoneOrder;
    this.kvMaxIndex = index;
    this.lockDelays = next.lockDelays;
    this.held = next.held;
    this.sessionsById = next.sessionsById;
    this.nodesByName = next.nodesByName;
    this.servicesByNode = next.servicesByNode;
    this.checksByNode = next.checksByNode;
    this.serviceIndexes = next.serviceIndexes;
    this.catalogMaxIndex = index;
    this.queryTable = saved.queryTable.rebased(index);
    return OK;
  }

  // ---- Snapshots ----

  /** The whole state as canonical JSON bytes (sorted, so equal states give equal bytes). */
  snapshot(): Uint8Array {
    const chunks = [...this.snapshotChunks()];
    const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  /**
   * The bytes of `snapshot()` in chunks of about `kvPerChunk` KV entries. The state is captured
   * when this is called (the KV entries by reference: they are never changed in place, only
   * replaced), so the chunks may be taken later, over several event-loop turns, while newer
   * entries are applied: they still describe the state at this call. The whole state is never
   * held as one string or buffer. With `reuseBuffer` every chunk is encoded into the same buffer
   * (a view of it, overwritten by the next chunk: consume each before taking the next), so a
   * snapshot of 100k keys does not malloc ~45 MB of short-lived chunks (which glibc keeps in the
   * process's RSS once freed between longer-lived allocations).
   */
  snapshotChunks({ kvPerChunk = 1000, reuseBuffer = false }: { readonly kvPerChunk?: number; readonly reuseBuffer?: boolean } = {}): IterableIterator<Uint8Array> {
    const byKey = <T>(map: Map<string, T>): [string, T][] => [...map.entries()].sort(([a], [b]) => compare(a, b));
    const services: (StoredService & { node: string })[] = [];
    for (const [node, map] of byKey(this.servicesByNode)) for (const [, service] of byKey(map)) services.push({ node, ...service });
    const checks: StoredCheck[] = [];
    for (const [, map] of byKey(this.checksByNode)) for (const [, check] of byKey(map)) checks.push(check);
    // The keys of SnapshotData in its order; "kv" (the large part) is spliced in between.
    const head = JSON.stringify({ v: SNAPSHOT_VERSION, appliedIndex: this.applied, kvMaxIndex: this.kvMaxIndex, catalogMaxIndex: this.catalogMaxIndex });
    const rest: Omit<SnapshotData, "v" | "appliedIndex" | "kvMaxIndex" | "catalogMaxIndex" | "kv"> = {
      // tombstoneOrder is already sorted.
      tombstones: this.tombstoneOrder.withPrefix("").map((key) => [key, this.tombstones.get(key) ?? 0]),
      lockDelays: byKey(this.lockDelays),
      sessions: byKey(this.sessionsById).map(([, s]) => canonical(s)),
      nodes: byKey(this.nodesByName).map(([, n]) => canonical(n)),
      services: services.map(canonical),
      checks: checks.map(canonical),
      serviceIndexes: byKey(this.serviceIndexes),
      queryMaxIndex: this.queryTable.index,
      queries: this.queryTable.list().map(canonical),
    };
    // Canonical objects built above, so no replacer runs over the (large) KV part.
    const tail = `],${JSON.stringify(rest).slice(1)}`;
    // kvOrder is already sorted.
    const kv = this.kvList("");
    const encoder = new TextEncoder();
    let scratch = new Uint8Array(reuseBuffer ? 256 * 1024 : 0);
    const encode = (text: string): Uint8Array => {
      if (!reuseBuffer) return encoder.encode(text);
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
      return scratch.subarray(0, encoder.encodeInto(text, scratch).written);
    };
    function* chunks(): Generator<Uint8Array> {
      yield encode(`${head.slice(0, -1)},"kv":[`);
      for (let from = 0; from < kv.length; from += kvPerChunk) {
        const parts: string[] = [];
        // What JSON.stringify of the array gives, without building the array (base64 and integers need no escaping).
        for (const e of kv.slice(from, from + kvPerChunk)) {
          parts.push(`[${JSON.stringify(e.key)},"${base64Of(e)}",${e.flags},${e.createIndex},${e.modifyIndex},${e.lockIndex},${e.session === undefined ? "null" : JSON.stringify(e.session)}]`);
        }
        yield encode(from === 0 ? parts.join(",") : `,${parts.join(",")}`);
      }
      yield encode(tail);
    }
    return chunks();
  }

  /** Rebuilds the state `snapshot()` wrote; throws naming the problem for bytes it did not write. */
  static restore(bytes: Uint8Array): RegistryState {
    let data: SnapshotData;
    try {
      data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as SnapshotData;
    } catch (error) {
      throw new Error(`registry snapshot of ${bytes.length} bytes is not JSON (${(error as Error).message}): it was not written by RegistryState.snapshot()`);
    }
    if (typeof data !== "object" || data === null || !READABLE_SNAPSHOT_VERSIONS.includes(data.v)) {
      throw new Error(`registry snapshot has version ${JSON.stringify((data as { v?: unknown } | null)?.v)}; this build reads versions ${READABLE_SNAPSHOT_VERSIONS.join(" and ")}: upgrade the node`);
    }
    const state = new RegistryState();
    state.applied = data.appliedIndex;
    state.kvMaxIndex = data.kvMaxIndex;
    state.catalogMaxIndex = data.catalogMaxIndex;
    for (const [key, value, flags, createIndex, modifyIndex, lockIndex, session] of data.kv) {
      state.rawPut(key, new StoredKvEntry(key, checkedBase64ToLatin1(value), flags, createIndex, modifyIndex, lockIndex, session ?? undefined));
    }
    for (const [key, index] of data.tombstones) state.setTombstoneRaw(key, index);
    for (const [key, until] of data.lockDelays) state.lockDelays.set(key, until);
    for (const session of data.sessions) state.sessionsById.set(session.id, session);
    for (const node of data.nodes) state.nodesByName.set(node.node, node);
    for (const { node, ...service } of data.services) {
      let map = state.servicesByNode.get(node);
      if (map === undefined) state.servicesByNode.set(node, (map = new Map()));
      map.set(service.id, service);
    }
    for (const check of data.checks) {
      let map = state.checksByNode.get(check.node);
      if (map === undefined) state.checksByNode.set(check.node, (map = new Map()));
      map.set(check.checkId, check);
    }
    for (const [name, index] of data.serviceIndexes) state.serviceIndexes.set(name, index);
    // Version 1 had no prepared queries.
    if (data.v >= 2) state.queryTable = new PreparedQueryTable({ queryMaxIndex: data.queryMaxIndex ?? 0, queries: data.queries ?? [] });
    return state;
  }
}

interface SnapshotData {
  v: number;
  appliedIndex: number;
  kvMaxIndex: number;
  catalogMaxIndex: number;
  /** [key, base64 value, flags, createIndex, modifyIndex, lockIndex, session | null] */
  kv: [string, string, number, number, number, number, string | null][];
  tombstones: [string, number][];
  lockDelays: [string, number][];
  sessions: SessionInfo[];
  nodes: CatalogNode[];
  services: (StoredService & { node: string })[];
  checks: StoredCheck[];
  serviceIndexes: [string, number][];
  /** Version 2 on. */
  queryMaxIndex?: number;
  queries?: StoredPreparedQuery[];
}

/** OK, or the refusal `what` as the command's error. */
function refusal(what: string | undefined): CommandResult {
  return what === undefined ? OK : { ok: false, errors: [{ opIndex: 0, what }] };
}

function result(outcome: KvOutcome): CommandResult {
  if (outcome.error !== undefined) return { ok: false, errors: [{ opIndex: 0, what: outcome.error }] };
  return outcome.ok ? OK : REFUSED;
}

/** Equal in everything but ModifyIndex. */
function sameEntry(a: StoredKvEntry, b: StoredKvEntry): boolean {
  if (a.flags !== b.flags || a.session !== b.session || a.lockIndex !== b.lockIndex || a.createIndex !== b.createIndex) return false;
  return a.sameValue(b);
}

/**
 * A KV entry as the state keeps it: the value as a string of one char per byte (Latin-1, a V8
 * one-byte string: 256 bytes of value cost 256 bytes, not the 344 of its base64 text, and no
 * ArrayBuffer per key) — converted from the command's (validated) base64 once at apply, and back
 * on each read of `valueBase64` / `value`. Immutable: a write replaces the entry (snapshots rely
 * on it, see `snapshotChunks`).
 */
class StoredKvEntry implements KvEntry {
  readonly key: string;
  private readonly latin1: string;
  readonly createIndex: number;
  readonly modifyIndex: number;
  /**
   * Flags, lock index and session, only when one of them is set (most keys are plain: 5 fields
   * instead of 7 save 16 bytes per key, 1.6 MB per 100k keys).
   */
  private readonly lock: { readonly flags: number; readonly lockIndex: number; readonly session: string | undefined } | undefined;

  /** `latin1`: the value as one char per byte (`base64ToLatin1` of the command's base64). */
  constructor(key: string, latin1: string, flags: number, createIndex: number, modifyIndex: number, lockIndex: number, session: string | undefined) {
    this.key = key;
    this.latin1 = latin1;
    this.createIndex = createIndex;
    this.modifyIndex = modifyIndex;
    this.lock = flags === 0 && lockIndex === 0 && session === undefined ? undefined : { flags, lockIndex, session };
  }

  get flags(): number {
    return this.lock?.flags ?? 0;
  }

  get lockIndex(): number {
    return this.lock?.lockIndex ?? 0;
  }

  get session(): string | undefined {
    return this.lock?.session;
  }

  get valueBase64(): string {
    return latin1ToBase64(this.latin1);
  }

  get value(): Uint8Array {
    return latin1Bytes(this.latin1);
  }

  /** Whether `other` holds the same value bytes. */
  sameValue(other: StoredKvEntry): boolean {
    return this.latin1 === other.latin1;
  }

  /** This entry with another ModifyIndex and session/lock fields, sharing the value. */
  withIndexes(modifyIndex: number, lockIndex: number, session: string | undefined): StoredKvEntry {
    return new StoredKvEntry(this.key, this.latin1, this.flags, this.createIndex, modifyIndex, lockIndex, session);
  }

  /** This entry created and modified at `index` (a restore), sharing the value. */
  rebased(index: number): StoredKvEntry {
    return new StoredKvEntry(this.key, this.latin1, this.flags, index, index, this.lockIndex, this.session);
  }

  /** The entry as a plain object with `value` bytes (what JSON and test comparisons see). */
  toJSON(): KvEntry {
    return { key: this.key, value: this.value, flags: this.flags, createIndex: this.createIndex, modifyIndex: this.modifyIndex, lockIndex: this.lockIndex, session: this.session };
  }
}

function base64Of(entry: KvEntry): string {
  return entry.valueBase64 ?? encodeBase64(entry.value);
}

function serviceDefinitionOf(service: StoredService): ServiceDefinition {
  return { id: service.id, service: service.service, address: service.address, port: service.port, tags: service.tags, meta: service.meta };
}

function checkDefinitionOf(check: StoredCheck): CheckDefinition & { node: string } {
  const { createIndex: _c, modifyIndex: _m, ...definition } = check;
  return definition;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Equality of JSON-shaped values, ignoring key order and undefined fields. */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** A copy of a JSON-shaped value with object keys sorted at every level and undefined fields dropped. */
function canonical<T>(value: T): T {
  if (Array.isArray(value)) return value.map(canonical) as T;
  if (typeof value !== "object" || value === null) return value;
  // fromEntries defines own properties, so a key such as "__proto__" stays data.
  return Object.fromEntries(
    Object.keys(value)
      .sort(compare)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
  ) as T;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
