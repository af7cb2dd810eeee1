// Runs a real child process and sends it SIGTERM: checks the exit code and the JSON log lines,
// i.e. the wiring to node's signals, process.exit and stdout that the unit tests fake.

import { fileURLToPath } from "node:url";
import { startSourceProcess } from "@meshwork/testing/processes";
import { describe, expect, it } from "vitest";

const fixture = fileURLToPath(new URL("./fixtures/stoppable-server.ts", import.meta.url));

interface Outcome {
  readonly code: number | null;
  readonly records: Record<string, unknown>[];
}

/** Starts the fixture, waits for its "ready" line, sends SIGTERM and collects what it wrote. */
async function stopFixture(mode: string): Promise<Outcome> {
  const fixtureProcess = startSourceProcess(fixture, [], { env: { FIXTURE_MODE: mode }, name: `fixture (${mode})` });
  await fixtureProcess.waitForLine("ready");
  fixtureProcess.kill("SIGTERM");
  const code = await fixtureProcess.exit;
  const records = fixtureProcess.lines();
  // Every line on stdout is a JSON log record.
  expect(fixtureProcess.stdout().split("\n").filter((line) => line !== "")).toHaveLength(records.length);
  return { code, records };
}

describe("runUntilStopped in a real process", () => {
  it("stops on SIGTERM: hooks in reverse order, JSON logs on stdout, exit 0", async () => {
    const { code, records } = await stopFixture("clean");
    expect(code).toBe(0);
    expect(records.map((r) => r["msg"])).toEqual(["ready", "stop signal received", "connections drained", "timer cleared", "stopped"]);
    expect(records[1]).toMatchObject({ level: "info", name: "fixture", signal: "SIGTERM" });
    expect(records.at(-1)).toMatchObject({ exitCode: 0 });
    for (const record of records) expect(Date.parse(String(record["time"]))).not.toBeNaN();
  });

  it("exits 1 when a stop hook fails, after running the others", async () => {
    const { code, records } = await stopFixture("failing-hook");
    expect(code).toBe(1);
    expect(records.find((r) => r["msg"] === "stop hook failed")).toMatchObject({ level: "error", hook: "flaky" });
    expect(records.map((r) => r["msg"])).toContain("timer cleared");
  });

  it("exits 1 when a stop hook outlives the deadline", async () => {
    const { code, records } = await stopFixture("stuck-hook");
    expect(code).toBe(1);
    expect(records.find((r) => r["msg"] === "stop deadline passed")).toMatchObject({ pendingHook: "stuck" });
  });
});
