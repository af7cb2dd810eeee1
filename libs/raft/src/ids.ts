// Branded identifiers of the Raft core: node ids, terms and log indexes are plain strings and
// numbers at run time, but the type checker keeps them apart so a term is never passed as an index.

declare const nodeIdBrand: unique symbol;
declare const termBrand: unique symbol;
declare const logIndexBrand: unique symbol;

/** The id of one Raft peer; any non-empty string, stable for the life of the peer. */
export type NodeId = string & { readonly [nodeIdBrand]: true };
/** A Raft term (Raft §5.1): a logical clock that only grows; 0 before the first election. */
export type Term = number & { readonly [termBrand]: true };
/** A position in the replicated log, 1-based; 0 means "before the first entry". */
export type LogIndex = number & { readonly [logIndexBrand]: true };

/** Makes a `NodeId`; throws `RangeError` on the empty string. */
export function nodeId(value: string): NodeId {
  if (value.length === 0) throw new RangeError("a node id must be a non-empty string");
  return value as NodeId;
}

/** Makes a `Term`; throws `RangeError` unless `value` is a non-negative safe integer. */
export function term(value: number): Term {
  checkCount(value, "term");
  return value as Term;
}

/** Makes a `LogIndex`; throws `RangeError` unless `value` is a non-negative safe integer. */
export function logIndex(value: number): LogIndex {
  checkCount(value, "log index");
  return value as LogIndex;
}

function checkCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`a ${what} must be a non-negative safe integer, got ${value}`);
  }
}
