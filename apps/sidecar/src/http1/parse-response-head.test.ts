// Response-head parsing, data-driven: the framing of the body that follows (RFC 9112 §6.3), when
// the upstream connection can carry another request, and the heads refused as a protocol error
// (Envoy answers 502 UPE for them).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseResponseHead, type ResponseHead } from "./parse-response-head.ts";

const parse = (text: string, method = "GET") => parseResponseHead(Buffer.from(text, "latin1"), method);

function accepted(text: string, method = "GET"): ResponseHead {
  const result = parse(text, method);
  if (result === undefined) throw new Error("head incomplete");
  if (typeof result === "string") throw new Error(`refused: ${result}`);
  return result;
}

describe("parseResponseHead frames", () => {
  it.each([
    ["Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "GET", { status: 200, framing: "length", contentLength: 5, reusable: true }],
    ["zero Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "GET", { framing: "length", contentLength: 0, reusable: true }],
    ["chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", { framing: "chunked", contentLength: -1, reusable: true }],
    ["no length: until close, not reusable", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", "GET", { framing: "close", reusable: false }],
    ["a coding without chunked: until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "GET", { framing: "close", reusable: false }],
    ["Connection: close", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n", "GET", { framing: "length", reusable: false }],
    ["HTTP/1.0 closes by default", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", "GET", { minorVersion: 0, reusable: false }],
    ["HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n", "GET", { reusable: true }],
    ["204 has no body whatever it says", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", "GET", { framing: "none", reusable: true }],
    ["304 has no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", "GET", { framing: "none" }],
    ["a response to HEAD has no body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD", { framing: "none", contentLength: -1, reusable: true }],
    ["100 Continue is interim", "HTTP/1.1 100 Continue\r\n\r\n", "POST", { status: 100, framing: "none" }],
    ["101 Switching Protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", "GET", { status: 101, framing: "none" }],
    ["a status line without a reason phrase", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", "GET", { status: 200 }],
    ["an unknown status", "HTTP/1.1 599 Whatever\r\nContent-Length: 0\r\n\r\n", "GET", { status: 599 }],
    ["identical repeated Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", "GET", { contentLength: 3 }],
  ] as const)("%s", (_name, head, method, expected) => {
    const parsed = accepted(head, method);
    expect(parsed).toMatchObject(expected);
    expect(parsed.headBytes).toBe(head.length);
  });

  it("keeps names lowercase and values trimmed, in order", () => {
    const parsed = accepted("HTTP/1.1 200 OK\r\nX-A:  1 \r\nSet-Cookie: a\r\nset-cookie: b\r\nContent-Length: 0\r\n\r\n");
    expect(parsed.names).toEqual(["x-a", "set-cookie", "set-cookie", "content-length"]);
    expect(parsed.values).toEqual(["1", "a", "b", "0"]);
  });

  it("cuts the lines not to forward — hop-by-hop, metadata exchange, the upstream's service time — from the raw head and from the names", () => {
    const head = "HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nx-envoy-upstream-service-time: 7\r\nx-envoy-peer-metadata: abc\r\nContent-Length: 0\r\n\r\n";
    const parsed = accepted(head);
    const cut = parsed.hopByHop;
    let kept = "";
    let from = 0;
    for (let i = 0; i < cut.length; i += 2) {
      kept += head.slice(from, cut[i]);
      from = cut[i + 1] as number;
    }
    kept += head.slice(from);
    expect(kept).toBe("HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n");
    expect(parsed.names).toEqual(["x-a", "content-length"]);
    expect(parsed.values).toEqual(["1", "0"]);
  });

  it("waits for more bytes while the head is incomplete", () => {
    for (const partial of ["", "HTTP/1.1", "HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r"]) {
      expect(parse(partial), JSON.stringify(partial)).toBeUndefined();
    }
  });
});

describe("parseResponseHead refuses", () => {
  it.each([
    ["a status line that is not HTTP", "ICY 200 OK\r\n\r\n"],
    ["garbage", "garbage\r\n\r\n"],
    ["HTTP/2 in a status line", "HTTP/2 200 OK\r\n\r\n"],
    ["HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n"],
    ["a non-numeric status", "HTTP/1.1 abc OK\r\n\r\n"],
    ["a two-digit status", "HTTP/1.1 20 OK\r\n\r\n"],
    ["a status below 100", "HTTP/1.1 099 OK\r\n\r\n"],
    ["a status in exponent notation", "HTTP/1.1 1e2 OK\r\nContent-Length: 0\r\n\r\n"],
    ["a four-digit status", "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"],
    ["differing Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"],
    ["a negative Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"],
    ["a bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"],
    ["a header line without a colon", "HTTP/1.1 200 OK\r\nnocolon\r\n\r\n"],
    ["obs-fold", "HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 0\r\n\r\n"],
    // Envoy refuses both by default (http1 allow_chunked_length false): the body could be framed either way.
    ["both Content-Length and Transfer-Encoding", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"],
    // "Content-Length : 5" is not a Content-Length to us but is one to a lenient client: response splitting.
    ["whitespace before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n"],
  ])("%s", (_name, head) => {
    expect(typeof parse(head)).toBe("string");
  });

  it("a head larger than 60 KiB", () => {
    expect(parse(`HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(61 * 1024)}`)).toBe("response headers too large");
  });
});

/**
 * What the parser must decide, written the simple way (split into lines, regular expressions) as
 * RFC 9112 §4, §5 and §6.3 say it: refused or not, and for an accepted head its framing, length,
 * reuse, the lines cut and the names and values kept.
 */
function reference(text: string, method: string): "refused" | Omit<ResponseHead, "headBytes"> {
  const headLength = text.indexOf("\r\n\r\n") + 4;
  const head = text.slice(0, headLength);
  // eslint-disable-next-line no-control-regex -- NUL, bare CR and bare LF are what is refused
  if (/\x00|\r(?!\n)|(?<!\r)\n/.test(head)) return "refused";
  const lines = head.slice(0, -4).split("\r\n");
  const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] as string);
  if (!statusLine || Number(statusLine[2]) < 100) return "refused";
  const minorVersion = Number(statusLine[1]);
  const status = Number(statusLine[2]);
  const lengths: string[] = [];
  const codings: string[] = [];
  const connection: string[] = [];
  const hopByHop: number[] = [];
  const names: string[] = [];
  const values: string[] = [];
  let at = (lines[0] as string).length + 2;
  for (const line of lines.slice(1)) {
    const field = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):(.*)$/.exec(line);
    if (!field) return "refused";
    const name = (field[1] as string).toLowerCase();
    const value = (field[2] as string).replace(/^[ \t]+|[ \t]+$/g, "");
    if (name === "content-length") lengths.push(...value.split(",").map((v) => v.trim()));
    if (name === "transfer-encoding") codings.push(...value.toLowerCase().split(",").map((v) => v.trim()));
    if (name === "connection") connection.push(...value.toLowerCase().split(",").map((v) => v.trim()));
    if (["connection", "keep-alive", "proxy-connection", "x-envoy-peer-metadata", "x-envoy-peer-metadata-id", "x-envoy-upstream-service-time"].includes(name)) {
      hopByHop.push(at, at + line.length + 2);
    } else {
      names.push(name);
      values.push(value);
    }
    at += line.length + 2;
  }
  if (lengths.some((l) => !/^\d{1,15}$/.test(l) || l !== lengths[0])) return "refused";
  if (lengths.length > 0 && codings.length > 0) return "refused";
  const contentLength = lengths.length > 0 ? Number(lengths[0]) : -1;
  const keepAlive = minorVersion === 1 ? !connection.includes("close") : connection.includes("keep-alive");
  const framing =
    status < 200 || status === 204 || status === 304 || method === "HEAD" ? "none" : codings.length > 0 ? (codings.at(-1) === "chunked" ? "chunked" : "close") : contentLength >= 0 ? "length" : "close";
  return { status, minorVersion, framing, contentLength: framing === "length" ? contentLength : -1, reusable: keepAlive && framing !== "close", hopByHop, names, values };
}

describe("parseResponseHead against the reference", () => {
  const name = fc.constantFrom("Content-Length", "content-length", "CONTENT-LENGTH", "Transfer-Encoding", "Connection", "connection", "Keep-Alive", "Proxy-Connection", "x-envoy-peer-metadata", "X-Envoy-Peer-Metadata-Id", "x-envoy-upstream-service-time", "Content-Type", "Date", "X-A", "Content-Length ", " X-B", "X_C", "");
  const value = fc.constantFrom("", "5", " 5 ", "5, 5", "5,6", "-1", "0012", "1234567890123456", "chunked", "gzip, chunked", "chunked, gzip", "close", "Keep-Alive", "keep-alive, Upgrade", "CLOSE", "a\tb", "x\ny", "x\ry", "x\u0000y", "text/plain");
  const statusLine = fc.constantFrom("HTTP/1.1 200 OK", "HTTP/1.0 200 OK", "HTTP/1.1 204 No Content", "HTTP/1.1 304", "HTTP/1.1 101 Switching", "HTTP/1.1 100 Continue", "HTTP/1.1 099 Low", "HTTP/1.2 200 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 20x OK", "HTTP/1.1 500 Ünïcode");
  const line = fc.tuple(name, fc.constantFrom(":", ": ", " :", ""), value).map(([n, sep, v]) => `${n}${sep}${v}`);

  it("accepts, refuses and frames every generated head as the reference does", () => {
    fc.assert(
      fc.property(statusLine, fc.array(line, { maxLength: 6 }), fc.constantFrom("GET", "HEAD"), (status, lines, method) => {
        const text = `${[status, ...lines].join("\r\n")}\r\n\r\n`;
        const expected = reference(text, method);
        const parsed = parse(text, method);
        if (expected === "refused") {
          expect(typeof parsed, text).toBe("string");
          return;
        }
        if (parsed === undefined || typeof parsed === "string") throw new Error(`${JSON.stringify(text)} refused: ${String(parsed)}`);
        expect({ ...pick(parsed), names: parsed.names, values: parsed.values }, text).toEqual(expected);
        expect(parsed.headBytes).toBe(text.indexOf("\r\n\r\n") + 4);
      }),
      { numRuns: 3000 },
    );
  });
});

function pick(head: ResponseHead) {
  const { status, minorVersion, framing, contentLength, reusable, hopByHop } = head;
  return { status, minorVersion, framing, contentLength, reusable, hopByHop: [...hopByHop] };
}
