import { describe, expect, it } from "vitest";
import { isHeadError, parseRequestHead, type RequestHead } from "../http1/parse-request-head.ts";
import { rawHeadWithout, sentPeerMetadataId } from "./exchange.ts";

function parsed(text: string): { head: RequestHead; buffer: Buffer } {
  const buffer = Buffer.from(text, "latin1");
  const head = parseRequestHead(buffer);
  if (head === undefined || isHeadError(head)) throw new Error(`test head did not parse: ${JSON.stringify(head)}`);
  return { head, buffer };
}

describe("rawHeadWithout", () => {
  const head = "GET / HTTP/1.1\r\nhost: a\r\nconnection: x\r\naccept: */*\r\nkeep-alive: 5\r\n\r\n";
  const buffer = Buffer.from(head, "latin1");
  const cut = [head.indexOf("connection"), head.indexOf("accept"), head.indexOf("keep-alive"), head.length - 2];

  it("copies the bytes from `start` without the cut lines, between prefix and tail", () => {
    const out = rawHeadWithout(buffer, 0, head.length - 2, cut, "", "x-added: 1\r\n\r\n");
    expect(out.toString("latin1")).toBe("GET / HTTP/1.1\r\nhost: a\r\naccept: */*\r\nx-added: 1\r\n\r\n");
  });

  it("replaces what comes before `start` with the prefix (a rewritten request line)", () => {
    const out = rawHeadWithout(buffer, head.indexOf("host"), head.length - 2, cut, "GET /new HTTP/1.1\r\n", "\r\n");
    expect(out.toString("latin1")).toBe("GET /new HTTP/1.1\r\nhost: a\r\naccept: */*\r\n\r\n");
  });

  it("appends the body after the tail in the same buffer", () => {
    const out = rawHeadWithout(buffer, 0, head.length - 2, [], "", "\r\n", Buffer.from("body"));
    expect(out.toString("latin1")).toBe(`${head}body`);
  });

  it("ignores cut ranges before `start`", () => {
    const out = rawHeadWithout(buffer, head.indexOf("accept"), head.length - 2, cut, "P\r\n", "\r\n");
    expect(out.toString("latin1")).toBe("P\r\naccept: */*\r\n\r\n");
  });
});

describe("sentPeerMetadataId", () => {
  it("is true only when the request carried x-envoy-peer-metadata-id, in any letter case", () => {
    const both = parsed("GET / HTTP/1.1\r\nHost: a\r\nX-Envoy-Peer-Metadata: abc\r\nX-Envoy-Peer-Metadata-Id: sidecar~1\r\n\r\n");
    expect(sentPeerMetadataId(both.head, both.buffer)).toBe(true);
    const idOnly = parsed("GET / HTTP/1.1\r\nHost: a\r\nx-envoy-peer-metadata-id: sidecar~1\r\n\r\n");
    expect(sentPeerMetadataId(idOnly.head, idOnly.buffer)).toBe(true);
    const metadataOnly = parsed("GET / HTTP/1.1\r\nHost: a\r\nx-envoy-peer-metadata: abc\r\n\r\n");
    expect(sentPeerMetadataId(metadataOnly.head, metadataOnly.buffer)).toBe(false);
    const none = parsed("GET / HTTP/1.1\r\nHost: a\r\nx-envoy-peer-metadata-idx: 1\r\n\r\n");
    expect(sentPeerMetadataId(none.head, none.buffer)).toBe(false);
  });
});
