import { describe, expect, it } from "vitest";
import { ChannelClosedError, createChannelPair } from "./create-channel-pair.ts";

/** Lets settled promise callbacks run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Tracks whether a promise has settled yet. */
function track(promise: Promise<unknown>): { settled: () => boolean; error: () => unknown } {
  let settled = false;
  let error: unknown;
  promise.then(() => { settled = true; }, (e: unknown) => { settled = true; error = e; });
  return { settled: () => settled, error: () => error };
}

describe("createChannelPair", () => {
  it("delivers in order in both directions", async () => {
    const [left, right] = createChannelPair<string, number>();
    await left.send("a");
    await left.send("b");
    await right.send(1);
    expect(await right.receive()).toBe("a");
    expect(await right.receive()).toBe("b");
    expect(await left.receive()).toBe(1);
  });

  it("wakes a waiting receiver", async () => {
    const [left, right] = createChannelPair<string, string>();
    const next = right.receive();
    await left.send("x");
    expect(await next).toBe("x");
  });

  it("applies backpressure once the peer's buffer is full, and releases it as the peer receives", async () => {
    const [left, right] = createChannelPair<number, never>({ capacity: 2 });
    await left.send(1);
    await left.send(2);
    const third = track(left.send(3));
    await flush();
    expect(third.settled()).toBe(false);
    expect(right.buffered).toBe(3);
    expect(await right.receive()).toBe(1);
    await flush();
    expect(third.settled()).toBe(true);
    expect([await right.receive(), await right.receive()]).toEqual([2, 3]);
  });

  it("with capacity 0, each send waits for its receive", async () => {
    const [left, right] = createChannelPair<string, never>({ capacity: 0 });
    const sent = track(left.send("x"));
    await flush();
    expect(sent.settled()).toBe(false);
    expect(await right.receive()).toBe("x");
    await flush();
    expect(sent.settled()).toBe(true);
  });

  it("close lets queued messages drain, then ends iteration; later sends reject", async () => {
    const [left, right] = createChannelPair<number, number>();
    await left.send(1);
    await left.send(2);
    left.close();
    const got: number[] = [];
    for await (const message of right) got.push(message);
    expect(got).toEqual([1, 2]);
    await expect(left.send(3)).rejects.toBeInstanceOf(ChannelClosedError);
    await expect(right.send(3)).rejects.toThrow("the channel is closed");
    expect(await left.receive()).toBeUndefined();
    expect(right.isClosed).toBe(true);
    await right.closed;
  });

  it("close rejects senders blocked on backpressure and wakes waiting receivers", async () => {
    const [left, right] = createChannelPair<number, number>({ capacity: 0 });
    const blocked = track(left.send(1));
    const waiting = left.receive();
    right.close();
    await flush();
    expect(blocked.error()).toBeInstanceOf(ChannelClosedError);
    expect(await waiting).toBeUndefined();
  });

  it("rejects a negative capacity", () => {
    expect(() => createChannelPair({ capacity: -1 })).toThrow(/capacity/);
  });
});
