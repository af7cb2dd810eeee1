import { join } from "node:path";
import { hasArg, intArg, listTestdataFiles, runDataDriven, stringArg, type DataDrivenCase } from "@meshwork/testing";
import { describe, expect, it } from "vitest";
import type { CatalogNode, CommandResult, KvEntry, RegistryCommand, ServiceInstance, SessionInfo, StoredPreparedQuery } from "../registry-contract.ts";
import { encodeBase64 } from "./base64.ts";
import { parseCommand } from "./encode-command.ts";
import { MAX_TXN_OPS, RegistryState } from "./registry-state.ts";

const TESTDATA = join(import.meta.dirname, "../../testdata/state");

describe("RegistryState scenarios (testdata/state)", () => {
  it.each(listTestdataFiles(TESTDATA, ".txt"))("%s", (file) => {
    runDataDriven(file, createScenarioHandler());
  });
});

/**
 * The scenario language (see testdata/state/README.md):
 *   apply [index=N] [now=MS]   + a JSON command on the input lines (KV values in plain text;
 *                                 defaults filled in) → ok / false / error lines, then txn results
 *   get key=K | list prefix=P | keys prefix=P [sep=S] | kv-index prefix=P | lock-delay key=K
 *   sessions | nodes | services | instances service=S | catalog-index [service=S]
 *   queries | query-index
 *   restore                    → replaces the state by restore(snapshot()), checking bytes are stable
 */
function createScenarioHandler(): (c: DataDrivenCase) => string {
  let state = new RegistryState();
  let nowMs = 0;
  return (c) => {
    switch (c.cmd) {
      case "apply": {
        const index = intArg(c, "index", state.appliedIndex + 1);
        nowMs = intArg(c, "now", nowMs);
        const command = parseCommand(withDefaults(JSON.parse(c.input)));
        return formatResult(state.apply(index, command, nowMs));
      }
      case "get": {
        const entry = state.kvGet(stringArg(c, "key"));
        return entry === undefined ? "(none)" : formatEntry(entry);
      }
      case "list":
        return lines(state.kvList(stringArg(c, "prefix", "")).map(formatEntry));
      case "keys":
        return lines(state.kvKeys(stringArg(c, "prefix", ""), hasArg(c, "sep") ? stringArg(c, "sep") : undefined));
      case "kv-index":
        return String(state.kvIndex(stringArg(c, "prefix", "")));
      case "lock-delay":
        return String(state.lockDelayUntil(stringArg(c, "key")));
      case "sessions":
        return lines(state.sessions().map(formatSession));
      case "nodes":
        return lines(state.nodes().map(formatNode));
      case "services":
        return lines(Object.entries(state.services()).map(([name, tags]) => `${name} [${tags.join(" ")}]`));
      case "instances":
        return lines(state.serviceInstances(stringArg(c, "service")).flatMap(formatInstance));
      case "catalog-index":
        return String(state.catalogIndex(hasArg(c, "service") ? stringArg(c, "service") : undefined));
      case "applied-index":
        return String(state.appliedIndex);
      case "queries":
        return lines(state.queries().map(formatQuery));
      case "query-index":
        return String(state.queryIndex());
      case "restore": {
        const bytes = state.snapshot();
        state = RegistryState.restore(bytes);
        expect(new TextDecoder().decode(state.snapshot())).toBe(new TextDecoder().decode(bytes));
        return "ok";
      }
      default:
        throw new Error(`${c.pos}: unknown directive ${c.cmd}`);
    }
  };
}

