// readCheckResponse on CheckResponses written as an authorizer sends them: snake_case objects
// encoded with the tests' own text of Envoy's protos (tests/support/envoy-ext-authz.proto) and
// decoded with libs/protocol's codec, so the response's field numbers are checked too. The
// expectations follow Envoy's ext_authz_grpc_impl.cc and the HTTP filter's onComplete.
import { ExtAuthzCheckResponse } from "@meshwork/protocol";
import { describe, expect, it } from "vitest";
import { encodeCheckResponse, type Message } from "../../tests/support/ext-authz-grpc-server.ts";
import type { ExternalCheckResult } from "./check-external.ts";
import type { ExtAuthzGrpcProvider } from "./mesh-authz-config.ts";
import { readCheckResponse } from "./read-check-response.ts";

const provider: ExtAuthzGrpcProvider = { type: "grpc", name: "opa", service: "opa", port: 9191, timeoutMs: 1_000, failOpen: false, statusOnError: 403, includeRequestBodyInCheck: undefined };

const requestHeaders = { "x-tenant": "a", authorization: "Bearer t", "x-keep": "1" };

function read(response: Message): ExternalCheckResult {
  return readCheckResponse(provider, ExtAuthzCheckResponse.decode(encodeCheckResponse(response)), requestHeaders);
}

const header = (key: string, value: string, more: Message = {}): Message => ({ header: { key, value }, ...more });

describe("readCheckResponse", () => {
  it("allows on status OK, and on an absent status (code 0), changing nothing without ok_response", () => {
    const unchanged = { allowed: true, upstreamHeaders: [], upstreamHeadersToRemove: [], downstreamHeaders: [], downstreamHeadersToSet: [] };
    expect(read({ status: { code: 0 } })).toEqual(unchanged);
    expect(read({})).toEqual(unchanged);
  });

  it("sets ok_response headers on the upstream request (append unset or false), appends to existing ones, drops appends to absent ones", () => {
    const result = read({
      status: { code: 0 },
      ok_response: {
        headers: [
          header("X-User", "alice"),
          header("x-role", "admin", { append: { value: false } }),
          header("x-tenant", "b", { append: { value: true } }),
          header("x-role", "auditor", { append: { value: true } }),
          header("x-missing", "m", { append: { value: true } }),
          header("x-user", "bob"),
        ],
      },
    });
    expect(result).toMatchObject({
      allowed: true,
      // Every set first (the later x-user wins), then the appends, joined with ",".
      upstreamHeaders: [
        ["x-user", "bob"],
        ["x-role", "admin,auditor"],
        ["x-tenant", "a,b"],
      ],
      upstreamHeadersToRemove: [],
    });
  });

  it("removes headers_to_remove last (also when the response set them), never a pseudo-header or Host", () => {
    const result = read({
      status: { code: 0 },
      ok_response: { headers: [header("authorization", "internal"), header("x-user", "alice")], headers_to_remove: ["Authorization", ":path", "host", "x-keep", "x-keep"] },
    });
    expect(result).toMatchObject({ upstreamHeaders: [["x-user", "alice"]], upstreamHeadersToRemove: ["authorization", "x-keep"] });
  });

  it("adds response_headers_to_add to the client's response: add, set with append false or OVERWRITE_IF_EXISTS_OR_ADD", () => {
    const result = read({
      status: { code: 0 },
      ok_response: {
        response_headers_to_add: [
          header("set-cookie", "a=1"),
          header("set-cookie", "b=2", { append: { value: true } }),
          header("x-cache", "miss", { append: { value: false } }),
          header("x-via", "authz", { append_action: 2 }),
          header("x-first", "1", { append_action: 1 }),
          header("x-only-if-there", "1", { append_action: 3 }),
        ],
      },
    });
    expect(result).toMatchObject({
      downstreamHeaders: [
        ["set-cookie", "a=1"],
        ["set-cookie", "b=2"],
        ["x-first", "1"],
      ],
      downstreamHeadersToSet: [
        ["x-cache", "miss"],
        ["x-via", "authz"],
      ],
    });
  });

  it("drops headers the proxy cannot pass on: bad names, CR/LF in values, pseudo-headers, Host, framing headers", () => {
    const result = read({
      status: { code: 0 },
      ok_response: {
        headers: [header("bad name", "x"), header("x-inject", "a\r\nx-evil: 1"), header(":path", "/admin"), header("host", "evil"), header("content-length", "0"), header("transfer-encoding", "chunked"), header("x-ok", "yes")],
        response_headers_to_add: [header("connection", "close"), header("x-nul", "a\0b")],
      },
    });
    expect(result).toMatchObject({ upstreamHeaders: [["x-ok", "yes"]], downstreamHeaders: [], downstreamHeadersToSet: [] });
  });

  it("denies with denied_response's status, headers and body, flagged UAEX", () => {
    const result = read({
      status: { code: 16, message: "no credentials" },
      denied_response: { status: { code: 401 }, headers: [header("www-authenticate", "Bearer"), header("set-cookie", "a=1"), header("set-cookie", "b=2", { append: { value: true } })], body: "who are you" },
    });
    expect(result).toEqual({
      allowed: false,
      status: 401,
      headers: [
        ["www-authenticate", "Bearer"],
        ["set-cookie", "a=1"],
        ["set-cookie", "b=2"],
      ],
      body: Buffer.from("who are you"),
      flag: "UAEX",
      failed: false,
      reason: "denied by opa with 401 (check status 16 no credentials)",
    });
  });

  it("denies with 403 when the status is not OK and the authorizer names no HTTP status (or one that is no final status)", () => {
    expect(read({ status: { code: 7 } })).toMatchObject({ allowed: false, status: 403, headers: [], body: Buffer.alloc(0), failed: false });
    expect(read({ status: { code: 7 }, denied_response: { body: "no" } })).toMatchObject({ allowed: false, status: 403, body: Buffer.from("no") });
    expect(read({ status: { code: 7 }, denied_response: { status: { code: 302 } } })).toMatchObject({ status: 302 });
    expect(readCheckResponse(provider, ExtAuthzCheckResponse.fromPartial({ status: { code: 7 }, deniedResponse: { status: { code: 1000 } } }), {})).toMatchObject({ status: 403 });
    expect(readCheckResponse(provider, ExtAuthzCheckResponse.fromPartial({ status: { code: 7 }, deniedResponse: { status: { code: 100 } } }), {})).toMatchObject({ status: 403 });
  });

  it("ignores an ok_response when the status denies, and a denied_response when it allows", () => {
    expect(read({ status: { code: 7 }, ok_response: { headers: [header("x-user", "a")] } })).toMatchObject({ allowed: false, status: 403 });
    expect(read({ status: { code: 0 }, denied_response: { status: { code: 401 } } })).toMatchObject({ allowed: true, upstreamHeaders: [] });
  });
});
