import { describe, expect, it } from "vitest";
import type { RegistryServer } from "../registry-contract.ts";
import { countWrites } from "./count-writes.ts";

class FakeServer {
  readonly nodeId = "n1";
  isLeader = true;
  calls = 0;
  async write(command: { op: string }) {
    this.calls++;
    if (command.op === "boom") throw new Error("no cluster leader");
    return { ok: command.op !== "refused", index: this.calls };
  }
}

describe("countWrites", () => {
  it("counts each write by where it was proposed and its outcome, and passes everything else through", async () => {
    const fake = new FakeServer();
    const seen: string[] = [];
    const counted = countWrites(fake as unknown as RegistryServer, { observeWrite: (via, outcome) => void seen.push(`${via}/${outcome}`) });
    expect(await counted.write({ op: "kv-set", key: "a", value: "" })).toEqual({ ok: true, index: 1 });
    fake.isLeader = false;
    await counted.write({ op: "refused" } as never);
    await expect(counted.write({ op: "boom" } as never)).rejects.toThrow("no cluster leader");
    expect(seen).toEqual(["local/ok", "forwarded/refused", "forwarded/error"]);
    expect(counted.nodeId).toBe("n1");
    expect(counted.isLeader).toBe(false);
    expect(fake.calls).toBe(3);
  });

  it("binds each method to the node once, not at every read", () => {
    class Node {
      readonly id = "n2";
      whoAmI(): string {
        return this.id;
      }
    }
    const counted = countWrites(new Node() as unknown as RegistryServer, { observeWrite: () => undefined }) as unknown as Node;
    const method = counted.whoAmI;
    expect(method()).toBe("n2");
    expect(counted.whoAmI).toBe(method);
  });
});
