// The registry snapshot file's layout, and the problems a reader names in order.
import { describe, expect, it } from "vitest";
import { decodeRegistrySnapshotFile, encodeRegistrySnapshotFile, registrySnapshotMagic } from "./registry-snapshot-file.ts";

const state = new TextEncoder().encode('{"version":2,"kv":[]}');
const file = encodeRegistrySnapshotFile({ index: 7, term: 3, datacenter: "dc1" }, state, "ab".repeat(32));

describe("registry snapshot file", () => {
  it("round-trips the metadata, the state and its announced hash", () => {
    const decoded = decodeRegistrySnapshotFile(file);
    if (!decoded.ok) throw new Error(decoded.message);
    expect({ ...decoded.file, state: new TextDecoder().decode(decoded.file.state) }).toEqual({ index: 7, term: 3, datacenter: "dc1", sha256: "ab".repeat(32), state: '{"version":2,"kv":[]}' });
  });

  it("starts with the magic and version 2 in big-endian", () => {
    expect(new TextDecoder().decode(file.subarray(0, registrySnapshotMagic.length))).toBe(registrySnapshotMagic);
    expect([file[registrySnapshotMagic.length], file[registrySnapshotMagic.length + 1]]).toEqual([0, 2]);
  });

  it.each([
    ["bad-magic", () => new TextEncoder().encode("PK\u0003\u0004 a zip file")],
    ["truncated", () => file.subarray(0, registrySnapshotMagic.length + 3)],
    ["unsupported-version", () => withVersion(3)],
    ["truncated", () => file.subarray(0, file.length - 1)],
    ["trailing-bytes", () => new Uint8Array([...file, 0])],
    ["bad-header", () => withHeaderByte(0x7b, 0x5b)],
  ] as const)("names %s", (problem, bytes) => {
    expect(decodeRegistrySnapshotFile(bytes())).toMatchObject({ ok: false, problem, message: expect.stringMatching(/: .*(again|copy|snapshot save|upgrade)/) });
  });
});

function withVersion(version: number): Uint8Array {
  const copy = file.slice();
  new DataView(copy.buffer).setUint16(registrySnapshotMagic.length, version);
  return copy;
}

/** The file with the header's first byte `from` replaced by `to` (`{` → `[`: JSON, but not an object with the fields). */
function withHeaderByte(from: number, to: number): Uint8Array {
  const copy = file.slice();
  const at = registrySnapshotMagic.length + 6;
  expect(copy[at]).toBe(from);
  copy[at] = to;
  return copy;
}
