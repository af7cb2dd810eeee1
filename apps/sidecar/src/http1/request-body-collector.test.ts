// RequestBodyCollector: the payload of Content-Length and chunked bodies fed in pieces, stopping at
// the body's end, at the payload limit or at the raw-bytes limit, and refusing malformed chunks.
import { describe, expect, it } from "vitest";
import { RequestBodyCollector } from "./request-body-collector.ts";

const cl = (n: number) => ({ contentLength: n, chunked: false });
const chunked = { contentLength: -1, chunked: true };

/** Feeds `text` one byte at a time (every split point) and returns the collector. */
function byteByByte(collector: RequestBodyCollector, text: string): RequestBodyCollector {
  for (const byte of Buffer.from(text)) collector.feed(Uint8Array.of(byte));
  return collector;
}

describe("RequestBodyCollector", () => {
  it("collects a Content-Length body and ignores the next request's bytes after it", () => {
    const c = new RequestBodyCollector(cl(5), 100, 1_000);
    c.feed(Buffer.from("hel"));
    expect(c.done).toBe(false);
    c.feed(Buffer.from("loGET / HTTP/1.1\r\n"));
    expect({ done: c.done, complete: c.complete, body: c.body.toString() }).toEqual({ done: true, complete: true, body: "hello" });
  });

  it("decodes a chunked body, extensions and trailers included, whatever the split", () => {
    const wire = "4;name=v\r\nWiki\r\n5\r\npedia\r\n0\r\nx-trailer: 1\r\n\r\nNEXT";
    const c = byteByByte(new RequestBodyCollector(chunked, 100, 1_000), wire);
    expect({ complete: c.complete, body: c.body.toString(), error: c.error }).toEqual({ complete: true, body: "Wikipedia", error: undefined });
  });

  it("stops once the payload limit is held, the body not complete", () => {
    const c = new RequestBodyCollector(cl(10), 4, 1_000);
    c.feed(Buffer.from("0123456"));
    expect({ done: c.done, complete: c.complete, body: c.body.toString() }).toEqual({ done: true, complete: false, body: "0123456" });
    c.feed(Buffer.from("789"));
    expect(c.body.toString()).toBe("0123456");
  });

  it("stops at the raw-bytes limit when chunk framing outweighs the payload", () => {
    const c = new RequestBodyCollector(chunked, 100, 20);
    c.feed(Buffer.from(`1;${"x".repeat(40)}`));
    c.feed(Buffer.from("\r\na\r\n0\r\n\r\n"));
    expect({ done: c.done, complete: c.complete, collected: c.body.length }).toEqual({ done: true, complete: false, collected: 0 });
  });

  it("reports malformed chunked framing", () => {
    const c = new RequestBodyCollector(chunked, 100, 1_000);
    c.feed(Buffer.from("zz\r\n"));
    expect(c.done).toBe(true);
    expect(c.error).toBe("missing chunk size");
  });

  it("copies what it keeps: changing the fed buffer afterwards changes nothing", () => {
    const data = Buffer.from("abc");
    const c = new RequestBodyCollector(cl(3), 100, 1_000);
    c.feed(data);
    data.fill(0x7a);
    expect(c.body.toString()).toBe("abc");
  });

  it("is complete at once for an empty Content-Length body", () => {
    expect(new RequestBodyCollector(cl(0), 100, 1_000)).toMatchObject({ done: true, complete: true });
  });
});
