// Evaluates a Telemetry access-log filter (`accessLogging[].filter.expression`, the CEL subset of
// @meshwork/config's parseCelExpression) against one finished request. Compiled once per config
// into a tree of closures; evaluating allocates nothing. As in Envoy's CEL filter, an error (a
// header the request does not have) makes the expression false unless `||`/`&&` decide without it.
import { parseCelExpression, type CelAttribute, type CelComparison, type CelNode } from "@meshwork/config/cel-expression";

/** What a filter reads of a finished request; the sidecar's access-log record provides it. */
export interface LogFilterInput {
  /** `request.method`. */
  readonly method: string;
  /** `request.path`: the target as received, query included. */
  readonly path: string;
  /** `request.host`: `:authority` / Host. */
  readonly authority: string;
  /** `request.protocol`: `HTTP/1.1`, `HTTP/2`; "" for TCP. */
  readonly protocol: string;
  /** `request.id`: x-request-id. */
  readonly requestId: string;
  /** `request.useragent`. */
  readonly userAgent: string;
  /** `response.code`: 0 when no response was sent. */
  readonly responseCode: number;
  /** `response.flags`: the proxy's response-flag bits, 0 for none. */
  readonly responseFlags: number;
  /** `response.code_details`. */
  readonly responseCodeDetails: string;
  /** `request.duration`, ms. */
  readonly durationMs: number;
  /** `request.size`: request body bytes. */
  readonly bytesReceived: number;
  /** `response.size`: response body bytes. */
  readonly bytesSent: number;
  /** `upstream.address`: `ip:port` of the endpoint, "" when none. */
  readonly upstreamHost: string;
  /** `connection.requested_server_name`: the TLS SNI, "" when none. */
  readonly requestedServerName: string;
  /** `connection.mtls`: the client connection is mutual TLS with a verified peer. */
  readonly mtls: boolean;
  /** `request.headers[name]` (name lower-case); undefined when the request has no such header. */
  header(name: string): string | undefined;
}

/** A compiled filter: true = log the request. */
export type LogFilter = (input: LogFilterInput) => boolean;

/** Evaluation error (CEL's "no such key"): absorbed by `||` and `&&` where the other side decides. */
const ERROR = Symbol("cel-error");
type Value = number | string | boolean | typeof ERROR;
type Evaluate = (input: LogFilterInput) => Value;

const attributes: { readonly [A in CelAttribute]: (input: LogFilterInput) => number | string | boolean } = {
  "request.method": (i) => i.method,
  "request.path": (i) => i.path,
  "request.url_path": (i) => {
    const q = i.path.indexOf("?");
    return q < 0 ? i.path : i.path.slice(0, q);
  },
  "request.host": (i) => i.authority,
  "request.protocol": (i) => i.protocol,
  "request.id": (i) => i.requestId,
  "request.useragent": (i) => i.userAgent,
  "request.duration": (i) => i.durationMs,
  "request.size": (i) => i.bytesReceived,
  "response.code": (i) => i.responseCode,
  "response.code_details": (i) => i.responseCodeDetails,
  "response.flags": (i) => i.responseFlags,
  "response.size": (i) => i.bytesSent,
  "connection.mtls": (i) => i.mtls,
  "connection.requested_server_name": (i) => i.requestedServerName,
  "upstream.address": (i) => i.upstreamHost,
};

function compileNode(node: CelNode): Evaluate {
  switch (node.type) {
    case "literal": {
      const value = node.value;
      return () => value;
    }
    case "attribute":
      return attributes[node.name];
    case "header": {
      const name = node.name;
      return (i) => i.header(name) ?? ERROR;
    }
    case "not": {
      const operand = compileNode(node.operand);
      return (i) => {
        const v = operand(i);
        return v === ERROR ? ERROR : !v;
      };
    }
    case "and": {
      const left = compileNode(node.left);
      const right = compileNode(node.right);
      // CEL's commutative logic: false wins over an error on either side.
      return (i) => {
        const l = left(i);
        if (l === false) return false;
        const r = right(i);
        if (r === false) return false;
        return l === ERROR || r === ERROR ? ERROR : true;
      };
    }
    case "or": {
      const left = compileNode(node.left);
      const right = compileNode(node.right);
      return (i) => {
        const l = left(i);
        if (l === true) return true;
        const r = right(i);
        if (r === true) return true;
        return l === ERROR || r === ERROR ? ERROR : false;
      };
    }
    case "compare": {
      const left = compileNode(node.left);
      const right = compileNode(node.right);
      const compare = comparisons[node.op];
      return (i) => {
        const l = left(i);
        const r = right(i);
        return l === ERROR || r === ERROR ? ERROR : compare(l, r);
      };
    }
  }
}

// Operands have the same type (checked at parse time); < on strings is CEL's lexicographic order.
const comparisons: Readonly<Record<CelComparison, (a: number | string | boolean, b: number | string | boolean) => boolean>> = {
  "==": (a, b) => a === b,
  "!=": (a, b) => a !== b,
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
};

export type CompileLogFilterResult = { readonly ok: true; readonly filter: LogFilter } | { readonly ok: false; readonly message: string };

/**
 * Compiles `expression` (validated with the resource, so failure means a config that bypassed
 * validation). An expression that errors at run time (a missing header) logs nothing, as Envoy's.
 */
export function compileLogFilter(expression: string): CompileLogFilterResult {
  const parsed = parseCelExpression(expression);
  if (!parsed.ok) return { ok: false, message: `access-log filter ${JSON.stringify(expression)}: column ${parsed.column}: ${parsed.message}` };
  const evaluate = compileNode(parsed.expression);
  return { ok: true, filter: (input) => evaluate(input) === true };
}
