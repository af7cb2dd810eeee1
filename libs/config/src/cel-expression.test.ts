import { describe, expect, it } from "vitest";
import { celLiteralText, parseCelExpression, type CelNode } from "./cel-expression.ts";

/** The parsed tree as compact text, to compare structure without positions. */
function show(node: CelNode): string {
  switch (node.type) {
    case "literal":
      return node.valueType === "string" ? JSON.stringify(node.value) : node.valueType === "duration" ? `${String(node.value)}ms` : String(node.value);
    case "attribute":
      return node.name;
    case "header":
      return `headers[${node.name}]`;
    case "not":
      return `!(${show(node.operand)})`;
    case "compare":
      return `(${show(node.left)} ${node.op} ${show(node.right)})`;
    default:
      return `(${show(node.left)} ${node.type === "and" ? "&&" : "||"} ${show(node.right)})`;
  }
}

function parsed(text: string): string {
  const result = parseCelExpression(text);
  if (!result.ok) throw new Error(`column ${result.column}: ${result.message}`);
  return show(result.expression);
}

function failure(text: string): string {
  const result = parseCelExpression(text);
  if (result.ok) throw new Error(`${text} parsed`);
  return `${result.column}: ${result.message}`;
}

describe("parseCelExpression", () => {
  it.each([
    ["response.code >= 400", "(response.code >= 400)"],
    ["response.code >= 400 && request.method == 'GET'", '((response.code >= 400) && (request.method == "GET"))'],
    ["true || false && false", "(true || (false && false))"],
    ["!(response.code < 500) || connection.mtls", "(!((response.code < 500)) || connection.mtls)"],
    ["request.headers['X-User'] == \"admin\"", '(headers[x-user] == "admin")'],
    ["request.duration > duration('1.5s')", "(request.duration > 1500ms)"],
    ["response.code == 200u", "(response.code == 200)"],
    ["response.flags != 0 && request.path != '/healthz'", '((response.flags != 0) && (request.path != "/healthz"))'],
    ["request.size > -1", "(request.size > -1)"],
    ["connection.mtls == false", "(connection.mtls == false)"],
  ])("parses %s", (text, tree) => {
    expect(parsed(text)).toBe(tree);
  });

  it.each([
    ["response.code >= ", "18: the expression ends where a value was expected"],
    ["response.code = 400", "15: unexpected character \"=\" (write == to compare)"],
    ["response.cod >= 400", "1: unknown attribute response.cod (did you mean response.code?)"],
    ["response.code >= '400'", "15: cannot compare int with string using >="],
    ["response.code", "1: the expression is a int, but a filter must be true or false (e.g. response.code >= 400)"],
    ["request.method.startsWith('G')", "16: function startsWith() is not supported"],
    ["size(request.path) > 1", "1: function size() is not supported"],
    ["response.code >= 400 &&", "24: the expression ends where a value was expected"],
    ["(response.code >= 400", "22: expected \")\" but found the end of the expression"],
    ["request.method == 'GET", "19: unterminated string"],
    ["response.code > 1.5", "18: floating-point numbers are not supported"],
    ["response.code in [500, 503]", "15: unexpected \"in\" after a complete expression"],
    ["request.headers == 'x'", "1: request.headers is a map: index it, e.g. request.headers['x-user'] == 'admin'"],
    ["response.code[0] == 1", "14: response.code cannot be indexed; only request.headers['name'] can"],
    ["200 < response.code < 300", "21: comparisons do not chain; join them with && and parentheses"],
    ["connection.mtls > true", "17: > does not apply to bool values"],
    ["response.code && true", "1: && needs bool operands, not int"],
    ["request.duration > duration('soon')", "29: \"soon\" is not a duration; write e.g. '1.5s', '250ms' or '1m'"],
  ])("rejects %s at the column of the problem", (text, message) => {
    expect(failure(text)).toBe(message);
  });
});

describe("celLiteralText", () => {
  it("reads quoted and integer literals and nothing else", () => {
    expect(celLiteralText("'canary'")).toBe("canary");
    expect(celLiteralText('"v2"')).toBe("v2");
    expect(celLiteralText("42")).toBe("42");
    expect(celLiteralText("request.host")).toBeUndefined();
    expect(celLiteralText("canary")).toBeUndefined();
    expect(celLiteralText("'a' + 'b'")).toBeUndefined();
  });
});
