import { describe, expect, it } from "vitest";
import { compileLogFilter, type LogFilterInput } from "./compile-log-filter.ts";

function request(overrides: Partial<Omit<LogFilterInput, "header">> & { headers?: Record<string, string> } = {}): LogFilterInput {
  const { headers = {}, ...fields } = overrides;
  return {
    method: "GET",
    path: "/reviews/1?x=1",
    authority: "reviews:9080",
    protocol: "HTTP/1.1",
    requestId: "id-1",
    userAgent: "curl/8",
    responseCode: 200,
    responseFlags: 0,
    responseCodeDetails: "via_upstream",
    durationMs: 12,
    bytesReceived: 0,
    bytesSent: 120,
    upstreamHost: "10.0.0.1:9080",
    requestedServerName: "",
    mtls: false,
    header: (name) => headers[name],
    ...fields,
  };
}

function matches(expression: string, input: LogFilterInput): boolean {
  const compiled = compileLogFilter(expression);
  if (!compiled.ok) throw new Error(compiled.message);
  return compiled.filter(input);
}

describe("compileLogFilter", () => {
  it.each([
    ["response.code >= 400", { responseCode: 503 }, true],
    ["response.code >= 400", { responseCode: 200 }, false],
    ["response.code >= 400", { responseCode: 400 }, true],
    ["response.code != 200 && request.method == 'POST'", { responseCode: 500, method: "POST" }, true],
    ["response.code != 200 && request.method == 'POST'", { responseCode: 500, method: "GET" }, false],
    ["!(response.code < 500) || connection.mtls", { responseCode: 200, mtls: true }, true],
    ["!(response.code < 500) || connection.mtls", { responseCode: 200, mtls: false }, false],
    ["request.url_path == '/reviews/1'", {}, true],
    ["request.path == '/reviews/1'", {}, false],
    ["request.duration > duration('10ms')", { durationMs: 12 }, true],
    ["request.duration > duration('1s')", { durationMs: 12 }, false],
    ["response.flags != 0", { responseFlags: 4 }, true],
    ["request.host == 'reviews:9080' && upstream.address != ''", {}, true],
    ["request.method < 'H'", { method: "GET" }, true],
    ["response.code_details == 'via_upstream' && response.size > 100", {}, true],
  ] as const)("%s on %j is %s", (expression, fields, expected) => {
    expect(matches(expression, request(fields))).toBe(expected);
  });

  it("reads request headers by their lower-case name", () => {
    expect(matches("request.headers['X-Debug'] == '1'", request({ headers: { "x-debug": "1" } }))).toBe(true);
    expect(matches("request.headers['x-debug'] == '1'", request({ headers: { "x-debug": "0" } }))).toBe(false);
  });

  it("treats a missing header as an error that makes the filter false, unless || or && decide without it", () => {
    expect(matches("request.headers['x-debug'] == '1'", request())).toBe(false);
    expect(matches("request.headers['x-debug'] != '1'", request())).toBe(false);
    expect(matches("!(request.headers['x-debug'] == '1')", request())).toBe(false);
    expect(matches("request.headers['x-debug'] == '1' || response.code == 200", request())).toBe(true);
    expect(matches("response.code == 200 || request.headers['x-debug'] == '1'", request())).toBe(true);
    expect(matches("request.headers['x-debug'] == '1' && response.code == 500", request())).toBe(false);
    expect(matches("request.headers['x-debug'] == '1' && response.code == 200", request())).toBe(false);
  });

  it("reports an expression outside the subset with its column", () => {
    expect(compileLogFilter("response.code >= 400 &&")).toEqual({ ok: false, message: 'access-log filter "response.code >= 400 &&": column 24: the expression ends where a value was expected' });
  });
});
