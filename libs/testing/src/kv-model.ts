// The sequential specification of a key-value store with get, put, delete, compare-and-set and
// append, partitioned per key: the model the registry's KV histories are checked against.

import type { HistoryPart, Model, Operation } from "./lin-model.ts";

/** A KV operation's input. For `cas`, `expected: null` means "only if the key is absent". */
export type KvInput =
  | { readonly op: "get"; readonly key: string }
  | { readonly op: "put"; readonly key: string; readonly value: string }
  | { readonly op: "delete"; readonly key: string }
  | { readonly op: "cas"; readonly key: string; readonly expected: string | null; readonly value: string }
  | { readonly op: "append"; readonly key: string; readonly value: string };

/** A KV operation's output: `value` for get (null when absent), `ok` for cas; nothing for the rest. */
export interface KvOutput {
  readonly value?: string | null;
  readonly ok?: boolean;
}

/** The value of one key; null when absent. */
export type KvState = string | null;

export type KvOperation = Operation<KvInput, KvOutput>;

/**
 * Runs `input` against a plain in-memory store, the sequential specification as an executor:
 * what a simulated KV server applies, and what reference histories are generated with.
 */
export function applyKvInput(store: Map<string, string>, input: KvInput): KvOutput {
  const current = store.get(input.key) ?? null;
  switch (input.op) {
    case "get":
      return { value: current };
    case "put":
      store.set(input.key, input.value);
      return {};
    case "delete":
      store.delete(input.key);
      return {};
    case "append":
      store.set(input.key, (current ?? "") + input.value);
      return {};
    case "cas":
      if (current !== input.expected) return { ok: false };
      store.set(input.key, input.value);
      return { ok: true };
  }
}

/** The KV model: partitioned by key, so its state is the value of a single key. */
export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.op) {
      case "get":
        if (output === undefined) return [true, state];
        if (output.value === undefined) throw new Error(`get(${input.key}) returned no value field (use null for absent)`);
        return [output.value === state, state];
      case "put":
        return [true, input.value];
      case "delete":
        return [true, null];
      case "append":
        return [true, (state ?? "") + input.value];
      case "cas": {
        const matches = state === input.expected;
        const next = matches ? input.value : state;
        if (output === undefined) return [true, next];
        if (output.ok === undefined) throw new Error(`cas(${input.key}) returned no ok field`);
        return [output.ok === matches, next];
      }
    }
  },
  hash: (state) => (state === null ? "\u0000" : `=${state}`),
  partition(history) {
    const byKey = new Map<string, KvOperation[]>();
    for (const operation of history) {
      const list = byKey.get(operation.input.key);
      if (list === undefined) byKey.set(operation.input.key, [operation]);
      else list.push(operation);
    }
    return [...byKey.keys()].sort().map((key): HistoryPart<KvInput, KvOutput> => ({ key, operations: byKey.get(key) ?? [] }));
  },
  isReadOnly: (input) => input.op === "get",
  describeOperation(input, output) {
    const q = (value: string | null | undefined) => (value === undefined ? "?" : value === null ? "absent" : JSON.stringify(value));
    switch (input.op) {
      case "get":
        return `get(${input.key}) → ${q(output?.value)}`;
      case "put":
        return `put(${input.key}, ${q(input.value)})`;
      case "delete":
        return `delete(${input.key})`;
      case "append":
        return `append(${input.key}, ${q(input.value)})`;
      case "cas":
        return `cas(${input.key}, ${q(input.expected)} → ${q(input.value)}) → ${output?.ok === undefined ? "?" : String(output.ok)}`;
    }
  },
  describeState: (state) => (state === null ? "absent" : JSON.stringify(state)),
};
