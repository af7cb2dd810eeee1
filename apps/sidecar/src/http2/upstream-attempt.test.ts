// openHttp2Attempt's order of events: node:http2 emits a client stream's 'response' on the next
// tick, while DATA frames read in the same chunk reach a flowing stream at once. The handler must
// still hear the head first, then the body, then the end. The stream here is an EventEmitter
// standing in for node:http2's ClientHttp2Stream, emitting in the order node:http2 can.
import { EventEmitter } from "node:events";
import type { IncomingHttpHeaders } from "node:http2";
import { describe, expect, it } from "vitest";
import type { Http2SessionPool, PooledSession } from "./http2-session-pool.ts";
import { openHttp2Attempt, type AttemptHandler } from "./upstream-attempt.ts";

function setUp(): { stream: EventEmitter; events: string[]; released: () => number } {
  const stream = Object.assign(new EventEmitter(), { closed: false, close: () => undefined });
  let releases = 0;
  const entry = { session: { request: () => stream }, active: 1, served: 1, draining: false, connected: true, connectFailed: false } as unknown as PooledSession;
  const pool = { release: () => void (releases += 1) } as unknown as Http2SessionPool;
  const events: string[] = [];
  const handler: AttemptHandler = {
    onUpstreamHead: (status: number, _headers: IncomingHttpHeaders, endStream: boolean) => events.push(`head ${status}${endStream ? " end-stream" : ""}`),
    onUpstreamData: (chunk: Buffer) => events.push(`data ${chunk.toString()}`),
    onUpstreamTrailers: () => events.push("trailers"),
    onUpstreamEnd: () => events.push("end"),
    onUpstreamFailure: (failure) => events.push(`failure ${failure}`),
    onUpstreamDrain: () => events.push("drain"),
  };
  openHttp2Attempt(pool, entry, {}, true, handler);
  return { stream, events, released: () => releases };
}

describe("openHttp2Attempt", () => {
  it("holds body bytes that come before the response head, and an end that comes before it too", () => {
    const { stream, events, released } = setUp();
    stream.emit("data", Buffer.from("a"));
    stream.emit("data", Buffer.from("b"));
    stream.emit("end");
    expect(events).toEqual([]);
    stream.emit("response", { ":status": 200 }, 0);
    stream.emit("close");
    expect(events).toEqual(["head 200", "data a", "data b", "end"]);
    expect(released()).toBe(1);
  });

  it("passes events through in order when the head comes first", () => {
    const { stream, events } = setUp();
    stream.emit("response", { ":status": 201 }, 0);
    stream.emit("data", Buffer.from("x"));
    stream.emit("trailers", {});
    stream.emit("end");
    stream.emit("close");
    expect(events).toEqual(["head 201", "data x", "trailers", "end"]);
  });

  it("reports a stream that closes without a head as a failure, not as a response", () => {
    const { stream, events } = setUp();
    stream.emit("data", Buffer.from("lost"));
    stream.emit("close");
    expect(events).toEqual(["failure remote-reset"]);
  });
});
