// The vocabulary of the linearizability checker: a history of timed operations, and the
// sequential specification (model) they are checked against, in the shape Porcupine uses.

/**
 * One operation of a concurrent history. `call` and `return` are times on one clock (real or
 * simulated; any unit). An operation with `return: undefined` is pending: its client crashed or gave
 * up, so it may have taken effect at any time after `call`, or never; its `output` is ignored.
 */
export interface Operation<Input, Output> {
  readonly clientId: string | number;
  readonly input: Input;
  readonly call: number;
  readonly return: number | undefined;
  readonly output?: Output | undefined;
}

/** An independent part of a history (e.g. the operations on one key) and the name it is reported by. */
export interface HistoryPart<Input, Output> {
  readonly key: string;
  readonly operations: readonly Operation<Input, Output>[];
}

/**
 * A sequential specification. The checker looks for an order of the operations that respects
 * real time (an operation that returned before another was called comes first) and in which every
 * step is legal from the model's state (the definition of Herlihy & Wing 1990).
 */
export interface Model<State, Input, Output> {
  /** The state before any operation. */
  init(): State;
  /**
   * Applies `input` to `state`: whether `output` is a legal result from `state`, and the state
   * after it. `output` is undefined for a pending operation: accept any result then. Must not
   * mutate `state` (the search backtracks to it).
   */
  step(state: State, input: Input, output: Output | undefined): readonly [boolean, State];
  /** A string equal for equal states, and only for them: the search memoizes on it. */
  hash(state: State): string;
  /**
   * Splits a history into parts that can be checked alone because they share no state, such as
   * one part per key (locality: a history is linearizable iff each object's is, the locality theorem of
   * Herlihy & Wing 1990). Default: one part, key "".
   */
  partition?(history: readonly Operation<Input, Output>[]): HistoryPart<Input, Output>[];
  /** True for inputs whose step never changes the state; pending ones are then skipped. */
  isReadOnly?(input: Input): boolean;
  /** One operation for messages, e.g. `get(x) → "a"`; `output` undefined when pending. */
  describeOperation?(input: Input, output: Output | undefined): string;
  /** A state for messages. */
  describeState?(state: State): string;
}
