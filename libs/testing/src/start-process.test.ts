// Real child processes (`node -e`): JSON lines, waits, exits, teardown.
import { describe, expect, it } from "vitest";
import { childEnv, startProcess } from "./start-process.ts";

const node = (script: string, name = "script") => startProcess(process.execPath, ["-e", script], { name });

describe("startProcess", () => {
  it("parses JSON log lines on stdout and waits for one by msg or predicate, logged before or after the wait", async () => {
    const p = node(`
      console.log(JSON.stringify({ msg: "ready", port: 1 }));
      console.log("plain text {not json");
      console.log("{broken");
      console.error("warning on stderr");
      setTimeout(() => console.log(JSON.stringify({ msg: "later", n: 2 })), 50);
      setTimeout(() => console.log(JSON.stringify({ msg: "later", n: 3 })), 100);
    `);
    expect(await p.waitForLine("ready")).toEqual({ msg: "ready", port: 1 });
    expect(await p.waitForLine((l) => l["msg"] === "later" && l["n"] === 3)).toEqual({ msg: "later", n: 3 });
    expect(await p.exit).toBe(0);
    expect(p.lines().map((l) => l["msg"])).toEqual(["ready", "later", "later"]);
    expect(p.outputLines()).toEqual(expect.arrayContaining(["plain text {not json", "{broken", "warning on stderr"]));
    expect(p.stderr()).toBe("warning on stderr\n");
    expect(p.output()).toContain("warning on stderr");
  });

  it("rejects a wait when the process exits first, with its exit code and last output", async () => {
    const p = node(`console.error("bad flag --x"); process.exit(2)`, "failing");
    const error = await p.waitForLine("ready").catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^failing exited with code 2 before logging "ready"\n--- failing .*\nbad flag --x$/);
    expect(await p.exit).toBe(2);
  });

  it("rejects a wait that times out, naming the process", async () => {
    const p = node(`console.log(JSON.stringify({ msg: "starting" })); setInterval(() => {}, 1000)`, "slow");
    await expect(p.waitForLine("ready", 300)).rejects.toThrow(/^slow did not log "ready" within 300 ms\n--- slow .*\n\{"msg":"starting"\}$/);
    p.kill();
    expect(await p.exit).toBeNull();
  });

  it("reads the last line even without a newline, before exit resolves", async () => {
    const p = node(`process.stdout.write(JSON.stringify({ msg: "bye" }))`);
    expect(await p.exit).toBe(0);
    expect(p.lines()).toEqual([{ msg: "bye" }]);
  });

  it("stop sends SIGTERM (the process may exit 0) and falls back to SIGKILL after the grace time", async () => {
    const graceful = node(`process.on("SIGTERM", () => process.exit(0)); console.log(JSON.stringify({ msg: "ready" })); setInterval(() => {}, 1000)`);
    await graceful.waitForLine("ready");
    expect(await graceful.stop()).toBe(0);
    const stubborn = node(`process.on("SIGTERM", () => {}); console.log(JSON.stringify({ msg: "ready" })); setInterval(() => {}, 1000)`);
    await stubborn.waitForLine("ready");
    expect(await stubborn.stop({ graceMs: 200 })).toBeNull();
    expect(stubborn.child.signalCode).toBe("SIGKILL");
    stubborn.kill(); // after exit: no-op, no throw
  });

  it("a command that cannot start resolves exit with null and says why", async () => {
    const p = startProcess("/nonexistent/command", [], { name: "missing" });
    expect(await p.exit).toBeNull();
    await expect(p.waitForLine("ready")).rejects.toThrow(/missing could not be started: spawn \/nonexistent\/command ENOENT/);
  });

  it("writes to stdin when started with stdin: pipe, and refuses to otherwise", async () => {
    const p = startProcess(process.execPath, ["-e", `process.stdin.on("data", (d) => { console.log(JSON.stringify({ msg: "got", text: String(d).trim() })); process.exit(0); })`], { stdin: "pipe" });
    p.write("hello\n");
    expect(await p.waitForLine("got")).toEqual({ msg: "got", text: "hello" });
    const closed = node(`setTimeout(() => {}, 10)`, "no-input");
    expect(() => closed.write("x")).toThrow('no-input was started without stdin: pass { stdin: "pipe" } to write to it');
    await closed.exit;
  });

  it("passes env, without the runner's MESHWORK_* variables unless asked", async () => {
    process.env["MESHWORK_TEST_LEAK"] = "leaked";
    try {
      expect(childEnv({ A: "1" })).toMatchObject({ A: "1" });
      expect(childEnv()["MESHWORK_TEST_LEAK"]).toBeUndefined();
      expect(childEnv({}, true)["MESHWORK_TEST_LEAK"]).toBe("leaked");
      const p = startProcess(process.execPath, ["-e", `console.log(JSON.stringify({ msg: "env", a: process.env.A, leak: process.env.MESHWORK_TEST_LEAK ?? null }))`], { env: { A: "from test" } });
      expect(await p.waitForLine("env")).toEqual({ msg: "env", a: "from test", leak: null });
    } finally {
      delete process.env["MESHWORK_TEST_LEAK"];
    }
  });
});
