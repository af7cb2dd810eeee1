// Checks that a concurrent history is linearizable with respect to a sequential model: the
// Wing & Gong search with Lowe's memoization, on each independent part of the history alone (per
// key for the KV model), as Porcupine does.

import { describeHistory, describeOperation } from "./describe-history.ts";
import { kvModel, type KvInput, type KvOutput, type KvState } from "./kv-model.ts";
import type { HistoryPart, Model, Operation } from "./lin-model.ts";

export interface CheckOptions {
  /** Give up after this long (default: no limit); the result is then `reason: "timeout"`. */
  readonly timeoutMs?: number;
  /** The clock for `timeoutMs` (default `performance.now`). */
  readonly now?: () => number;
}

/** Why a history was not shown linearizable, with the part (key) where it failed. */
export interface LinearizabilityFailure<Input, Output> {
  readonly ok: false;
  /** "timeout": the search ran out of time; the history may still be linearizable. */
  readonly reason: "not-linearizable" | "timeout";
  /** The key (part) that failed. */
  readonly key: string;
  /** That key's operations. */
  readonly operations: readonly Operation<Input, Output>[];
  /** The longest order of that key's operations that the model accepts, found before giving up. */
  readonly partialLinearization: readonly Operation<Input, Output>[];
  /** Human-readable: the partial linearization, the operations that cannot follow it, the key's history. */
  readonly explanation: string;
}

export type LinearizabilityResult<Input, Output> = { readonly ok: true } | LinearizabilityFailure<Input, Output>;

/**
 * Checks `history` against `model` (default: the KV model). Parts are checked one by one and the
 * first failing part is returned. A pending operation (no `return`) may be left out or placed
 * anywhere after its call. Throws on a malformed history (non-finite call, return before call).
 * Worst case exponential in the number of concurrent operations per part; memoization makes
 * typical histories fast.
 */
export function checkLinearizable(
  history: readonly Operation<KvInput, KvOutput>[],
  model?: Model<KvState, KvInput, KvOutput>,
  options?: CheckOptions,
): LinearizabilityResult<KvInput, KvOutput>;
export function checkLinearizable<State, Input, Output>(
  history: readonly Operation<Input, Output>[],
  model: Model<State, Input, Output>,
  options?: CheckOptions,
): LinearizabilityResult<Input, Output>;
export function checkLinearizable<State, Input, Output>(
  history: readonly Operation<Input, Output>[],
  model: Model<State, Input, Output> = kvModel as unknown as Model<State, Input, Output>,
  options: CheckOptions = {},
): LinearizabilityResult<Input, Output> {
  for (const operation of history) {
    if (!Number.isFinite(operation.call) || (operation.return !== undefined && !(operation.return >= operation.call))) {
      throw new Error(`malformed operation: call ${operation.call}, return ${operation.return}`);
    }
  }
  const now = options.now ?? (() => performance.now());
  const deadline = options.timeoutMs === undefined ? Infinity : now() + options.timeoutMs;
  const parts: HistoryPart<Input, Output>[] = model.partition?.(history) ?? [{ key: "", operations: history }];
  for (const part of parts) {
    const result = searchPart(model, part, deadline, now);
    if (result !== undefined) return result;
  }
  return { ok: true };
}

/** Like `checkLinearizable`, but throws an Error carrying the explanation when the check fails. */
export function assertLinearizable(history: readonly Operation<KvInput, KvOutput>[], model?: Model<KvState, KvInput, KvOutput>, options?: CheckOptions): void;
export function assertLinearizable<State, Input, Output>(history: readonly Operation<Input, Output>[], model: Model<State, Input, Output>, options?: CheckOptions): void;
export function assertLinearizable<State, Input, Output>(
  history: readonly Operation<Input, Output>[],
  model: Model<State, Input, Output> = kvModel as unknown as Model<State, Input, Output>,
  options: CheckOptions = {},
): void {
  const result = checkLinearizable(history, model, options);
  if (!result.ok) throw new Error(result.explanation);
}

const NIL = -1;

/**
 * The search on one part. Events (calls and returns) sit in a doubly linked list in time order,
 * calls before returns at equal times (touching operations count as concurrent). Walking the list,
 * a call whose step the model accepts is tentatively linearized: its call and return are lifted out
 * and the walk restarts. Reaching a return means the operation returned before anything could be
 * linearized for it: undo the last choice and try the next call after it (Wing & Gong 1993).
 * A (linearized set, state) pair already explored is not explored again (Lowe 2017, "Testing for linearizability").
 * Returns undefined when the part is linearizable.
 */
