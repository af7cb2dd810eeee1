import fc from "fast-check";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assertLinearizable, checkLinearizable } from "./check-linearizable.ts";
import { applyKvInput, type KvInput, type KvOperation } from "./kv-model.ts";
import type { Model, Operation } from "./lin-model.ts";
import { runDataDriven } from "./run-data-driven.ts";

/** Parses `<client> <call> <return|-> <op> <key> [args] [-> output]` lines; `-` as a value is absent. */
function parseHistory(text: string): KvOperation[] {
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => {
    const [lhs = "", rhs] = line.split("->").map((s) => s.trim());
    const [client = "", call = "", ret = "", op = "", key = "", ...args] = lhs.split(/\s+/);
    const value = (s: string | undefined) => (s === "-" || s === undefined ? null : s);
    const input = ((): KvInput => {
      switch (op) {
        case "get":
        case "delete":
          return { op, key };
        case "put":
        case "append":
          return { op, key, value: args[0] ?? "" };
        case "cas":
          return { op, key, expected: value(args[0]), value: args[1] ?? "" };
        default:
          throw new Error(`unknown op in ${JSON.stringify(line)}`);
      }
    })();
    const output = rhs === undefined ? {} : op === "cas" ? { ok: rhs === "true" } : { value: value(rhs) };
    return { clientId: client, input, call: Number(call), return: ret === "-" ? undefined : Number(ret), output };
  });
}

describe("checkLinearizable on known KV histories", () => {
  it("gives the verdicts of testdata/linearizability/kv.txt", () => {
    runDataDriven(join(import.meta.dirname, "../testdata/linearizability/kv.txt"), (testCase) => {
      const result = checkLinearizable(parseHistory(testCase.input));
      return result.ok ? "ok" : result.explanation;
    });
  });

  it("reports the failing key, its operations and the longest linearizable prefix", () => {
    const history = parseHistory("1 0 10 put x a\n1 20 30 put y 1\n1 30 35 put x b\n2 40 50 get x -> a\n2 60 70 get y -> 1");
    const result = checkLinearizable(history);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe("not-linearizable");
    expect(result.key).toBe("x");
    expect(result.operations).toHaveLength(3);
    expect(result.partialLinearization.map((op) => op.input)).toEqual([
      { op: "put", key: "x", value: "a" },
      { op: "put", key: "x", value: "b" },
    ]);
    expect(() => assertLinearizable(history)).toThrow(/not linearizable: key "x"/);
  });

  it("does not depend on the order operations are listed in", () => {
    const history = parseHistory("1 0 100 put x a\n2 10 20 get x -> a\n3 50 60 get x -> -");
    expect(checkLinearizable(history).ok).toBe(false);
    expect(checkLinearizable([...history].reverse()).ok).toBe(false);
  });

  it("accepts the empty history and rejects malformed times", () => {
    expect(checkLinearizable([])).toEqual({ ok: true });
    expect(() => checkLinearizable(parseHistory("1 10 5 put x a"))).toThrow(/return before call|malformed/);
    expect(() => checkLinearizable([{ clientId: 1, input: { op: "get", key: "x" }, call: NaN, return: 1, output: { value: null } }])).toThrow(/malformed/);
  });

  it("returns a timeout, not a verdict, when the search runs out of time", () => {
    // Many overlapping puts and a read nobody wrote: a long search before the failure is certain.
    const ops: KvOperation[] = Array.from({ length: 20 }, (_, i) => ({ clientId: i, input: { op: "put", key: "x", value: `v${i}` }, call: 0, return: 100, output: {} }));
    ops.push({ clientId: 99, input: { op: "get", key: "x" }, call: 0, return: 100, output: { value: "never" } });
    let fakeMs = 0;
    const result = checkLinearizable(ops, undefined, { timeoutMs: 5, now: () => (fakeMs += 1) });
    expect(result).toMatchObject({ ok: false, reason: "timeout", key: "x" });
    if (!result.ok) expect(result.explanation).toMatch(/may or may not be linearizable/);
  });

  it("checks a large concurrent history quickly thanks to memoization", () => {
    // 2000 operations on 2 keys, each overlapping up to 8 others, 1% of them pending.
    const history = generateHistory(createGen(4242), { ops: 2000, keys: ["x", "y"], overlap: 40, pendingRate: 0.01 });
    expect(checkLinearizable(history).ok).toBe(true);
  });
});

describe("checkLinearizable with other models", () => {
  /** A mutual-exclusion lock: acquire succeeds only when free; release by the holder. */
  type LockInput = { readonly op: "acquire" | "release"; readonly client: string };
  const lockModel: Model<string | null, LockInput, { readonly ok: boolean }> = {
    init: () => null,
    step(holder, input, output) {
      const allowed = input.op === "acquire" ? holder === null : holder === input.client;
      const next = allowed ? (input.op === "acquire" ? input.client : null) : holder;
      return [output === undefined || output.ok === allowed, next];
    },
    hash: (holder) => holder ?? "",
    describeOperation: (input, output) => `${input.op}(${input.client}) → ${output?.ok ?? "?"}`,
  };
  const op = (client: string, kind: LockInput["op"], call: number, ret: number, ok: boolean): Operation<LockInput, { ok: boolean }> =>
    ({ clientId: client, input: { op: kind, client }, call, return: ret, output: { ok } });

  it("accepts a lock handed over in turn", () => {
    expect(checkLinearizable([op("a", "acquire", 0, 10, true), op("b", "acquire", 5, 15, false), op("a", "release", 20, 30, true), op("b", "acquire", 40, 50, true)], lockModel).ok).toBe(true);
  });

  it("rejects two clients holding the lock at once, with a default key", () => {
    const result = checkLinearizable([op("a", "acquire", 0, 10, true), op("b", "acquire", 20, 30, true)], lockModel);
    expect(result).toMatchObject({ ok: false, key: "" });
    if (!result.ok) expect(result.explanation).toContain("acquire(b) → true: impossible in this state");
  });
});

