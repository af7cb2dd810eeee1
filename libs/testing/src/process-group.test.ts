import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ProcessGroup } from "./process-group.ts";

describe("ProcessGroup", () => {
  it("kills every process it started and gives their last lines", async () => {
    const group = new ProcessGroup();
    const script = (n: number) => `console.log(JSON.stringify({ msg: "ready", n: ${n} })); setInterval(() => {}, 1000)`;
    const a = group.start(process.execPath, ["-e", script(1)], { name: "a" });
    const b = group.start(process.execPath, ["-e", script(2)], { name: "b" });
    await Promise.all([a.waitForLine("ready"), b.waitForLine("ready")]);
    expect(group.processes).toEqual([a, b]);
    expect(group.tails(1)).toBe('--- a (last 1 of 1 output lines)\n{"msg":"ready","n":1}\n--- b (last 1 of 1 output lines)\n{"msg":"ready","n":2}');
    await group.killAll();
    expect([a.child.signalCode, b.child.signalCode]).toEqual(["SIGKILL", "SIGKILL"]);
  });

  it("close kills the processes, then removes the temp dirs they wrote to", async () => {
    const group = new ProcessGroup();
    const dir = await group.tempDir("process-group-test-");
    expect(dir).toMatch(/process-group-test-\w{6}$/);
    await writeFile(join(dir, "file"), "x");
    const p = group.startSource(join(import.meta.dirname, "../testdata/processes/log-ready.ts"), [], { name: "child" });
    const running = group.start(process.execPath, ["-e", "setInterval(() => {}, 1000)"]);
    await p.waitForLine("ready");
    await group.close();
    expect(running.child.signalCode).toBe("SIGKILL");
    expect(existsSync(dir)).toBe(false);
  });
});
