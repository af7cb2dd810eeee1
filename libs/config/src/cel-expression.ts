// The subset of CEL (Common Expression Language, github.com/google/cel-spec) that Meshwork
// evaluates in Telemetry access-log filters (`accessLogging[].filter.expression`): literals,
// request/response/connection attributes as Envoy names them, comparisons and boolean logic.
// Parsing and type checking happen once at config time; an expression outside the subset is a
// validation error naming the column. Evaluation lives in proxy-core (compileLogFilter).
import { closestName } from "./closest-name.ts";

/** The value types of the subset. Durations are milliseconds (`duration('1.5s')`, `request.duration`). */
export type CelType = "int" | "string" | "bool" | "duration";

/** Attributes an expression may read, with their types (Envoy's attribute names). */
export const celAttributes = {
  "request.method": "string",
  "request.path": "string",
  "request.url_path": "string",
  "request.host": "string",
  "request.protocol": "string",
  "request.id": "string",
  "request.useragent": "string",
  "request.duration": "duration",
  "request.size": "int",
  "response.code": "int",
  "response.code_details": "string",
  "response.flags": "int",
  "response.size": "int",
  "connection.mtls": "bool",
  "connection.requested_server_name": "string",
  "upstream.address": "string",
} as const satisfies Record<string, CelType>;

export type CelAttribute = keyof typeof celAttributes;

export type CelComparison = "==" | "!=" | "<" | "<=" | ">" | ">=";

/** A parsed, type-checked expression. `at` is the 0-based offset in the source text. */
export type CelNode =
  | { readonly type: "literal"; readonly valueType: CelType; readonly value: number | string | boolean; readonly at: number }
  | { readonly type: "attribute"; readonly name: CelAttribute; readonly at: number }
  /** `request.headers['name']` (the name lower-cased, as Envoy keys headers). */
  | { readonly type: "header"; readonly name: string; readonly at: number }
  | { readonly type: "not"; readonly operand: CelNode; readonly at: number }
  | { readonly type: "and" | "or"; readonly left: CelNode; readonly right: CelNode; readonly at: number }
  | { readonly type: "compare"; readonly op: CelComparison; readonly left: CelNode; readonly right: CelNode; readonly at: number };

export type CelParseResult =
  | { readonly ok: true; readonly expression: CelNode }
  /** `column` is 1-based, for messages. */
  | { readonly ok: false; readonly column: number; readonly message: string };

/** One line describing what the subset accepts, for hints. */
export const celSubsetSummary =
  "Meshwork evaluates a CEL subset: int, string and bool literals, duration('1s'), the attributes " +
  `${Object.keys(celAttributes).join(", ")} and request.headers['name'], ` +
  "the operators == != < <= > >= && || ! and parentheses";

type Token =
  | { readonly kind: "int"; readonly value: number; readonly at: number }
  | { readonly kind: "string"; readonly value: string; readonly at: number }
  | { readonly kind: "ident"; readonly value: string; readonly at: number }
  | { readonly kind: "op"; readonly value: string; readonly at: number }
  | { readonly kind: "end"; readonly value: ""; readonly at: number };

class CelSyntaxError extends Error {
  readonly at: number;
  constructor(at: number, message: string) {
    super(message);
    this.at = at;
  }
}

const operators = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ".", ",", "-"];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    if (c >= "0" && c <= "9") {
      const start = i;
      while (i < text.length && (text[i] as string) >= "0" && (text[i] as string) <= "9") i++;
      const value = Number(text.slice(start, i));
      if (text[i] === "u" || text[i] === "U") i++; // uint literal: 200u
      if (!Number.isSafeInteger(value)) throw new CelSyntaxError(start, `integer ${text.slice(start, i)} is too large`);
      if (text[i] === ".") throw new CelSyntaxError(i, "floating-point numbers are not supported");
      tokens.push({ kind: "int", value, at: start });
      continue;
    }
    if (c === "'" || c === '"') {
      const start = i;
      i++;
      let value = "";
      for (;;) {
        if (i >= text.length || text[i] === "\n") throw new CelSyntaxError(start, "unterminated string");
        const d = text[i] as string;
        if (d === c) {
          i++;
          break;
        }
        if (d === "\\") {
          const e = text[i + 1];
          const escaped = e === "n" ? "\n" : e === "t" ? "\t" : e === "r" ? "\r" : e === "\\" || e === "'" || e === '"' ? e : undefined;
          if (escaped === undefined) throw new CelSyntaxError(i, `unsupported escape \\${e ?? ""}`);
          value += escaped;
          i += 2;
          continue;
        }
        value += d;
        i++;
      }
      tokens.push({ kind: "string", value, at: start });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i] as string)) i++;
      tokens.push({ kind: "ident", value: text.slice(start, i), at: start });
      continue;
    }
    const op = operators.find((o) => text.startsWith(o, i));
    if (op === undefined) {
      const hint = c === "=" ? " (write == to compare)" : c === "&" ? " (write &&)" : c === "|" ? " (write ||)" : "";
      throw new CelSyntaxError(i, `unexpected character ${JSON.stringify(c)}${hint}`);
    }
    tokens.push({ kind: "op", value: op, at: i });
    i += op.length;
  }
  tokens.push({ kind: "end", value: "", at: text.length });
  return tokens;
}

