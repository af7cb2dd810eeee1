// Properties of the state machine over random command sequences (fast-check): snapshots round-trip,
// replicas agree byte for byte, indexes only grow, and plain KV agrees with a Map reference model.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CheckDefinition, KvTxnOp, PreparedQueryDefinition, RegistryCommand, ServiceDefinition } from "../registry-contract.ts";
import { encodeBase64 } from "./base64.ts";
import { decodeEntry, encodeEntry } from "./encode-command.ts";
import { RegistryState } from "./registry-state.ts";

const KEYS = ["a", "a/b", "a/c/d", "b", "b/x"];
const PREFIXES = ["", "a", "a/", "a/c", "b", "c"];
const SESSIONS = ["s1", "s2", "s3"];
const NODES = ["n1", "n2"];
const SERVICES = ["web", "db"];
const CHECK_IDS = ["serfHealth", "c1", "c2"];

const key = fc.constantFrom(...KEYS);
const value = fc.uint8Array({ maxLength: 4 }).map(encodeBase64);
const session = fc.constantFrom(...SESSIONS);
const smallIndex = fc.nat({ max: 40 });
const status = fc.constantFrom("passing" as const, "warning" as const, "critical" as const);

const txnOp: fc.Arbitrary<KvTxnOp> = fc.oneof(
  fc.record({ verb: fc.constant("set" as const), key, value }),
  fc.record({ verb: fc.constant("cas" as const), key, value, index: smallIndex }),
  fc.record({ verb: fc.constant("lock" as const), key, value, session }),
  fc.record({ verb: fc.constant("unlock" as const), key, value, session }),
  fc.record({ verb: fc.constantFrom("get" as const, "get-tree" as const, "check-not-exists" as const, "delete" as const, "delete-tree" as const), key }),
  fc.record({ verb: fc.constantFrom("check-index" as const, "delete-cas" as const), key, index: smallIndex }),
  fc.record({ verb: fc.constant("check-session" as const), key, session }),
);

const service: fc.Arbitrary<ServiceDefinition> = fc.record({
  id: fc.constantFrom("svc-1", "svc-2"),
  service: fc.constantFrom(...SERVICES),
  address: fc.constantFrom("", "10.0.0.9"),
  port: fc.constantFrom(80, 8080),
  tags: fc.subarray(["v1", "v2", "blue"]),
  meta: fc.constantFrom<Record<string, string>>({}, { version: "v1" }),
});

const check: fc.Arbitrary<CheckDefinition> = fc.record(
  {
    checkId: fc.constantFrom(...CHECK_IDS),
    name: fc.constant("check"),
    serviceId: fc.constantFrom("svc-1", "svc-2"),
    status,
    output: fc.constantFrom("", "boom"),
    type: fc.constantFrom("ttl" as const, "serf" as const),
  },
  { requiredKeys: ["checkId", "name", "status", "output", "type"] },
) as fc.Arbitrary<CheckDefinition>;

const QUERY_IDS = ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000003"];

/** Prepared queries over a few ids, names (two equal without case), sessions and templates (one that does not compile). */
const preparedQuery: fc.Arbitrary<PreparedQueryDefinition> = fc.record({
  id: fc.constantFrom(...QUERY_IDS),
  name: fc.constantFrom("", "q", "Q", "geo", QUERY_IDS[0] as string),
  session: fc.constantFrom("", ...SESSIONS, "gone"),
  token: fc.constant(""),
  template: fc.constantFrom(
    { type: "" as const, regexp: "", removeEmptyTags: false },
    { type: "name_prefix_match" as const, regexp: "^geo-(.*)$", removeEmptyTags: true },
    { type: "name_prefix_match" as const, regexp: "(", removeEmptyTags: false },
  ),
  service: fc.record({
    service: fc.constantFrom("web", "${match(1)}", "${nope}"),
    failover: fc.constant({ nearestN: 0, datacenters: [] }),
    onlyPassing: fc.boolean(),
    ignoreCheckIds: fc.subarray(CHECK_IDS),
    near: fc.constantFrom("", "_agent"),
    tags: fc.subarray(["v1", "!v2"]),
    nodeMeta: fc.constantFrom<Record<string, string>>({}, { zone: "a" }),
    serviceMeta: fc.constant({}),
  }),
  dns: fc.constantFrom({ ttl: "" }, { ttl: "10s" }),
});