function searchPart<State, Input, Output>(
  model: Model<State, Input, Output>,
  part: HistoryPart<Input, Output>,
  deadline: number,
  now: () => number,
): LinearizabilityFailure<Input, Output> | undefined {
  // A pending read may be left out, so it never helps a linearization: drop it.
  const ops = part.operations.filter((op) => op.return !== undefined || model.isReadOnly?.(op.input) !== true);
  const n = ops.length;
  // Nodes 1..2n are events, node 0 the head sentinel.
  const events = ops.flatMap((op, index) => [
    { index, isCall: true, time: op.call },
    { index, isCall: false, time: op.return ?? Infinity },
  ]);
  events.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.index - b.index);
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  const opOf = new Int32Array(2 * n + 1);
  const isCall = new Uint8Array(2 * n + 1);
  const returnNode = new Int32Array(n);
  events.forEach((event, i) => {
    const node = i + 1;
    prev[node] = i;
    next[node] = node === 2 * n ? NIL : node + 1;
    opOf[node] = event.index;
    isCall[node] = event.isCall ? 1 : 0;
    if (!event.isCall) returnNode[event.index] = node;
  });
  next[0] = n === 0 ? NIL : 1;

  const lift = (call: number): void => {
    const ret = returnNode[opOf[call] as number] as number;
    for (const node of [call, ret]) {
      next[prev[node] as number] = next[node] as number;
      if (next[node] !== NIL) prev[next[node] as number] = prev[node] as number;
    }
  };
  const unlift = (call: number): void => {
    const ret = returnNode[opOf[call] as number] as number;
    for (const node of [ret, call]) {
      next[prev[node] as number] = node;
      if (next[node] !== NIL) prev[next[node] as number] = node;
    }
  };

  const linearized = new Uint32Array(Math.ceil(n / 32) + 1);
  const bits16 = new Uint16Array(linearized.buffer);
  const seen = new Set<string>();
  const stack: { node: number; state: State }[] = [];
  let longest: number[] = [];
  let completedLeft = ops.filter((op) => op.return !== undefined).length;
  let state = model.init();
  let entry = next[0] as number;
  let iterations = 0;

  while (completedLeft > 0) {
    if ((++iterations & 0x3ff) === 0 && now() > deadline) {
      return failure(model, part, ops, longest, "timeout");
    }
    if (entry === NIL) throw new Error("linearizability search walked off the event list (a bug)");
    const index = opOf[entry] as number;
    if (isCall[entry] === 1) {
      const op = ops[index] as Operation<Input, Output>;
      const [legal, nextState] = model.step(state, op.input, op.return === undefined ? undefined : op.output);
      if (legal) {
        setBit(linearized, index, true);
        const key = `${bitsKey(bits16)}\u0001${model.hash(nextState)}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ node: entry, state });
          state = nextState;
          lift(entry);
          if (op.return !== undefined) completedLeft -= 1;
          entry = next[0] as number;
          continue;
        }
        setBit(linearized, index, false);
      }
      entry = next[entry] as number;
      continue;
    }
    // A return: the operation it ends cannot be linearized after the current prefix. Backtrack.
    if (stack.length > longest.length) longest = stack.map((s) => opOf[s.node] as number);
    const top = stack.pop();
    if (top === undefined) return failure(model, part, ops, longest, "not-linearizable");
    const undone = opOf[top.node] as number;
    setBit(linearized, undone, false);
    if ((ops[undone] as Operation<Input, Output>).return !== undefined) completedLeft += 1;
    state = top.state;
    unlift(top.node);
    entry = next[top.node] as number;
  }
  return undefined;
}

function setBit(bits: Uint32Array, index: number, on: boolean): void {
  const word = index >>> 5;
  const mask = 1 << (index & 31);
  bits[word] = on ? (bits[word] as number) | mask : (bits[word] as number) & ~mask;
}

/** The bitset as a compact string (16 bits per character) for the memo set. */
function bitsKey(bits16: Uint16Array): string {
  let out = "";
  for (let i = 0; i < bits16.length; i += 4096) out += String.fromCharCode(...bits16.subarray(i, i + 4096));
  return out;
}

function failure<State, Input, Output>(
  model: Model<State, Input, Output>,
  part: HistoryPart<Input, Output>,
  ops: readonly Operation<Input, Output>[],
  longest: readonly number[],
  reason: "not-linearizable" | "timeout",
): LinearizabilityFailure<Input, Output> {
  const partial = longest.map((i) => ops[i] as Operation<Input, Output>);
  const describeState = (state: State) => model.describeState?.(state) ?? JSON.stringify(state);
  let state = model.init();
  for (const op of partial) state = model.step(state, op.input, op.return === undefined ? undefined : op.output)[1];
  const { key, operations } = part;
  const name = key === "" ? "the history" : `key ${JSON.stringify(key)}`;
  const lines = [
    reason === "timeout"
      ? `linearizability check timed out on ${name} (${operations.length} operations): it may or may not be linearizable`
      : `not linearizable: ${name} (${operations.length} operations)`,
    `longest linearizable prefix found (${partial.length} of ${ops.length} operations):`,
    ...partial.map((op, i) => `  ${i + 1}. ${describeOperation(model, op)}`),
    `  state after it: ${describeState(state)}`,
  ];
  if (reason === "not-linearizable") {
    // The operations that could come next: not in the prefix, called before the earliest return
    // among the rest. None of them leads to a full linearization.
    const inPrefix = new Set(longest);
    const rest = ops.filter((_, i) => !inPrefix.has(i));
    const firstReturn = Math.min(...rest.map((op) => op.return ?? Infinity));
    lines.push("operations that could come next, none of which leads to a linearization:");
    for (const op of rest.filter((o) => o.call <= firstReturn)) {
      const [legal] = model.step(state, op.input, op.return === undefined ? undefined : op.output);
      lines.push(`  ${describeOperation(model, op)}: ${legal ? "legal here, but a dead end later" : "impossible in this state"}`);
    }
  }
  lines.push(describeHistory(operations, { model, title: `history of ${name}` }));
  return { ok: false, reason, key, operations, partialLinearization: partial, explanation: lines.join("\n") };
}
