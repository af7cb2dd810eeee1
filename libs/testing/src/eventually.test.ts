import { describe, expect, it } from "vitest";
import { eventually } from "./eventually.ts";

describe("eventually", () => {
  it("resolves with the first value that is neither undefined nor false, retrying through errors", async () => {
    let calls = 0;
    const value = await eventually(
      "the third call",
      async () => {
        calls++;
        if (calls === 1) throw new Error("not listening yet");
        if (calls === 2) return false;
        return calls === 3 ? { calls } : undefined;
      },
      { intervalMs: 1 },
    );
    expect(value).toEqual({ calls: 3 });
  });

  it("keeps 0 and empty strings as values", async () => {
    expect(await eventually("zero", () => 0, { intervalMs: 1 })).toBe(0);
    expect(await eventually("empty", () => "", { intervalMs: 1 })).toBe("");
  });

  it("times out naming what it waited for, the last error and the context", async () => {
    const attempt = (): undefined => {
      throw new Error("ECONNREFUSED 127.0.0.1:1");
    };
    await expect(eventually("the server to answer", attempt, { timeoutMs: 20, intervalMs: 5, context: () => "--- server\nlast line" })).rejects.toThrow(
      "timed out after 20 ms waiting for the server to answer: ECONNREFUSED 127.0.0.1:1\n--- server\nlast line",
    );
  });

  it("takes a number as the timeout", async () => {
    await expect(eventually("never", () => undefined, 10)).rejects.toThrow(/^timed out after 10 ms waiting for never$/);
  });
});