const command: fc.Arbitrary<RegistryCommand> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant("kv-set" as const), key, value, flags: fc.nat({ max: 3 }), cas: smallIndex }, { requiredKeys: ["op", "key", "value"] }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("kv-set" as const), key, value, acquire: session }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("kv-set" as const), key, value, release: session }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("kv-set" as const), key, value, flags: fc.nat({ max: 3 }), cas: smallIndex, acquire: session, release: session }, { requiredKeys: ["op", "key", "value"] }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("kv-delete" as const), key: fc.constantFrom(...KEYS, "a/"), recurse: fc.boolean(), cas: smallIndex }, { requiredKeys: ["op", "key"] }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("txn" as const), ops: fc.array(txnOp, { maxLength: 5 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("session-create" as const),
      id: session,
      name: fc.constant(""),
      node: fc.constantFrom(...NODES),
      ttlMs: fc.constantFrom(0, 10_000),
      lockDelayMs: fc.constantFrom(0, 5, 15_000),
      behavior: fc.constantFrom("release" as const, "delete" as const),
      checks: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.subarray(CHECK_IDS, { maxLength: 2 }) }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("session-destroy" as const), id: session }) },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        op: fc.constant("catalog-register" as const),
        node: fc.constantFrom(...NODES),
        address: fc.constantFrom("10.0.0.1", "10.0.0.2"),
        nodeMeta: fc.constantFrom<Record<string, string>>({}, { zone: "a" }),
        service,
        checks: fc.array(check, { maxLength: 2 }),
      },
      { requiredKeys: ["op", "node", "address"] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      { op: fc.constant("catalog-deregister" as const), node: fc.constantFrom(...NODES), serviceId: fc.constantFrom("svc-1", "svc-2"), checkId: fc.constantFrom(...CHECK_IDS) },
      { requiredKeys: ["op", "node"] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("check-update" as const), node: fc.constantFrom(...NODES), checkId: fc.constantFrom(...CHECK_IDS), status, output: fc.constantFrom("", "x") }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("query-set" as const), create: fc.boolean(), query: preparedQuery }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("query-delete" as const), id: fc.constantFrom(...QUERY_IDS) }) },
);

/** Sessions and a registered node first, so that random commands hit locks, lock-delays and check-bound sessions. */
const PRELUDE: RegistryCommand[] = [
  { op: "session-create", id: "s1", name: "", node: "n1", ttlMs: 0, lockDelayMs: 5, behavior: "release", checks: [] },
  { op: "session-create", id: "s2", name: "", node: "n2", ttlMs: 0, lockDelayMs: 15_000, behavior: "delete", checks: [] },
  {
    op: "catalog-register",
    node: "n1",
    address: "10.0.0.1",
    service: { id: "svc-1", service: "web", address: "", port: 80, tags: ["v1"], meta: {} },
    checks: [
      { checkId: "serfHealth", name: "serf", serviceId: undefined, status: "passing", output: "", type: "serf" },
      { checkId: "c1", name: "c1", serviceId: "svc-1", status: "passing", output: "", type: "ttl" },
    ],
  },
  { op: "session-create", id: "s3", name: "", node: "n1", ttlMs: 0, lockDelayMs: 15_000, behavior: "release", checks: ["serfHealth", "c1"] },
];

/** A committed log: increasing indexes with gaps (no-op entries) and a leader clock that moves forward. */
const log = fc
  .tuple(fc.boolean(), fc.array(fc.tuple(command, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 10 })), { maxLength: 80, size: "medium" }))
  .map(([prelude, items]) => {
    let index = 0;
    let nowMs = 1_000;
    const withPrelude: [RegistryCommand, number, number][] = [...(prelude ? PRELUDE.map((c): [RegistryCommand, number, number] => [c, 1, 0]) : []), ...items];
    return withPrelude.map(([cmd, gap, dt]) => ({ index: (index += gap), nowMs: (nowMs += dt), command: cmd }));
  });

type Log = readonly { readonly index: number; readonly nowMs: number; readonly command: RegistryCommand }[];