// ---- generated histories: a sequential reference KV with random timing ----

interface GenOptions {
  readonly ops: number;
  readonly keys: readonly string[];
  /** Max ticks an operation's interval reaches either side of its linearization point (spacing 10). */
  readonly overlap: number;
  readonly pendingRate: number;
}

/** A tiny deterministic source for the non-fast-check generator above. */
function createGen(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Runs random operations through a sequential Map in order; operation i takes effect at time
 * 10·i + 5 and its interval extends up to `overlap` either side. Pending operations take effect
 * or not at random. The result is linearizable by construction.
 */
function generateHistory(random: () => number, options: GenOptions): KvOperation[] {
  const store = new Map<string, string>();
  const history: KvOperation[] = [];
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  for (let i = 0; i < options.ops; i++) {
    const key = pick(options.keys);
    const current = store.get(key) ?? null;
    const kind = pick(["get", "get", "put", "cas", "append", "delete"] as const);
    const input: KvInput =
      kind === "get" || kind === "delete" ? { op: kind, key }
      : kind === "cas" ? { op: "cas", key, expected: random() < 0.6 ? current : pick([null, "v0", `v${i - 1}`]), value: `v${i}` }
      : { op: kind, key, value: `v${i}` };
    const pending = random() < options.pendingRate;
    const applies = !pending || random() < 0.5;
    let output: KvOperation["output"] = {};
    if (applies) output = applyKvInput(store, input);
    const point = 10 * i + 5;
    history.push({
      clientId: `c${i % 8}`,
      input,
      call: point - Math.floor(random() * (options.overlap + 1)),
      return: pending ? undefined : point + Math.floor(random() * (options.overlap + 1)),
      output: pending ? undefined : output,
    });
  }
  return history;
}


describe("checkLinearizable on generated histories (property)", () => {
  const options = fc.record({
    seed: fc.integer(),
    ops: fc.integer({ min: 1, max: 40 }),
    keyCount: fc.integer({ min: 1, max: 3 }),
    overlap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 5, max: 40 })),
    pendingRate: fc.constantFrom(0, 0, 0.1, 0.3),
  });
  const build = (o: { seed: number; ops: number; keyCount: number; overlap: number; pendingRate: number }) =>
    generateHistory(createGen(o.seed), { ops: o.ops, keys: ["x", "y", "z"].slice(0, o.keyCount), overlap: o.overlap, pendingRate: o.pendingRate });

  it("accepts every history of a sequential KV, overlapping or not, in any listing order", () => {
    fc.assert(
      fc.property(options, fc.integer(), (o, shuffleSeed) => {
        const history = build(o);
        const next = createGen(shuffleSeed);
        const shuffled = history.map((op) => [next(), op] as const).sort((a, b) => a[0] - b[0]).map(([, op]) => op);
        const result = checkLinearizable(shuffled);
        expect(result.ok, result.ok ? "" : result.explanation).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  const completedGets = (history: KvOperation[]) => history.flatMap((op, i) => (op.input.op === "get" && op.return !== undefined ? [i] : []));

  it("rejects a non-overlapping history in which one read returns any other value", () => {
    fc.assert(
      fc.property(options, fc.nat(), fc.nat(), (o, which, replacement) => {
        const history = build({ ...o, overlap: Math.min(o.overlap, 4), pendingRate: 0 });
        const gets = completedGets(history);
        fc.pre(gets.length > 0);
        const index = gets[which % gets.length] as number;
        const victim = history[index] as KvOperation;
        const written = history.flatMap((op) => ("value" in op.input ? [op.input.value] : []));
        const candidates = [null, "never-written", ...written].filter((v) => v !== victim.output?.value);
        history[index] = { ...victim, output: { value: candidates[replacement % candidates.length] ?? null } };
        expect(checkLinearizable(history)).toMatchObject({ ok: false, reason: "not-linearizable", key: victim.input.key });
      }),
      { numRuns: 300 },
    );
  });

  it("rejects a non-overlapping history in which one CAS reports the opposite result", () => {
    fc.assert(
      fc.property(options, fc.nat(), (o, which) => {
        const history = build({ ...o, overlap: Math.min(o.overlap, 4), pendingRate: 0 });
        const cases = history.flatMap((op, i) => (op.input.op === "cas" ? [i] : []));
        fc.pre(cases.length > 0);
        const index = cases[which % cases.length] as number;
        const victim = history[index] as KvOperation;
        history[index] = { ...victim, output: { ok: victim.output?.ok !== true } };
        expect(checkLinearizable(history).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it("rejects any history, even overlapping with pending writes, whose read returns a never-written value", () => {
    fc.assert(
      fc.property(options, fc.nat(), (o, which) => {
        // At most 20 operations overlapping ±10 time units (ops are 10 apart): proving that no
        // order exists explores every order of the concurrent ones (a pending write is concurrent
        // with everything after its call), and a 40-operation history once took 16 s of search on
        // a loaded machine.
        const history = build({ ...o, ops: Math.min(o.ops, 20), overlap: Math.min(o.overlap, 10) });
        const gets = completedGets(history);
        fc.pre(gets.length > 0);
        const index = gets[which % gets.length] as number;
        history[index] = { ...(history[index] as KvOperation), output: { value: "never-written" } };
        expect(checkLinearizable(history).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