/** Scenario commands leave out the boring fields; KV values are plain text here. */
function withDefaults(json: Record<string, unknown>): unknown {
  const text = (value: unknown): string => encodeBase64(new TextEncoder().encode(String(value ?? "")));
  switch (json["op"]) {
    case "kv-set":
      return { ...json, value: text(json["value"]) };
    case "txn":
      return { ...json, ops: (json["ops"] as Record<string, unknown>[]).map((op) => ("value" in op ? { ...op, value: text(op["value"]) } : op)) };
    case "session-create":
      return { name: "", ttlMs: 0, lockDelayMs: 15_000, behavior: "release", checks: [], ...json };
    case "catalog-register": {
      const service = json["service"] as Record<string, unknown> | undefined;
      const checks = json["checks"] as Record<string, unknown>[] | undefined;
      return {
        address: "10.0.0.1",
        ...json,
        ...(service === undefined ? {} : { service: { address: "", port: 0, tags: [], meta: {}, ...service } }),
        ...(checks === undefined ? {} : { checks: checks.map((check) => ({ name: check["checkId"], status: "passing", output: "", type: "ttl", ...check })) }),
      };
    }
    case "check-update":
      return { output: "", ...json };
    case "query-set": {
      const query = json["query"] as Record<string, unknown>;
      const service = (query["service"] ?? {}) as Record<string, unknown>;
      return {
        create: true,
        ...json,
        query: {
          name: "",
          session: "",
          token: "",
          template: { type: "", regexp: "", removeEmptyTags: false },
          dns: { ttl: "" },
          ...query,
          service: { failover: { nearestN: 0, datacenters: [] }, onlyPassing: false, ignoreCheckIds: [], near: "", tags: [], nodeMeta: {}, serviceMeta: {}, ...service },
        },
      };
    }
    default:
      return json;
  }
}

function formatResult(result: CommandResult): string {
  const out = [result.ok ? "ok" : "false"];
  for (const error of result.errors ?? []) out.push(`error op ${error.opIndex}: ${error.what}`);
  for (const entry of result.results ?? []) out.push(formatEntry(entry));
  return lines(out);
}

function formatEntry(entry: KvEntry): string {
  const session = entry.session === undefined ? "" : ` session=${entry.session}`;
  return `${entry.key} = ${JSON.stringify(new TextDecoder().decode(entry.value))} flags=${entry.flags} create=${entry.createIndex} modify=${entry.modifyIndex} lock=${entry.lockIndex}${session}`;
}

function formatSession(s: SessionInfo): string {
  return `${s.id} node=${s.node} behavior=${s.behavior} lockDelayMs=${s.lockDelayMs} ttlMs=${s.ttlMs} checks=[${s.checks.join(" ")}] create=${s.createIndex}`;
}

function formatNode(n: CatalogNode): string {
  return `${n.node} address=${n.address} meta=${JSON.stringify(n.meta)} create=${n.createIndex} modify=${n.modifyIndex}`;
}

function formatInstance(i: ServiceInstance): string[] {
  const s = i.service;
  return [
    `${i.node.node}/${s.id} ${s.service} ${s.address}:${s.port} tags=[${s.tags.join(" ")}] meta=${JSON.stringify(s.meta)} create=${s.createIndex} modify=${s.modifyIndex}`,
    ...i.checks.map((c) => `  check ${c.checkId} ${c.status} ${JSON.stringify(c.output)} service=${c.serviceId ?? "-"} create=${c.createIndex} modify=${c.modifyIndex}`),
  ];
}

function formatQuery(q: StoredPreparedQuery): string {
  const template = q.template.type === "" ? "" : ` template=${q.template.type}${q.template.regexp === "" ? "" : ` regexp=${JSON.stringify(q.template.regexp)}`}`;
  const session = q.session === "" ? "" : ` session=${q.session}`;
  return `${q.id} name=${JSON.stringify(q.name)} service=${JSON.stringify(q.service.service)}${template}${session} create=${q.createIndex} modify=${q.modifyIndex}`;
}

function lines(items: readonly string[]): string {
  return items.length === 0 ? "(empty)" : items.join("\n");
}

const text = (value: string): string => encodeBase64(new TextEncoder().encode(value));