/** Recursive descent over CEL's precedence: || < && < relations < ! and unary minus < primary. */
class Parser {
  readonly #tokens: Token[];
  #next = 0;
  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  parse(): CelNode {
    const node = this.#or();
    const rest = this.#peek();
    if (rest.kind !== "end") throw new CelSyntaxError(rest.at, `unexpected ${describe(rest)} after a complete expression`);
    return node;
  }

  #peek(): Token {
    return this.#tokens[this.#next] as Token;
  }

  #take(): Token {
    return this.#tokens[this.#next++] as Token;
  }

  #isOp(value: string): boolean {
    const t = this.#peek();
    return t.kind === "op" && t.value === value;
  }

  #expect(value: string): Token {
    const t = this.#take();
    if (t.kind !== "op" || t.value !== value) throw new CelSyntaxError(t.at, `expected "${value}" but found ${describe(t)}`);
    return t;
  }

  #or(): CelNode {
    let left = this.#and();
    while (this.#isOp("||")) {
      const at = this.#take().at;
      left = { type: "or", left: expectBool(left, "||"), right: expectBool(this.#and(), "||"), at };
    }
    return left;
  }

  #and(): CelNode {
    let left = this.#relation();
    while (this.#isOp("&&")) {
      const at = this.#take().at;
      left = { type: "and", left: expectBool(left, "&&"), right: expectBool(this.#relation(), "&&"), at };
    }
    return left;
  }

  #relation(): CelNode {
    const left = this.#unary();
    const t = this.#peek();
    if (t.kind !== "op" || !["==", "!=", "<", "<=", ">", ">="].includes(t.value)) return left;
    this.#take();
    const op = t.value as CelComparison;
    const right = this.#unary();
    const lt = typeOf(left);
    const rt = typeOf(right);
    if (lt !== rt) throw new CelSyntaxError(t.at, `cannot compare ${lt} with ${rt} using ${op}`);
    if (lt === "bool" && op !== "==" && op !== "!=") throw new CelSyntaxError(t.at, `${op} does not apply to bool values`);
    const next = this.#peek();
    if (next.kind === "op" && ["==", "!=", "<", "<=", ">", ">="].includes(next.value)) {
      throw new CelSyntaxError(next.at, "comparisons do not chain; join them with && and parentheses");
    }
    return { type: "compare", op, left, right, at: t.at };
  }

  #unary(): CelNode {
    const t = this.#peek();
    if (t.kind === "op" && t.value === "!") {
      this.#take();
      return { type: "not", operand: expectBool(this.#unary(), "!"), at: t.at };
    }
    if (t.kind === "op" && t.value === "-") {
      this.#take();
      const n = this.#take();
      if (n.kind !== "int") throw new CelSyntaxError(t.at, "unary minus applies to integer literals only");
      return { type: "literal", valueType: "int", value: -n.value, at: t.at };
    }
    return this.#primary();
  }

  #primary(): CelNode {
    const t = this.#take();
    switch (t.kind) {
      case "int":
        return { type: "literal", valueType: "int", value: t.value, at: t.at };
      case "string":
        return { type: "literal", valueType: "string", value: t.value, at: t.at };
      case "op":
        if (t.value === "(") {
          const inner = this.#or();
          this.#expect(")");
          return inner;
        }
        throw new CelSyntaxError(t.at, `unexpected ${describe(t)}`);
      case "end":
        throw new CelSyntaxError(t.at, "the expression ends where a value was expected");
      case "ident":
        return this.#identifier(t);
    }
  }

  #identifier(t: Token & { kind: "ident" }): CelNode {
    if (t.value === "true" || t.value === "false") return { type: "literal", valueType: "bool", value: t.value === "true", at: t.at };
    if (t.value === "duration" && this.#isOp("(")) {
      this.#take();
      const arg = this.#take();
      if (arg.kind !== "string") throw new CelSyntaxError(arg.at, "duration() takes a string such as '1.5s' or '250ms'");
      const ms = parseCelDuration(arg.value);
      if (ms === undefined) throw new CelSyntaxError(arg.at, `${JSON.stringify(arg.value)} is not a duration; write e.g. '1.5s', '250ms' or '1m'`);
      this.#expect(")");
      return { type: "literal", valueType: "duration", value: ms, at: t.at };
    }
    if (this.#isOp("(")) throw new CelSyntaxError(t.at, `function ${t.value}() is not supported`);
    let path = t.value;
    for (;;) {
      if (this.#isOp(".")) {
        this.#take();
        const field = this.#take();
        if (field.kind !== "ident") throw new CelSyntaxError(field.at, `expected a field name after "${path}." but found ${describe(field)}`);
        if (this.#isOp("(")) throw new CelSyntaxError(field.at, `function ${field.value}() is not supported`);
        path = `${path}.${field.value}`;
        continue;
      }
      if (this.#isOp("[")) {
        const open = this.#take();
        if (path !== "request.headers") throw new CelSyntaxError(open.at, `${path} cannot be indexed; only request.headers['name'] can`);
        const key = this.#take();
        if (key.kind !== "string") throw new CelSyntaxError(key.at, "request.headers takes a quoted header name, e.g. request.headers['x-user']");
        this.#expect("]");
        return { type: "header", name: key.value.toLowerCase(), at: t.at };
      }
      break;
    }
    if (path in celAttributes) return { type: "attribute", name: path as CelAttribute, at: t.at };
    if (path === "request.headers") throw new CelSyntaxError(t.at, "request.headers is a map: index it, e.g. request.headers['x-user'] == 'admin'");
    const close = closestName(path, [...Object.keys(celAttributes), "request.headers"]);
    throw new CelSyntaxError(t.at, `unknown attribute ${path}${close === undefined ? "" : ` (did you mean ${close}?)`}`);
  }
}

function describe(t: Token): string {
  if (t.kind === "end") return "the end of the expression";
  if (t.kind === "string") return `string ${JSON.stringify(t.value)}`;
  return `"${String(t.value)}"`;
}

/** The result type of a node (nodes are checked as they are built). */
export function celTypeOf(node: CelNode): CelType {
  return typeOf(node);
}

function typeOf(node: CelNode): CelType {
  switch (node.type) {
    case "literal":
      return node.valueType;
    case "attribute":
      return celAttributes[node.name];
    case "header":
      return "string";
    default:
      return "bool";
  }
}

function expectBool(node: CelNode, operator: string): CelNode {
  const type = typeOf(node);
  if (type !== "bool") throw new CelSyntaxError(node.at, `${operator} needs bool operands, not ${type}`);
  return node;
}

/** CEL/protobuf duration text (`1.5s`, `250ms`, `1m30s`, `2h`) in milliseconds; undefined when malformed. */
function parseCelDuration(text: string): number | undefined {
  const part = /(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)/y;
  const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000001 };
  let total = 0;
  let at = 0;
  if (text === "") return undefined;
  while (at < text.length) {
    part.lastIndex = at;
    const match = part.exec(text);
    if (match === null) return undefined;
    total += Number(match[1]) * (unitMs[match[2] as string] as number);
    at = part.lastIndex;
  }
  return total;
}

/**
 * Parses and type-checks `text`: the result must be a bool. Never throws; an error gives the
 * 1-based column and what is wrong (callers add celSubsetSummary as the fix).
 */
export function parseCelExpression(text: string): CelParseResult {
  try {
    const expression = new Parser(tokenize(text)).parse();
    const type = typeOf(expression);
    if (type !== "bool") return { ok: false, column: 1, message: `the expression is a ${type}, but a filter must be true or false (e.g. response.code >= 400)` };
    return { ok: true, expression };
  } catch (error) {
    if (error instanceof CelSyntaxError) return { ok: false, column: error.at + 1, message: error.message };
    throw error;
  }
}

/**
 * The text of a CEL string (or integer) literal such as `'canary'`, as Telemetry tagOverrides
 * values are written; undefined for anything else (an expression over request attributes).
 */
export function celLiteralText(text: string): string | undefined {
  try {
    const tokens = tokenize(text);
    const [first, second] = tokens;
    if (second?.kind !== "end") return undefined;
    return first?.kind === "string" ? first.value : first?.kind === "int" ? String(first.value) : undefined;
  } catch (error) {
    if (error instanceof CelSyntaxError) return undefined;
    throw error;
  }
}
