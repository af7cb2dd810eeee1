import { createLogger } from "@meshwork/telemetry";
import { describe, expect, it } from "vitest";
import { runUntilStopped, type Lifecycle, type ProcessLike, type StopSignal, type Timers } from "./run-until-stopped.ts";

function fakeProcess() {
  const listeners = new Map<StopSignal, Set<() => void>>([
    ["SIGTERM", new Set()],
    ["SIGINT", new Set()],
  ]);
  const exits: number[] = [];
  const proc: ProcessLike = {
    on: (signal, listener) => listeners.get(signal)?.add(listener),
    off: (signal, listener) => listeners.get(signal)?.delete(listener),
    exit: (code) => void exits.push(code),
  };
  const send = (signal: StopSignal) => [...(listeners.get(signal) ?? [])].forEach((listener) => listener());
  const listenerCount = () => [...listeners.values()].reduce((sum, set) => sum + set.size, 0);
  return { proc, exits, send, listenerCount };
}

function fakeTimers() {
  const pending = new Map<number, { callback: () => void; ms: number }>();
  let next = 0;
  const timers: Timers = {
    setTimeout: (callback, ms) => {
      next += 1;
      pending.set(next, { callback, ms });
      return next;
    },
    clearTimeout: (handle) => void pending.delete(handle as number),
  };
  const fireAll = () => {
    const due = [...pending.values()];
    pending.clear();
    due.forEach(({ callback }) => callback());
  };
  return { timers, pending, fireAll };
}

function setup() {
  const process = fakeProcess();
  const clock = fakeTimers();
  const lines: string[] = [];
  const logger = createLogger({ name: "test", level: "debug", write: (line) => lines.push(line), now: () => new Date(0) });
  const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const run = (main: (lifecycle: Lifecycle) => Promise<number | void>) =>
    runUntilStopped(main, { logger, process: process.proc, timers: clock.timers, stopDeadlineMs: 5000 });
  return { ...process, ...clock, logs, run };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("runUntilStopped", () => {
  it("exits with main's code after running the stop hooks in reverse order", async () => {
    const t = setup();
    const order: string[] = [];
    const code = await t.run(async (lifecycle) => {
      lifecycle.onStop("database", () => void order.push("database"));
      lifecycle.onStop("server", async () => {
        await settle();
        order.push("server");
      });
      return 3;
    });
    expect(code).toBe(3);
    expect(t.exits).toEqual([3]);
    expect(order).toEqual(["server", "database"]);
    expect(t.listenerCount()).toBe(0);
    expect(t.pending.size).toBe(0);
  });

  it("keeps a server running until SIGTERM, then stops it and exits 0", async () => {
    const t = setup();
    let signal: AbortSignal | undefined;
    const order: string[] = [];
    const done = t.run(async (lifecycle) => {
      signal = lifecycle.signal;
      lifecycle.onStop("listener", () => void order.push("listener"));
      lifecycle.onStop("health", () => void order.push("health"));
    });
    await settle();
    expect(t.exits).toEqual([]);
    expect(signal?.aborted).toBe(false);

    t.send("SIGTERM");
    expect(await done).toBe(0);
    expect(signal?.aborted).toBe(true);
    expect(order).toEqual(["health", "listener"]);
    expect(t.logs().map((r) => [r["msg"], r["signal"] ?? r["hook"] ?? r["exitCode"]])).toEqual([
      ["stop signal received", "SIGTERM"],
      ["stop hook done", "health"],
      ["stop hook done", "listener"],
      ["stopped", 0],
    ]);
  });

  it("exits 143 on SIGTERM and 130 on SIGINT while main is still working", async () => {
    for (const [signal, expected] of [
      ["SIGTERM", 143],
      ["SIGINT", 130],
    ] as const) {
      const t = setup();
      let aborted = false;
      const done = t.run(
        (lifecycle) =>
          new Promise<number>((resolve) => {
            lifecycle.signal.addEventListener("abort", () => {
              aborted = true;
              // Work that finishes after the signal must not change the exit code.
              resolve(0);
            });
          }),
      );
      await settle();
      t.send(signal);
      expect(await done).toBe(expected);
      await settle();
      expect(aborted).toBe(true);
      expect(t.exits).toEqual([expected]);
    }
  });

  it("exits 1 when main throws, logging the error and still running the hooks", async () => {
    const t = setup();
    let closed = false;
    const code = await t.run(async (lifecycle) => {
      lifecycle.onStop("socket", () => void (closed = true));
      throw new Error("port in use");
    });
    expect(code).toBe(1);
    expect(closed).toBe(true);
    const failed = t.logs().find((r) => r["msg"] === "failed");
    expect((failed?.["err"] as Record<string, unknown>)["message"]).toBe("port in use");
  });

  it("treats a synchronous throw in main like a rejection", async () => {
    const t = setup();
    const code = await t.run(() => {
      throw new Error("bad wiring");
    });
    expect(code).toBe(1);
  });

  it("runs the remaining hooks after one fails, then exits 1", async () => {
    const t = setup();
    const order: string[] = [];
    const done = t.run(async (lifecycle) => {
      lifecycle.onStop("first", () => void order.push("first"));
      lifecycle.onStop("broken", () => {
        throw new Error("close failed");
      });
      lifecycle.onStop("last", () => void order.push("last"));
    });
    await settle();
    t.send("SIGINT");
    expect(await done).toBe(1);
    expect(order).toEqual(["last", "first"]);
    expect(t.logs().find((r) => r["msg"] === "stop hook failed")?.["hook"]).toBe("broken");
  });

  it("exits 1 when the deadline passes, naming the hook still running", async () => {
    const t = setup();
    let firstRan = false;
    const done = t.run(async (lifecycle) => {
      lifecycle.onStop("first", () => void (firstRan = true));
      lifecycle.onStop("stuck", () => new Promise<void>(() => undefined));
    });
    await settle();
    t.send("SIGTERM");
    await settle();
    expect(t.exits).toEqual([]);
    expect([...t.pending.values()].map((timer) => timer.ms)).toEqual([5000]);
    t.fireAll();
    expect(await done).toBe(1);
    expect(firstRan).toBe(false);
    expect(t.logs().find((r) => r["msg"] === "stop deadline passed")).toMatchObject({ pendingHook: "stuck", deadlineMs: 5000 });
  });

  it("exits at once on a second signal while stopping", async () => {
    const t = setup();
    const done = t.run(async (lifecycle) => {
      lifecycle.onStop("stuck", () => new Promise<void>(() => undefined));
    });
    await settle();
    t.send("SIGTERM");
    await settle();
    t.send("SIGINT");
    expect(await done).toBe(130);
    t.fireAll();
    t.send("SIGTERM");
    expect(t.exits).toEqual([130]);
  });
});
