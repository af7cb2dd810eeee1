import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RegistryState } from "../state/registry-state.ts";
import { encodeBase64 } from "../state/base64.ts";
import { parseCommand } from "../state/encode-command.ts";
import { backupFormatVersion, decodeBackupFile, encodeBackupFile } from "./backup-file.ts";

/** A version 1 file (saved before prepared queries existed), kept as it was: old files must still restore. */
const EXAMPLE_V1 = join(import.meta.dirname, "../../testdata/backup/example.snap");
/** The current layout (version 2). */
const EXAMPLE = join(import.meta.dirname, "../../testdata/backup/example-v2.snap");

/** A small state: two keys, a session, a node with a service and its check, a prepared query. */
function exampleState(): Uint8Array {
  const state = new RegistryState();
  const b64 = (text: string): string => encodeBase64(new TextEncoder().encode(text));
  const commands = [
    { op: "kv-set", key: "app/a", value: b64("1") },
    { op: "kv-set", key: "app/b", value: b64("2") },
    { op: "session-create", id: "s1", name: "lock", node: "n1", ttlMs: 0, lockDelayMs: 0, behavior: "release", checks: [] },
    {
      op: "catalog-register",
      node: "n1",
      address: "10.0.0.1",
      service: { id: "web-1", service: "web", address: "", port: 80, tags: [], meta: {} },
      checks: [{ checkId: "service:web-1", name: "web", serviceId: "web-1", status: "passing", output: "", type: "ttl", ttlMs: 30_000 }],
    },
    {
      op: "query-set",
      create: true,
      query: {
        id: "8f246b77-f3e1-4f88-9b48-8ec93abf3e05",
        name: "web-query",
        session: "s1",
        token: "",
        template: { type: "", regexp: "", removeEmptyTags: false },
        service: { service: "web", failover: { nearestN: 0, datacenters: [] }, onlyPassing: true, ignoreCheckIds: [], near: "_agent", tags: ["!canary"], nodeMeta: {}, serviceMeta: {} },
        dns: { ttl: "10s" },
      },
    },
  ];
  commands.forEach((command, i) => expect(state.apply(i + 1, parseCommand(command), 1_700_000_000_000)).toEqual({ ok: true }));
  return state.snapshot();
}

describe("backup file", () => {
  const state = exampleState();
  const file = encodeBackupFile({ index: 5, term: 2, datacenter: "dc1" }, state);

  it("round-trips the metadata and the state bytes", () => {
    const decoded = decodeBackupFile(file);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect({ ...decoded.file, state: undefined }).toEqual({ index: 5, term: 2, datacenter: "dc1", state: undefined });
    expect(Buffer.from(decoded.file.state).equals(Buffer.from(state))).toBe(true);
  });

  it("is the layout pinned in testdata/backup/example-v2.snap (UPDATE_TESTDATA=1 rewrites it)", () => {
    if (process.env["UPDATE_TESTDATA"] === "1") writeFileSync(EXAMPLE, file);
    expect(Buffer.from(file).equals(readFileSync(EXAMPLE))).toBe(true);
  });

  it("still reads a version 1 file (testdata/backup/example.snap, which meshctl's reader also reads): its state restores, without prepared queries", () => {
    const decoded = decodeBackupFile(readFileSync(EXAMPLE_V1));
    if (!decoded.ok) throw new Error(decoded.message);
    expect({ index: decoded.file.index, term: decoded.file.term, datacenter: decoded.file.datacenter }).toEqual({ index: 4, term: 2, datacenter: "dc1" });
    const restored = RegistryState.restore(decoded.file.state);
    expect(restored.kvList("").map((e) => e.key)).toEqual(["app/a", "app/b"]);
    expect(restored.serviceInstances("web")).toHaveLength(1);
    expect(restored.queries()).toEqual([]);
    expect(restored.queryIndex()).toBe(0);
  });

  it("carries the prepared queries in the current version", () => {
    const decoded = decodeBackupFile(file);
    if (!decoded.ok) throw new Error(decoded.message);
    expect(RegistryState.restore(decoded.file.state).queries().map((q) => [q.name, q.session, q.dns.ttl])).toEqual([["web-query", "s1", "10s"]]);
  });

  it("refuses a file without the magic", () => {
    expect(decodeBackupFile(Buffer.from("PK\u0003\u0004 a Consul snapshot"))).toMatchObject({ ok: false, problem: "bad-magic", message: expect.stringContaining("not a registry snapshot") });
    expect(decodeBackupFile(new Uint8Array(0))).toMatchObject({ ok: false, problem: "bad-magic" });
  });

  it("refuses another format version, naming both", () => {
    const other = Buffer.from(file);
    other.writeUInt16BE(backupFormatVersion + 1, "MESHWORK-REGISTRY-SNAPSHOT\n".length);
    expect(decodeBackupFile(other)).toMatchObject({ ok: false, problem: "unsupported-version", message: expect.stringMatching(/version 3; this build reads versions 1 and 2/) });
  });

  it("refuses a changed byte of the state with a checksum mismatch", () => {
    const damaged = Buffer.from(file);
    const at = damaged.length - 10;
    damaged[at] = (damaged[at] as number) ^ 0x01;
    expect(decodeBackupFile(damaged)).toMatchObject({ ok: false, problem: "checksum-mismatch", message: expect.stringContaining("use another copy") });
  });

  it("refuses a file cut anywhere, and bytes appended", () => {
    for (let length = 0; length < file.length; length += 7) {
      const decoded = decodeBackupFile(file.subarray(0, length));
      expect(decoded.ok, `cut at ${length}`).toBe(false);
      if (!decoded.ok && length >= "MESHWORK-REGISTRY-SNAPSHOT\n".length + 6) expect(decoded.problem, `cut at ${length}`).toMatch(/truncated|bad-header/);
    }
    expect(decodeBackupFile(file.subarray(0, file.length - 1))).toMatchObject({ ok: false, problem: "truncated", message: expect.stringContaining(`announces ${state.length} bytes of state`) });
    expect(decodeBackupFile(Buffer.concat([file, Buffer.from("x")]))).toMatchObject({ ok: false, problem: "trailing-bytes" });
  });
});
