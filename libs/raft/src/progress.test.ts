import { describe, expect, it } from "vitest";
import type { LogIndex } from "./ids.ts";
import { Progress } from "./progress.ts";

const i = (n: number): LogIndex => n as LogIndex;
const progress = (next: number, maxInflight = 4): Progress => new Progress({ next: i(next), maxInflight, maxInflightBytes: Number.POSITIVE_INFINITY, isLearner: false });

describe("Progress", () => {
  it("a probe sends one append and pauses until an answer or a heartbeat", () => {
    const pr = progress(5);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(0, 0);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(2, 10);
    expect([pr.isPaused(), pr.next]).toEqual([true, 5]);
    pr.maybeUpdate(i(6));
    expect([pr.isPaused(), pr.match, pr.next]).toEqual([false, 6, 7]);
  });

  it("replicate pipelines appends until the inflight window is full", () => {
    const pr = progress(5, 2);
    pr.match = i(4);
    pr.becomeReplicate();
    pr.sentEntries(3, 30);
    expect([pr.next, pr.isPaused()]).toEqual([8, false]);
    pr.sentEntries(1, 10);
    expect([pr.next, pr.isPaused(), pr.inflights.count()]).toEqual([9, true, 2]);
    pr.maybeUpdate(i(7));
    pr.inflights.freeLE(7);
    pr.msgAppFlowPaused = pr.inflights.isFull();
    expect([pr.inflights.count(), pr.isPaused()]).toEqual([1, false]);
  });

  it("maybeDecrTo() in replicate ignores stale rejections and otherwise falls back to match + 1", () => {
    const pr = progress(5);
    pr.match = i(6);
    pr.becomeReplicate();
    pr.sentEntries(4, 0);
    expect(pr.maybeDecrTo(i(5), i(5))).toBe(false);
    expect(pr.maybeDecrTo(i(9), i(3))).toBe(true);
    expect(pr.next).toBe(7);
  });

  it("maybeDecrTo() in probe only accepts the answer to the latest probe and follows the hint", () => {
    const pr = progress(10);
    expect(pr.maybeDecrTo(i(5), i(2))).toBe(false);
    expect(pr.maybeDecrTo(i(9), i(3))).toBe(true);
    expect(pr.next).toBe(4);
    expect(pr.maybeDecrTo(i(3), i(20))).toBe(true);
    expect(pr.next).toBe(3);
  });

  it("snapshot state pauses appends; probing resumes after the snapshot index", () => {
    const pr = progress(3);
    pr.becomeSnapshot(i(20));
    expect([pr.isPaused(), pr.pendingSnapshot, pr.next]).toEqual([true, 20, 21]);
    pr.becomeProbe();
    expect([pr.state, pr.next, pr.pendingSnapshot]).toEqual(["probe", 21, 0]);
  });

  it("canBumpCommit() is true only for a commit index not yet sent that the peer's log can hold", () => {
    const pr = progress(6);
    expect(pr.canBumpCommit(i(3))).toBe(true);
    pr.sentCommitIndex(i(3));
    expect(pr.canBumpCommit(i(3))).toBe(false);
    expect(pr.canBumpCommit(i(9))).toBe(true);
    pr.sentCommitIndex(i(5));
    expect(pr.canBumpCommit(i(9))).toBe(false);
    pr.becomeSnapshot(i(9));
    expect(pr.canBumpCommit(i(20))).toBe(false);
  });
});
