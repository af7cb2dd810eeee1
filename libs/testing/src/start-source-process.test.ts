import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { denoBinary, startSourceProcess } from "./start-source-process.ts";

// A TypeScript entry (it has a type annotation, so plain `node` would refuse it) that logs its arguments.
const entry = join(import.meta.dirname, "../testdata/processes/log-ready.ts");

describe("startSourceProcess", () => {
  it.each(["node", "deno"] as const)("runs a .ts entry under %s, named after the entry", { timeout: 30_000 }, async (runtime) => {
    if (runtime === "deno" && !existsSync(denoBinary)) throw new Error(`Deno is missing at ${denoBinary}: run \`npm ci\` (devDependency deno)`);
    const started = startSourceProcess(entry, ["--port", "7"], { runtime });
    expect(await started.waitForLine("ready")).toEqual({ msg: "ready", args: ["--port", "7"] });
    expect(await started.exit).toBe(0);
    expect(started.name).toBe(entry);
  });
});
