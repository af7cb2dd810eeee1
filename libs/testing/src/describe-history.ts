// Prints a history of operations as a table with a time line, for failure messages of the
// linearizability checker and for reading histories while debugging.

import { kvModel } from "./kv-model.ts";
import type { Model, Operation } from "./lin-model.ts";

export interface DescribeHistoryOptions<State, Input, Output> {
  /** Describes operations and partitions the history (default: the KV model). */
  readonly model?: Model<State, Input, Output>;
  /** Only the operations of this part (key); default: all. */
  readonly key?: string;
  /** The heading line (default: a count of the operations). */
  readonly title?: string;
  /** Width of the time line column in characters (default 40; 0 leaves it out). */
  readonly timelineWidth?: number;
}

/**
 * One line per operation in order of call time: a time line bar (`[==]`, pending ones run to the
 * right edge as `>`), the client, `[call, return]` and the operation with its output.
 */
export function describeHistory<State, Input, Output>(
  history: readonly Operation<Input, Output>[],
  options: DescribeHistoryOptions<State, Input, Output> = {},
): string {
  const model = options.model ?? (kvModel as unknown as Model<State, Input, Output>);
  let ops = history;
  if (options.key !== undefined) {
    const parts = model.partition?.(history) ?? [{ key: "", operations: history }];
    ops = parts.find((part) => part.key === options.key)?.operations ?? [];
  }
  const sorted = [...ops].sort((a, b) => a.call - b.call || (a.return ?? Infinity) - (b.return ?? Infinity));
  const width = options.timelineWidth ?? 40;
  const start = Math.min(...sorted.map((op) => op.call));
  const end = Math.max(...sorted.flatMap((op) => [op.call, op.return ?? op.call]));
  const column = (time: number) => (end > start ? Math.round(((time - start) / (end - start)) * (width - 1)) : 0);
  const times = sorted.map((op) => `[${op.call}, ${op.return ?? "∞"}]`);
  const clients = sorted.map((op) => `client ${String(op.clientId)}`);
  const timeWidth = Math.max(0, ...times.map((t) => t.length));
  const clientWidth = Math.max(0, ...clients.map((c) => c.length));
  const title = options.title ?? `history (${sorted.length} operations)`;
  const lines = sorted.map((op, i) => {
    let bar = "";
    if (width > 0) {
      const from = column(op.call);
      const to = op.return === undefined ? width - 1 : column(op.return);
      const body = op.return === undefined ? `${"-".repeat(Math.max(0, to - from))}>` : `${"=".repeat(Math.max(0, to - from - 1))}]`;
      bar = `${" ".repeat(from)}${to === from && op.return !== undefined ? "|" : `[${body}`}`.slice(0, width + 1).padEnd(width + 1) + "  ";
    }
    return `  ${bar}${(clients[i] ?? "").padEnd(clientWidth)}  ${(times[i] ?? "").padEnd(timeWidth)}  ${describeOperation(model, op)}`;
  });
  return [`${title}:`, ...lines].join("\n");
}

/** One operation as the model describes it (JSON of input and output without a describer). */
export function describeOperation<State, Input, Output>(model: Model<State, Input, Output>, op: Operation<Input, Output>): string {
  const output = op.return === undefined ? undefined : op.output;
  const text = model.describeOperation?.(op.input, output) ?? `${JSON.stringify(op.input)} → ${output === undefined ? "?" : JSON.stringify(output)}`;
  return op.return === undefined ? `${text} (pending)` : text;
}