/** Every read the contract offers, over the small key/name space of the generators. */
function readAll(state: RegistryState): unknown {
  return {
    applied: state.appliedIndex,
    kv: state.kvList(""),
    keys: PREFIXES.map((p) => [state.kvKeys(p, undefined), state.kvKeys(p, "/")]),
    kvIndex: PREFIXES.map((p) => state.kvIndex(p)),
    lockDelays: KEYS.map((k) => state.lockDelayUntil(k)),
    gets: KEYS.map((k) => state.kvGet(k)),
    sessions: state.sessions(),
    session: SESSIONS.map((s) => state.session(s)),
    nodes: state.nodes(),
    services: state.services(),
    instances: SERVICES.map((s) => state.serviceInstances(s)),
    catalogIndex: [state.catalogIndex(), ...SERVICES.map((s) => state.catalogIndex(s)), state.catalogIndex("none")],
    queries: state.queries(),
    query: QUERY_IDS.map((id) => state.query(id)),
    queryIndex: state.queryIndex(),
  };
}

/** `readAll` as text (values base64, undefined fields visible), far cheaper to compare than deep equality. */
function readAllText(state: RegistryState): string {
  return JSON.stringify(readAll(state), (_k, v: unknown) => {
    if (v instanceof Uint8Array) return `bytes:${encodeBase64(v)}`;
    if (v === undefined) return "(undefined)";
    if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
    // Key order is not part of a read; fields explicitly undefined are (they print "(undefined)").
    return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)));
  });
}

