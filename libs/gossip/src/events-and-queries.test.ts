import { describe, expect, it } from "vitest";
import { LamportDedup, PendingQueries, userEventKey } from "./events-and-queries.ts";
import { LamportClock } from "./lamport-clock.ts";

describe("LamportDedup", () => {
  it("accepts a (ltime, key) once and refuses what is older than the window", () => {
    const clock = new LamportClock();
    const dedup = new LamportDedup(4);
    expect(dedup.isNew(clock, 1, "a")).toBe(true);
    expect(dedup.isNew(clock, 1, "a")).toBe(false);
    expect(dedup.isNew(clock, 1, "b")).toBe(true);
    clock.witness(10);
    expect(dedup.isNew(clock, 5, "c")).toBe(false); // 5 < 11 - 4
    expect(dedup.isNew(clock, 8, "c")).toBe(true);
  });

  it("keys user events by name and payload", () => {
    const a = userEventKey({ type: "user-event", ltime: 1, name: "deploy", payload: Uint8Array.of(1) });
    const b = userEventKey({ type: "user-event", ltime: 1, name: "deploy", payload: Uint8Array.of(2) });
    expect(a).not.toBe(b);
  });
});

describe("PendingQueries", () => {
  it("collects the first response of each responder and closes the query at its deadline", () => {
    const queries = new PendingQueries();
    const ref = { ltime: 3, id: 7, origin: "a", originAddress: "a:1" };
    queries.open(ref, "ping", 100);
    expect(queries.nextDeadlineMs()).toBe(100);
    const response = (from: string, byte: number) => ({ type: "query-response" as const, ltime: 3, id: 7, from, payload: Uint8Array.of(byte) });
    expect(queries.respond(response("b", 1))).toBe(ref);
    expect(queries.respond(response("b", 2))).toBeUndefined();
    expect(queries.respond({ ...response("c", 1), id: 8 })).toBeUndefined();
    expect(queries.expire(99)).toEqual([]);
    expect(queries.expire(100)).toEqual([{ query: ref, name: "ping", responses: [{ from: "b", payload: Uint8Array.of(1) }] }]);
    expect(queries.nextDeadlineMs()).toBe(Infinity);
  });
});
