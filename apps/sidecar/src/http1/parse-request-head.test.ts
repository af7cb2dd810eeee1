// Request-head parsing, data-driven: what is accepted and how it is framed, and every head that
// parsers disagree about (request smuggling, RFC 9112 §6.3 and §11.2) refused with the status
// Envoy answers.
import { describe, expect, it } from "vitest";
import { isHeadError, parseRequestHead, type HeadError, type RequestHead } from "./parse-request-head.ts";

const parse = (text: string) => parseRequestHead(Buffer.from(text, "latin1"));

function accepted(text: string): RequestHead {
  const result = parse(text);
  if (result === undefined) throw new Error("head incomplete");
  if (isHeadError(result)) throw new Error(`refused: ${result.status} ${result.details}`);
  return result;
}

describe("parseRequestHead accepts", () => {
  it.each([
    // [name, head, expected fields]
    ["origin-form GET", "GET /a/b?x=1&y HTTP/1.1\r\nHost: svc.test\r\n\r\n", { method: "GET", path: "/a/b", query: "x=1&y", authority: "svc.test", keepAlive: true, contentLength: -1, chunked: false }],
    ["absolute-form takes the target's authority", "GET http://svc.test:8080/p HTTP/1.1\r\nHost: other\r\n\r\n", { absoluteForm: true, authority: "svc.test:8080", path: "/p", query: "" }],
    ["absolute-form with empty path", "GET http://svc.test HTTP/1.1\r\nHost: svc.test\r\n\r\n", { path: "/", authority: "svc.test" }],
    ["HTTP/1.0 without Host, closes by default", "GET / HTTP/1.0\r\n\r\n", { minorVersion: 0, authority: "", keepAlive: false }],
    ["HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", { keepAlive: true }],
    ["Connection: close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", { keepAlive: false, hasHopByHop: true }],
    ["Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", { contentLength: 5, chunked: false }],
    ["identical repeated Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", { contentLength: 5 }],
    ["Content-Length list of one value", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\r\n\r\n", { contentLength: 7 }],
    ["chunked (case-insensitive)", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", { chunked: true, contentLength: -1, hasHopByHop: true }],
    ["gzip then chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", { chunked: true }],
    ["WebSocket upgrade", "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n", { upgrade: "websocket" }],
    ["Upgrade without Connection: upgrade is ignored", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", { upgrade: undefined }],
    ["Expect: 100-continue", "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", { expectContinue: true }],
    ["OWS around values is trimmed", "GET / HTTP/1.1\r\nHost: \t svc.test \t\r\nX-A:b\r\n\r\n", { authority: "svc.test", values: ["svc.test", "b"] }],
    ["header names are lowercased in order", "GET / HTTP/1.1\r\nHOST: a\r\nX-Foo: 1\r\nx-foo: 2\r\n\r\n", { names: ["host", "x-foo", "x-foo"], values: ["a", "1", "2"] }],
    ["OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", { path: "*", authority: "a" }],
    ["CONNECT authority-form", "CONNECT svc.test:443 HTTP/1.1\r\nHost: svc.test:443\r\n\r\n", { authority: "svc.test:443" }],
  ] as const)("%s", (_name, head, expected) => {
    expect(accepted(head)).toMatchObject(expected);
  });

  it("ends the head at the blank line: pipelined bytes are not part of it", () => {
    const first = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
    const head = accepted(`${first}GET /2 HTTP/1.1\r\nHost: a\r\n\r\n`);
    expect(head.headBytes).toBe(first.length);
    expect(head.path).toBe("/1");
    expect(head.headersStart).toBe("GET /1 HTTP/1.1\r\n".length);
  });

  it("waits for more bytes while the head is incomplete", () => {
    for (const partial of ["", "GET", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r"]) {
      expect(parse(partial), JSON.stringify(partial)).toBeUndefined();
    }
  });
});

describe("parseRequestHead refuses", () => {
  const refusals: [string, string, HeadError["status"]][] = [
    // Smuggling: framing that two parsers could read differently.
    ["Content-Length with Transfer-Encoding (CL.TE)", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["Transfer-Encoding with Content-Length (TE.CL)", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400],
    ["duplicate differing Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400],
    ["Content-Length list with differing values", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400],
    ["signed Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400],
    ["negative Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400],
    ["hex Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400],
    ["Content-Length with inner space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400],
    ["empty Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400],
    ["obs-fold continuation line (SP)", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n", 400],
    ["obs-fold continuation line (HTAB)", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n\ttwo\r\n\r\n", 400],
    ["whitespace before the colon", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400],
    ["tab before the colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400],
    ["whitespace before the first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400],
    ["bare LF ending a header line", "GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n", 400],
    ["bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400],
    ["bare CR inside a header value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", 400],
    ["NUL inside a header value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u0000c\r\n\r\n", 400],
    ["header line without a colon", "GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", 400],
    ["empty header name", "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", 400],
    ["non-token header name", "GET / HTTP/1.1\r\nHost: a\r\nX(A): v\r\n\r\n", 400],
    ["unknown transfer coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501],
    ["chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501],
    ["look-alike coding xchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 501],
    // Request line.
    ["no target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["space inside the target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["garbage request line", "GARBAGE\r\n\r\n", 400],
    ["lowercase protocol", "GET / http/1.1\r\nHost: a\r\n\r\n", 400],
    ["non-token method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["relative target that is not origin-form", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["absolute-form with userinfo", "GET http://u@svc.test/ HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["unsupported HTTP version", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
    // Host.
    ["HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400],
    ["two differing Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
  ];

  it.each(refusals)("%s", (_name, head, status) => {
    const result = parse(head);
    expect(result !== undefined && isHeadError(result) ? result.status : result).toBe(status);
  });

  // RFC 9110 §5.5: field values are VCHAR, obs-text, SP and HTAB; Envoy's codecs refuse other
  // control characters (a backend that strips them sees different bytes than the proxy routed on).
  it.each([
    ["DEL", "\u007f"],
    ["SOH", "\u0001"],
    ["ESC", "\u001b"],
  ])("a header value containing %s → 400", (_name, ctl) => {
    const result = parse(`GET / HTTP/1.1\r\nHost: a\r\nX-A: b${ctl}c\r\n\r\n`);
    expect(result !== undefined && isHeadError(result) ? result.status : result).toBe(400);
  });

  it("a head larger than 60 KiB → 431, whether complete or not", () => {
    const big = `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"a".repeat(61 * 1024)}`;
    expect(parse(big)).toEqual({ status: 431, details: "header_overflow" });
    expect(parse(`${big}\r\n\r\n`)).toEqual({ status: 431, details: "header_overflow" });
  });

  it("a head just under 60 KiB is accepted", () => {
    const prefix = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ";
    const head = `${prefix}${"a".repeat(60 * 1024 - prefix.length - 8)}\r\n\r\n`;
    expect(head.length).toBeLessThanOrEqual(60 * 1024);
    expect(accepted(head).names).toEqual(["host", "x-big"]);
  });

  it("more than 100 headers → 431", () => {
    const headers = Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join("");
    const result = parse(`GET / HTTP/1.1\r\nHost: a\r\n${headers}\r\n`);
    expect(result !== undefined && isHeadError(result) ? result.status : result).toBe(431);
  });
});
