// The agent's JWT-SVID cache: a token is reused for the same audience set (in any order) until
// half its lifetime has passed, then minted again; concurrent requests share one CA call; a failed
// call is not cached.
import { describe, expect, it } from "vitest";
import { agentJwtSvidSource, type MintedJwtSvid } from "./jwt-svid-source.ts";
import type { WorkloadAgent } from "./workload-agent.ts";

const agent = { jwtAuthorities: new Map(), onJwtAuthorities: () => () => undefined } as unknown as WorkloadAgent;

function source(): { fetch: ReturnType<typeof agentJwtSvidSource>["fetch"]; calls: string[][]; setNow(ms: number): void; failNext(): void } {
  let nowMs = 1_000_000;
  let fail = false;
  const calls: string[][] = [];
  const s = agentJwtSvidSource(agent, {
    clock: () => new Date(nowMs),
    mint: async (audiences): Promise<MintedJwtSvid> => {
      calls.push([...audiences]);
      if (fail) {
        fail = false;
        throw new Error("CA down");
      }
      return { spiffeId: "spiffe://td/w", token: `t${calls.length}`, expiresAtSeconds: nowMs / 1000 + 300 };
    },
  });
  return { fetch: (a) => s.fetch(a), calls, setNow: (ms) => void (nowMs = ms), failNext: () => void (fail = true) };
}

describe("agentJwtSvidSource", () => {
  it("reuses a token for the same audiences until half its lifetime, then mints again", async () => {
    const s = source();
    expect((await s.fetch(["a", "b"])).token).toBe("t1");
    expect((await s.fetch(["b", "a"])).token).toBe("t1");
    expect((await s.fetch(["c"])).token).toBe("t2");
    s.setNow(1_000_000 + 149_999);
    expect((await s.fetch(["a", "b"])).token).toBe("t1");
    s.setNow(1_000_000 + 150_000);
    expect((await s.fetch(["a", "b"])).token).toBe("t3");
  });

  it("shares one CA call between concurrent requests and does not cache a failure", async () => {
    const s = source();
    const [x, y] = await Promise.all([s.fetch(["a"]), s.fetch(["a"])]);
    expect(x).toBe(y);
    expect(s.calls).toHaveLength(1);
    s.failNext();
    await expect(s.fetch(["z"])).rejects.toThrow("CA down");
    expect((await s.fetch(["z"])).token).toBe("t3");
  });
});
