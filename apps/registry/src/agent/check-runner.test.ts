import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CheckDefinition, CommandResult, RegistryCommand, RegistryServer } from "../registry-contract.ts";
import { CheckRunner, NotTtlCheckError, UnknownCheckError } from "./check-runner.ts";
import type { ProbeResult } from "./probe-result.ts";

/** Records check-update writes; only `write` is used by the runner. */
function recordingServer(accept: () => boolean = () => true) {
  const writes: RegistryCommand[] = [];
  const server = {
    write: async (command: RegistryCommand): Promise<CommandResult & { index: number }> => {
      if (!accept()) return { ok: false, errors: [{ opIndex: 0, what: "check is not registered" }], index: writes.length };
      writes.push(command);
      return { ok: true, index: writes.length };
    },
  } as unknown as RegistryServer;
  return { server, writes };
}

const httpCheck: CheckDefinition = { checkId: "web", name: "web", serviceId: "web", status: "critical", output: "", type: "http", http: "http://127.0.0.1:1/health", intervalMs: 10_000 };
const ttlCheck: CheckDefinition = { checkId: "ttl", name: "ttl", serviceId: undefined, status: "critical", output: "", type: "ttl", ttlMs: 30_000 };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("CheckRunner", () => {
  it("runs a check on its interval and writes only changes of status or output", async () => {
    const { server, writes } = recordingServer();
    const results: ProbeResult[] = [
      { status: "passing", output: "200 OK" },
      { status: "passing", output: "200 OK" },
      { status: "warning", output: "429" },
      { status: "warning", output: "429" },
    ];
    const seen: number[] = [];
    const probe = async (_url: string, timeoutMs: number) => {
      seen.push(timeoutMs);
      return results.shift() ?? { status: "critical", output: "gone" };
    };
    const runner = new CheckRunner({ server, node: "n1", random: () => 0, probes: { http: probe, tcp: probe, grpc: probe } });
    runner.add(httpCheck);
    for (let i = 0; i < 4; i++) await vi.advanceTimersByTimeAsync(i === 0 ? 0 : 10_000);
    expect(writes).toEqual([
      { op: "check-update", node: "n1", checkId: "web", status: "passing", output: "200 OK" },
      { op: "check-update", node: "n1", checkId: "web", status: "warning", output: "429" },
    ]);
    expect(seen).toEqual([10_000, 10_000, 10_000, 10_000]);
    runner.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(writes).toHaveLength(2);
  });

  it("uses the check's timeout and spreads the first run over the interval", async () => {
    const { server } = recordingServer();
    const calls: number[] = [];
    const probe = async (_target: string, timeoutMs: number) => {
      calls.push(timeoutMs);
      return { status: "passing" as const, output: "" };
    };
    const runner = new CheckRunner({ server, node: "n1", random: () => 0.5, probes: { http: probe, tcp: probe, grpc: probe } });
    runner.add({ ...httpCheck, type: "tcp", tcp: "127.0.0.1:1", timeoutMs: 250 });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([250]);
    runner.stop();
  });

  it("a TTL check turns critical when not renewed in time, and pass resets the TTL", async () => {
    const { server, writes } = recordingServer();
    const runner = new CheckRunner({ server, node: "n1" });
    runner.add(ttlCheck);
    await runner.updateTtl("ttl", "passing", "ok");
    await vi.advanceTimersByTimeAsync(29_000);
    await runner.updateTtl("ttl", "passing", "ok");
    await vi.advanceTimersByTimeAsync(29_000);
    expect(writes.map((w) => (w.op === "check-update" ? w.status : ""))).toEqual(["passing"]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(writes.at(-1)).toEqual({ op: "check-update", node: "n1", checkId: "ttl", status: "critical", output: "TTL expired (last output before timeout follows): ok" });
    runner.stop();
  });

  it("refuses pass/fail of unknown and non-TTL checks", async () => {
    const { server } = recordingServer();
    const runner = new CheckRunner({ server, node: "n1", random: () => 0.99, probes: { http: async () => ({ status: "passing", output: "" }), tcp: async () => ({ status: "passing", output: "" }), grpc: async () => ({ status: "passing", output: "" }) } });
    runner.add(httpCheck);
    await expect(runner.updateTtl("nope", "passing", "")).rejects.toBeInstanceOf(UnknownCheckError);
    await expect(runner.updateTtl("web", "passing", "")).rejects.toBeInstanceOf(NotTtlCheckError);
    runner.stop();
  });

  it("retries a refused write on the next run instead of believing it", async () => {
    let accept = false;
    const { server, writes } = recordingServer(() => accept);
    const errors: unknown[] = [];
    const probe = async () => ({ status: "passing" as const, output: "fine" });
    const runner = new CheckRunner({ server, node: "n1", random: () => 0, probes: { http: probe, tcp: probe, grpc: probe }, onError: (error) => errors.push(error) });
    runner.add(httpCheck);
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toEqual([]);
    expect(errors).toHaveLength(1);
    accept = true;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(writes).toHaveLength(1);
    runner.stop();
  });
});

describe("CheckRunner.adopt", () => {
  it("starts the node's runnable catalog checks that are not running yet", async () => {
    const { server, writes } = recordingServer();
    const runner = new CheckRunner({ server, node: "n1" });
    const stored = (check: CheckDefinition) => ({ ...check, node: "n1", createIndex: 1, modifyIndex: 1 });
    const state = {
      nodeChecks: (node: string) => (node === "n1" ? [stored(ttlCheck), stored({ ...ttlCheck, checkId: "serfHealth", type: "serf" })] : []),
    } as unknown as Parameters<CheckRunner["adopt"]>[0];
    expect(runner.adopt(state)).toEqual(["ttl"]);
    expect(runner.adopt(state)).toEqual([]);
    await runner.updateTtl("ttl", "passing", "");
    expect(writes).toHaveLength(1);
    runner.stop();
  });
});

describe("CheckRunner.sync", () => {
  it("stops checks the catalog no longer has, starts new and changed ones, and keeps unchanged ones with the catalog's status", async () => {
    const { server, writes } = recordingServer();
    const runner = new CheckRunner({ server, node: "n1" });
    const stored = (check: CheckDefinition) => ({ ...check, node: "n1", createIndex: 9, modifyIndex: 9 });
    const stateOf = (checks: CheckDefinition[]) => ({ nodeChecks: (node: string) => (node === "n1" ? checks.map(stored) : []) }) as unknown as Parameters<CheckRunner["sync"]>[0];
    runner.add({ ...ttlCheck, checkId: "kept", status: "passing" });
    runner.add({ ...ttlCheck, checkId: "changed" });
    runner.add({ ...ttlCheck, checkId: "gone" });
    const restored = stateOf([
      { ...ttlCheck, checkId: "kept", status: "critical", output: "restored" },
      { ...ttlCheck, checkId: "changed", ttlMs: 99_000 },
      { ...ttlCheck, checkId: "new" },
    ]);
    expect(runner.sync(restored)).toEqual({ started: ["changed", "new"], stopped: ["gone"] });
    expect(["kept", "changed", "new", "gone"].map((id) => runner.has(id))).toEqual([true, true, true, false]);
    expect(runner.definition("changed")?.ttlMs).toBe(99_000);
    // "kept" now counts the restored critical as reported: passing differs, so it is written.
    await runner.updateTtl("kept", "passing", "");
    expect(writes).toHaveLength(1);
    expect(runner.sync(restored)).toEqual({ started: [], stopped: [] });
    runner.stop();
  });
});