describe("RegistryState", () => {
  it("snapshotChunks() describes the state when it was called, even if writes are applied before the chunks are taken", () => {
    const state = new RegistryState();
    const value = (text: string): string => encodeBase64(new TextEncoder().encode(text));
    for (let k = 1; k <= 25; k++) state.apply(k, { op: "kv-set", key: `k/${String(k).padStart(2, "0")}`, value: value(`v${k}`) }, 1000);
    state.apply(26, { op: "session-create", id: "s1", name: "", node: "n", ttlMs: 0, lockDelayMs: 0, behavior: "release", checks: [] }, 1000);
    const expected = new TextDecoder().decode(state.snapshot());
    const chunks = state.snapshotChunks({ kvPerChunk: 4 });
    state.apply(27, { op: "kv-set", key: "k/01", value: value("changed") }, 2000);
    state.apply(28, { op: "kv-delete", key: "k/02" }, 2000);
    state.apply(29, { op: "kv-set", key: "k/99", value: value("new") }, 2000);
    const parts = [...chunks].map((chunk) => new TextDecoder().decode(chunk));
    expect(parts.length).toBe(1 + Math.ceil(25 / 4) + 1);
    expect(parts.join("")).toBe(expected);
    const restored = RegistryState.restore(new TextEncoder().encode(parts.join("")));
    expect(restored.appliedIndex).toBe(26);
    expect(new TextDecoder().decode(restored.kvGet("k/01")?.value)).toBe("v1");
    expect(restored.kvGet("k/99")).toBeUndefined();
    // An empty state too.
    expect([...new RegistryState().snapshotChunks()].map((c) => new TextDecoder().decode(c)).join("")).toBe(new TextDecoder().decode(new RegistryState().snapshot()));
  });

  it("snapshotChunks({ reuseBuffer }) gives the same bytes, each chunk a view of one buffer", () => {
    const state = new RegistryState();
    for (let k = 1; k <= 30; k++) state.apply(k, { op: "kv-set", key: `k/${String(k).padStart(2, "0")}`, value: text(`v${k}`.repeat(k)) }, 1000);
    const views: Uint8Array[] = [];
    const parts: string[] = [];
    for (const chunk of state.snapshotChunks({ kvPerChunk: 4, reuseBuffer: true })) {
      views.push(chunk);
      parts.push(new TextDecoder().decode(chunk));
    }
    expect(parts.join("")).toBe(new TextDecoder().decode(state.snapshot()));
    expect(new Set(views.map((view) => view.buffer)).size).toBe(1);
  });

  it("refuses a txn of more than 64 operations and changes nothing", () => {
    const state = new RegistryState();
    const ops = Array.from({ length: MAX_TXN_OPS + 1 }, (_, i) => ({ verb: "set" as const, key: `k${i}`, value: text("v") }));
    const result = state.apply(1, { op: "txn", ops }, 0);
    expect(result.ok).toBe(false);
    expect(result.errors).toEqual([{ opIndex: 64, what: "transaction contains too many operations (65 > 64): split it" }]);
    expect(state.kvList("")).toEqual([]);
    expect(state.apply(2, { op: "txn", ops: ops.slice(0, MAX_TXN_OPS) }, 0).ok).toBe(true);
    expect(state.kvList("")).toHaveLength(64);
  });

  it("apply() refuses an index that does not increase", () => {
    const state = new RegistryState();
    state.apply(5, { op: "kv-set", key: "a", value: text("1") }, 0);
    expect(() => state.apply(5, { op: "kv-set", key: "a", value: text("2") }, 0)).toThrow(/increasing index order; already applied 5/);
    expect(state.kvGet("a")?.modifyIndex).toBe(5);
  });

  it("markApplied() advances the applied index for entries without a command", () => {
    const state = new RegistryState();
    state.markApplied(3);
    expect(state.appliedIndex).toBe(3);
    state.apply(4, { op: "kv-set", key: "a", value: text("1") }, 0);
    expect(state.appliedIndex).toBe(4);
  });

  it("a failed txn leaves the snapshot byte-identical (rollback covers tombstones, lock-delays and holders)", () => {
    const state = new RegistryState();
    const commands: RegistryCommand[] = [
      { op: "session-create", id: "s1", name: "", node: "n1", ttlMs: 0, lockDelayMs: 1000, behavior: "release", checks: [] },
      { op: "session-create", id: "s2", name: "", node: "n1", ttlMs: 0, lockDelayMs: 0, behavior: "release", checks: [] },
      { op: "kv-set", key: "a", value: text("1"), acquire: "s1" },
      { op: "kv-set", key: "b", value: text("2") },
      { op: "session-destroy", id: "s1" },
    ];
    commands.forEach((command, i) => state.apply(i + 1, command, 100));
    const before = state.snapshot();
    const failed = state.apply(
      10,
      {
        op: "txn",
        ops: [
          { verb: "lock", key: "a", value: text("x"), session: "s2" },
          { verb: "delete", key: "b" },
          { verb: "set", key: "c", value: text("3") },
          { verb: "check-not-exists", key: "c" },
        ],
      },
      5000,
    );
    expect(failed).toEqual({ ok: false, errors: [{ opIndex: 3, what: 'key "c" exists' }] });
    const after = JSON.parse(new TextDecoder().decode(state.snapshot())) as { appliedIndex: number };
    expect({ ...after, appliedIndex: 5 }).toEqual(JSON.parse(new TextDecoder().decode(before)));
  });
});

