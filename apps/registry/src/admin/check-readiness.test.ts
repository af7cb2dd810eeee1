import { describe, expect, it } from "vitest";
import { checkReadiness, type ReadinessView } from "./check-readiness.ts";

const view = (leaderId: string | null, barrier: () => Promise<void>): ReadinessView => ({ leaderId, appliedIndex: 7, readBarrier: barrier });

describe("checkReadiness", () => {
  it("is ready with a known leader once a consistent read barrier passes", async () => {
    expect(await checkReadiness(view("n2", () => Promise.resolve()), 1000)).toEqual({ ready: true, leader: "n2", applied: 7 });
  });

  it("is not ready without a known leader, and does not ask for a read index then", async () => {
    let asked = false;
    const result = await checkReadiness(
      view(null, () => {
        asked = true;
        return Promise.resolve();
      }),
      1000,
    );
    expect(result).toMatchObject({ ready: false, reason: expect.stringContaining("no known Raft leader") });
    expect(asked).toBe(false);
  });

  it("is not ready when the barrier does not complete within the timeout (behind the leader)", async () => {
    const result = await checkReadiness(view("n1", () => new Promise<void>(() => undefined)), 5);
    expect(result).toMatchObject({ ready: false, reason: expect.stringContaining("not caught up: applied index 7") });
  });

  it("is not ready when the leader refuses the read index", async () => {
    const result = await checkReadiness(view("n1", () => Promise.reject(new Error("No cluster leader"))), 1000);
    expect(result).toMatchObject({ ready: false, reason: expect.stringContaining("No cluster leader") });
  });
});
