// ProcessSupervisor with real child processes: a part that exits after it was ready is restarted
// (new pid, ready again, onRestart called) while the others keep running; one that exits before
// it was ready fails the start.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { eventually, freePort } from "@meshwork/testing/processes";
import { afterAll, describe, expect, it } from "vitest";
import { ProcessSupervisor } from "../src/adapters/process-supervisor.ts";
import { workspaceRoot } from "./support/run-meshctl.ts";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A tiny app: answers 200 on every path of `--port`, or exits at once with `--fail`. */
async function appFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "supervisor-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "app.ts");
  await writeFile(
    file,
    `import { createServer } from "node:http";
if (process.argv.includes("--fail")) process.exit(3);
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
createServer((_req, res) => res.end("ok")).listen(port, "127.0.0.1");
`,
  );
  return relative(workspaceRoot, file);
}

describe("ProcessSupervisor", () => {
  it("restarts a part that exits after it was ready, and leaves the others running", { timeout: 60_000 }, async () => {
    const entry = await appFile();
    const [a, b] = [await freePort(), await freePort()];
    const lines: string[] = [];
    const restarted: string[] = [];
    const supervisor = new ProcessSupervisor({ cwd: workspaceRoot, writeLine: (l) => lines.push(l), colour: false, readyTimeoutMs: 30_000, from: "source", onRestart: (name) => restarted.push(name) });
    cleanups.push(() => supervisor.stop(5000));
    await supervisor.start(
      [
        { name: "a", entry, args: ["--port", `${a}`], readyUrl: `http://127.0.0.1:${a}/`, after: [] },
        { name: "b", entry, args: ["--port", `${b}`], readyUrl: `http://127.0.0.1:${b}/`, after: ["a"] },
      ],
      new AbortController().signal,
    );
    const before = supervisor.pids;
    const pidOf = (name: string, list = supervisor.pids): number | undefined => list.find((p) => p.name === name)?.pid;
    process.kill(pidOf("a", before) as number, "SIGKILL");
    await eventually("the restart of a", () => restarted.includes("a"));
    expect(pidOf("a")).not.toBe(pidOf("a", before));
    expect(pidOf("b")).toBe(pidOf("b", before));
    expect(supervisor.pids.map((p) => p.name)).toEqual(["a", "b"]);
    await eventually("a to answer again", async () => (await fetch(`http://127.0.0.1:${a}/`).catch(() => undefined))?.ok === true);
    expect(lines.some((l) => /^a \| exited with a signal; restarting in 1 s \(restart 1\)$/.test(l))).toBe(true);
  });

  it("fails the start when a part exits before it is ready", { timeout: 60_000 }, async () => {
    const entry = await appFile();
    const supervisor = new ProcessSupervisor({ cwd: workspaceRoot, writeLine: () => undefined, colour: false, readyTimeoutMs: 30_000, from: "source" });
    cleanups.push(() => supervisor.stop(5000));
    await expect(supervisor.start([{ name: "bad", entry, args: ["--fail"], readyUrl: "http://127.0.0.1:1/", after: [] }], new AbortController().signal)).rejects.toThrow(/bad exited with code 3 before it was ready/);
    expect(await supervisor.failed).toEqual({ name: "bad", code: 3 });
  });
});