describe("RegistryState state-restore", () => {
  const b64 = (text: string): string => encodeBase64(new TextEncoder().encode(text));
  /** The snapshot's JSON with every index field left out: what a restore must give back. */
  const content = (state: RegistryState): unknown => {
    const data = JSON.parse(new TextDecoder().decode(state.snapshot()), (key, value: unknown) =>
      /^(appliedIndex|kvMaxIndex|catalogMaxIndex|queryMaxIndex|createIndex|modifyIndex|serviceIndexes)$/.test(key) ? undefined : value,
    ) as { kv: unknown[][]; tombstones: unknown[][] };
    // [key, value, flags, createIndex, modifyIndex, lockIndex, session] and [key, index] without the indexes.
    return { ...data, kv: data.kv.map((e) => [e[0], e[1], e[2], e[5], e[6]]), tombstones: data.tombstones.map((e) => e[0]) };
  };

  function populated(): RegistryState {
    const state = new RegistryState();
    let index = 0;
    const apply = (command: RegistryCommand): CommandResult => state.apply(++index, parseCommand(command), 1000);
    apply({ op: "kv-set", key: "app/a", value: b64("1") });
    apply({ op: "kv-set", key: "app/b", value: b64("2"), flags: 7 });
    apply({ op: "session-create", id: "s1", name: "lock", node: "n1", ttlMs: 0, lockDelayMs: 0, behavior: "release", checks: [] });
    apply({ op: "kv-set", key: "app/lock", value: b64("held"), acquire: "s1" });
    apply({ op: "kv-delete", key: "app/b" });
    apply({
      op: "catalog-register",
      node: "n1",
      address: "10.0.0.1",
      service: { id: "web-1", service: "web", address: "", port: 80, tags: ["v1"], meta: {} },
      checks: [{ checkId: "service:web-1", name: "web", serviceId: "web-1", status: "passing", output: "", type: "ttl", ttlMs: 30_000 }],
    });
    apply(queryCommand("0a0a0a0a-0000-4000-8000-000000000001", "web-query", ""));
    apply(queryCommand("0a0a0a0a-0000-4000-8000-000000000002", "", "s1"));
    return state;
  }

  function queryCommand(id: string, name: string, session: string): RegistryCommand {
    const service = { service: "web", failover: { nearestN: 0, datacenters: [] }, onlyPassing: false, ignoreCheckIds: [], near: "", tags: [], nodeMeta: {}, serviceMeta: {} };
    return { op: "query-set", create: true, query: { id, name, session, token: "", template: { type: "", regexp: "", removeEmptyTags: false }, service, dns: { ttl: "" } } };
  }

  it("replaces everything with the saved state, every index at the restore's, the LockIndex kept", () => {
    const saved = populated();
    const bytes = saved.snapshot();
    const state = populated();
    let index = state.appliedIndex;
    state.apply(++index, parseCommand({ op: "kv-set", key: "app/a", value: b64("changed") }), 2000);
    state.apply(++index, parseCommand({ op: "kv-set", key: "other/x", value: b64("new") }), 2000);
    state.apply(++index, parseCommand({ op: "catalog-register", node: "n2", address: "10.0.0.2", service: { id: "db-1", service: "db", address: "", port: 5432, tags: [], meta: {} } }), 2000);
    state.apply(++index, parseCommand({ op: "session-destroy", id: "s1" }), 2000);
    const casToken = state.kvGet("app/a")?.modifyIndex ?? 0;
    const restoreAt = index + 1;
    expect(state.apply(restoreAt, parseCommand({ op: "state-restore", state: encodeBase64(bytes) }), 3000)).toEqual({ ok: true });

    expect(content(state)).toEqual(content(saved));
    expect(state.appliedIndex).toBe(restoreAt);
    for (const entry of state.kvList("")) expect([entry.createIndex, entry.modifyIndex]).toEqual([restoreAt, restoreAt]);
    expect(state.kvGet("app/lock")).toMatchObject({ lockIndex: 1, session: "s1" });
    expect(state.session("s1")?.createIndex).toBe(restoreAt);
    for (const node of state.nodes()) expect(node.modifyIndex).toBe(restoreAt);
    // Prepared queries: the session-bound one, deleted with s1 before the restore, is back.
    expect(state.queries().map((q) => [q.id, q.createIndex, q.modifyIndex])).toEqual([
      ["0a0a0a0a-0000-4000-8000-000000000001", restoreAt, restoreAt],
      ["0a0a0a0a-0000-4000-8000-000000000002", restoreAt, restoreAt],
    ]);
    expect(state.queryIndex()).toBe(restoreAt);
    for (const instance of state.serviceInstances("web")) {
      expect(instance.service.modifyIndex).toBe(restoreAt);
      expect(instance.checks.map((c) => c.modifyIndex)).toEqual([restoreAt]);
    }
    // Every index a client can hold moved forward: KV (also a prefix that only the old state had,
    // and a deleted key's), the catalog, a service only the old state had.
    for (const prefix of ["", "app/", "other/", "app/b"]) expect(state.kvIndex(prefix)).toBe(restoreAt);
    for (const service of [undefined, "web", "db"]) expect(state.catalogIndex(service)).toBe(restoreAt);
    // A CAS token read before the restore no longer matches.
    expect(state.apply(restoreAt + 1, parseCommand({ op: "kv-set", key: "app/a", value: b64("late"), cas: casToken }), 4000)).toEqual({ ok: false });
    // The restored lock is held by the restored session: destroying it releases the key.
    state.apply(restoreAt + 2, parseCommand({ op: "session-destroy", id: "s1" }), 4000);
    expect(state.kvGet("app/lock")?.session).toBeUndefined();
  });

  it("refuses bytes that are not a saved state and changes nothing but the applied index", () => {
    const state = populated();
    const before = content(state);
    const result = state.apply(state.appliedIndex + 1, parseCommand({ op: "state-restore", state: b64('{"v":99}') }), 3000);
    expect(result).toMatchObject({ ok: false, errors: [{ opIndex: 0, what: expect.stringContaining("version 99") }] });
    expect(content(state)).toEqual(before);
  });
});