function applyAll(state: RegistryState, entries: Log): unknown[] {
  return entries.map((e) => state.apply(e.index, e.command, e.nowMs));
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe("RegistryState properties", () => {
  it("restore(snapshot()) gives identical reads, and the same future, at any point of a log", () => {
    fc.assert(
      fc.property(log, fc.nat(), (entries, cut) => {
        const at = entries.length === 0 ? 0 : cut % (entries.length + 1);
        const original = new RegistryState();
        applyAll(original, entries.slice(0, at));
        const restored = RegistryState.restore(original.snapshot());
        expect(readAllText(restored)).toBe(readAllText(original));
        expect(text(restored.snapshot())).toBe(text(original.snapshot()));
        expect(applyAll(restored, entries.slice(at))).toEqual(applyAll(original, entries.slice(at)));
        expect(text(restored.snapshot())).toBe(text(original.snapshot()));
        expect(readAllText(restored)).toBe(readAllText(original));
      }),
      { numRuns: 200 },
    );
  });

  it("serviceInstancesWhere gives, in one pass, what serviceInstances gives per service", () => {
    fc.assert(
      fc.property(log, fc.subarray(SERVICES), (entries, followed) => {
        const state = new RegistryState();
        applyAll(state, entries);
        const names = Object.keys(state.services()).filter((name) => followed.includes(name));
        const expected = new Map(names.sort().map((name) => [name, state.serviceInstances(name)]));
        expect(state.serviceInstancesWhere((name) => followed.includes(name))).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it("two replicas applying the same entries (through encode/decode) produce the same results and snapshot bytes", () => {
    fc.assert(
      fc.property(log, (entries) => {
        const a = new RegistryState();
        const b = new RegistryState();
        const resultsA = applyAll(a, entries);
        const decoded = entries.map((e) => ({ index: e.index, ...decodeEntry(encodeEntry({ command: e.command, nowMs: e.nowMs })) }));
        expect(decoded.map((e) => e.command)).toEqual(entries.map((e) => e.command));
        const resultsB = applyAll(b, decoded);
        expect(resultsB).toEqual(resultsA);
        expect(text(b.snapshot())).toBe(text(a.snapshot()));
      }),
      { numRuns: 300 },
    );
  });

  it("ModifyIndex of a key, kvIndex of a prefix, catalogIndex and queryIndex never decrease; no index exceeds the applied one", () => {
    fc.assert(
      fc.property(log, (entries) => {
        const state = new RegistryState();
        const indexes = (): number[] => [...PREFIXES.map((p) => state.kvIndex(p)), state.catalogIndex(), ...SERVICES.map((s) => state.catalogIndex(s)), state.catalogIndex("none"), state.queryIndex()];
        let before = indexes();
        const modify = new Map<string, number>();
        // Plain checks, not expect(): this loop runs ~10^5 times per test.
        const must = (condition: boolean, what: string): void => {
          if (!condition) throw new Error(what);
        };
        for (const e of entries) {
          state.apply(e.index, e.command, e.nowMs);
          const after = indexes();
          after.forEach((index, i) => {
            must(index >= (before[i] ?? 0), `index #${i} went from ${before[i]} down to ${index} at entry ${e.index}`);
            must(index <= e.index, `index #${i} is ${index}, above the applied ${e.index}`);
          });
          before = after;
          for (const entry of state.kvList("")) {
            must(entry.modifyIndex >= (modify.get(entry.key) ?? 0), `ModifyIndex of ${entry.key} went down to ${entry.modifyIndex} at ${e.index}`);
            must(entry.modifyIndex >= entry.createIndex && entry.modifyIndex <= e.index, `${entry.key}: create ${entry.createIndex}, modify ${entry.modifyIndex}, applied ${e.index}`);
            must(entry.session === undefined || state.session(entry.session) !== undefined, `${entry.key} is held by the dead session ${entry.session}`);
            modify.set(entry.key, entry.modifyIndex);
          }
          for (const query of state.queries()) {
            must(query.session === "" || state.session(query.session) !== undefined, `query ${query.id} outlived its session ${query.session}`);
            must(query.createIndex <= query.modifyIndex && query.modifyIndex <= e.index, `query ${query.id}: create ${query.createIndex}, modify ${query.modifyIndex}, applied ${e.index}`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a command that answers ok: false changes nothing but the applied index", () => {
    fc.assert(
      fc.property(log, (entries) => {
        const state = new RegistryState();
        let failures = 0;
        for (const e of entries) {
          const before = JSON.parse(text(state.snapshot())) as Record<string, unknown>;
          if (!state.apply(e.index, e.command, e.nowMs).ok) {
            failures += 1;
            expect({ ...(JSON.parse(text(state.snapshot())) as Record<string, unknown>), appliedIndex: before["appliedIndex"] }).toEqual(before);
          }
        }
        return failures >= 0;
      }),
      { numRuns: 100 },
    );
  });

  it("plain KV writes agree with a Map reference model", () => {
    const kvOnly = fc.array(
      fc.oneof(
        fc.record({ op: fc.constant("set" as const), key, value, cas: fc.option(smallIndex, { nil: undefined }) }),
        fc.record({ op: fc.constant("delete" as const), key, recurse: fc.boolean(), cas: fc.option(smallIndex, { nil: undefined }) }),
      ),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(kvOnly, (ops) => {
        const state = new RegistryState();
        const model = new Map<string, { value: string; create: number; modify: number }>();
        ops.forEach((op, i) => {
          const index = i + 1;
          const existing = model.get(op.key);
          let expected: boolean;
          if (op.op === "set") {
            expected = op.cas === undefined || (op.cas === 0 ? existing === undefined : existing?.modify === op.cas);
            // An identical write keeps ModifyIndex (Consul's kvsSetTxn skips it).
            if (expected && existing?.value !== op.value) model.set(op.key, { value: op.value, create: existing?.create ?? index, modify: index });
            const command: RegistryCommand = op.cas === undefined ? { op: "kv-set", key: op.key, value: op.value } : { op: "kv-set", key: op.key, value: op.value, cas: op.cas };
            expect(state.apply(index, command, 0).ok).toBe(expected);
          } else {
            if (op.recurse) {
              expected = true;
              for (const k of [...model.keys()]) if (k.startsWith(op.key)) model.delete(k);
            } else {
              expected = op.cas === undefined || existing === undefined || existing.modify === op.cas;
              if (expected) model.delete(op.key);
            }
            const command: RegistryCommand = op.cas === undefined ? { op: "kv-delete", key: op.key, recurse: op.recurse } : { op: "kv-delete", key: op.key, recurse: op.recurse, cas: op.cas };
            expect(state.apply(index, command, 0).ok).toBe(expected);
          }
          const actual = state.kvList("").map((e) => [e.key, encodeBase64(e.value), e.createIndex, e.modifyIndex]);
          const wanted = [...model.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.value, v.create, v.modify]);
          expect(actual).toEqual(wanted);
        });
      }),
      { numRuns: 300 },
    );
  });
});
