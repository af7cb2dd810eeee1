import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { countRegistryState, formatRegistrySnapshot, readRegistrySnapshot } from "./read-registry-snapshot.ts";

// Written by apps/registry's encodeBackupFile (its backup-file.test.ts pins the same bytes).
const example = readFileSync(fileURLToPath(new URL("../../../registry/testdata/backup/example.snap", import.meta.url)));
const exampleV2 = readFileSync(fileURLToPath(new URL("../../../registry/testdata/backup/example-v2.snap", import.meta.url)));

describe("readRegistrySnapshot", () => {
  it("reads the registry's example file: header, state and its counts", () => {
    const read = readRegistrySnapshot(example);
    if (!read.ok) throw new Error(read.problem);
    expect(read.snapshot).toMatchObject({ index: 4, term: 2, datacenter: "dc1", sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const counts = countRegistryState(read.snapshot.state);
    expect(counts).toEqual({ kvKeys: 2, nodes: 1, services: 1, checks: 1, sessions: 1, queries: 0 });
    expect(formatRegistrySnapshot(read.snapshot, counts ?? { kvKeys: 0, nodes: 0, services: 0, checks: 0, sessions: 0, queries: 0 })).toBe(
      ["Index        4", "Term         2", "Datacenter   dc1", `State bytes  ${read.snapshot.state.length}`, "KV keys      2", "Nodes        1", "Services     1", "Checks       1", "Sessions     1", "Queries      0", ""].join("\n"),
    );
  });

  it("reads the current (version 2) file with prepared queries in its state", () => {
    const read = readRegistrySnapshot(exampleV2);
    if (!read.ok) throw new Error(read.problem);
    expect(read.snapshot).toMatchObject({ index: 5, term: 2, datacenter: "dc1" });
    expect(countRegistryState(read.snapshot.state)).toEqual({ kvKeys: 2, nodes: 1, services: 1, checks: 1, sessions: 1, queries: 1 });
  });

  it("names what is wrong with a file that is not one, of another version, or cut short", () => {
    expect(readRegistrySnapshot(new TextEncoder().encode("hello"))).toMatchObject({ ok: false, problem: expect.stringContaining("not a registry snapshot") });
    const other = Buffer.from(example);
    other.writeUInt16BE(3, "MESHWORK-REGISTRY-SNAPSHOT\n".length);
    expect(readRegistrySnapshot(other)).toMatchObject({ ok: false, problem: expect.stringContaining("format version 3; this build reads versions 1 and 2") });
    expect(readRegistrySnapshot(example.subarray(0, example.length - 1))).toMatchObject({ ok: false, problem: expect.stringContaining("truncated") });
    expect(readRegistrySnapshot(example.subarray(0, 30))).toMatchObject({ ok: false, problem: expect.stringContaining("truncated") });
    expect(countRegistryState(new TextEncoder().encode("{}"))).toBeUndefined();
  });
});
