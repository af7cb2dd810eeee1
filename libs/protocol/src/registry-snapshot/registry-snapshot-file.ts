// The registry's backup file, which `GET /v1/snapshot` gives and `PUT /v1/snapshot` takes, and
// which `meshctl registry snapshot save|restore|inspect` writes and reads: the registry's whole
// state with where it was taken. Our own format, not Consul's gzipped tar of a Raft snapshot:
//   "MESHWORK-REGISTRY-SNAPSHOT\n" | u16 BE format version | u32 BE header length | header JSON | state
// header JSON: {index, term, datacenter, stateBytes, sha256 (hex of the state bytes)}; the state is
// the registry's canonical state snapshot (what its Raft snapshots hold inside their envelope).
// Pure and runtime-neutral: the caller hashes the state (node:crypto in the registry, WebCrypto in
// meshctl). Pinned by apps/registry/testdata/backup/example.snap (version 1) and example-v2.snap.

export const registrySnapshotMagic = "MESHWORK-REGISTRY-SNAPSHOT\n";
/**
 * Bump with a reader for the old one when the layout or what the state may hold changes. 2: the
 * state may hold prepared queries, so a build that would drop them refuses the file; version 1
 * files (no queries) still restore.
 */
export const registrySnapshotFormatVersion = 2;
/** The versions `decodeRegistrySnapshotFile` reads (the layout is the same; the state says what it holds). */
export const readableRegistrySnapshotVersions: readonly number[] = [1, 2];

const magicBytes = new TextEncoder().encode(registrySnapshotMagic);
const fixedBytes = magicBytes.length + 2 + 4;
/** A header is a few hundred bytes; anything near this is not one of ours. */
const maxHeaderBytes = 64 * 1024;

/** Where the saved state was taken. */
export interface RegistrySnapshotMetadata {
  /** The Raft index the state was at (its `appliedIndex`). */
  readonly index: number;
  /** The Raft term of the entry at `index`. */
  readonly term: number;
  readonly datacenter: string;
}

export interface RegistrySnapshotFile extends RegistrySnapshotMetadata {
  /** The state's bytes. */
  readonly state: Uint8Array;
  /** Hex SHA-256 the header says the state has: the caller compares it with the state's. */
  readonly sha256: string;
}

export type RegistrySnapshotProblem = "bad-magic" | "unsupported-version" | "truncated" | "bad-header" | "trailing-bytes";

export type DecodedRegistrySnapshot =
  | { readonly ok: true; readonly file: RegistrySnapshotFile }
  | { readonly ok: false; readonly problem: RegistrySnapshotProblem; readonly message: string };

/** The file for `state` taken at `metadata`; `sha256Hex` is the hex SHA-256 of `state`. */
export function encodeRegistrySnapshotFile(metadata: RegistrySnapshotMetadata, state: Uint8Array, sha256Hex: string): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ index: metadata.index, term: metadata.term, datacenter: metadata.datacenter, stateBytes: state.byteLength, sha256: sha256Hex }),
  );
  const out = new Uint8Array(fixedBytes + header.length + state.length);
  out.set(magicBytes, 0);
  const view = new DataView(out.buffer);
  view.setUint16(magicBytes.length, registrySnapshotFormatVersion);
  view.setUint32(magicBytes.length + 2, header.length);
  out.set(header, fixedBytes);
  out.set(state, fixedBytes + header.length);
  return out;
}

/**
 * Reads a file `encodeRegistrySnapshotFile` wrote, checking in order: the magic, the format
 * version, the header, the state's length. Each problem's message says what is wrong and what to
 * do. The state's SHA-256 is the caller's to check, against `file.sha256`.
 */
export function decodeRegistrySnapshotFile(bytes: Uint8Array): DecodedRegistrySnapshot {
  const fail = (problem: RegistrySnapshotProblem, message: string): DecodedRegistrySnapshot => ({ ok: false, problem, message });
  if (bytes.length < magicBytes.length || magicBytes.some((byte, i) => bytes[i] !== byte)) {
    return fail("bad-magic", `not a registry snapshot (${bytes.length} bytes not starting with "MESHWORK-REGISTRY-SNAPSHOT"): use a file saved with GET /v1/snapshot or meshctl registry snapshot save`);
  }
  if (bytes.length < fixedBytes) return fail("truncated", `the snapshot is truncated (${bytes.length} bytes, its header is cut off): save it again`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(magicBytes.length);
  if (!readableRegistrySnapshotVersions.includes(version)) {
    return fail(
      "unsupported-version",
      `snapshot format version ${version}; this build reads versions ${readableRegistrySnapshotVersions.join(" and ")}: use the registry and meshctl of the version that saved it, or upgrade these`,
    );
  }
  const headerLength = view.getUint32(magicBytes.length + 2);
  if (headerLength > maxHeaderBytes) return fail("bad-header", `the snapshot's header length ${headerLength} is not plausible: the file is damaged; use another copy`);
  if (fixedBytes + headerLength > bytes.length) return fail("truncated", `the snapshot is truncated (${bytes.length} bytes, its header is cut off): save it again`);
  let header: Record<string, unknown> | null;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(fixedBytes, fixedBytes + headerLength))) as Record<string, unknown> | null;
  } catch {
    return fail("bad-header", "the snapshot's header is not JSON: the file is damaged; use another copy");
  }
  const { index, term, datacenter, stateBytes, sha256 } = header ?? {};
  const count = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
  if (!count(index) || !count(term) || !count(stateBytes) || typeof datacenter !== "string" || typeof sha256 !== "string") {
    return fail("bad-header", "the snapshot's header lacks index, term, datacenter, stateBytes or sha256: the file is damaged; use another copy");
  }
  const state = bytes.subarray(fixedBytes + headerLength);
  if (state.length < stateBytes) return fail("truncated", `the snapshot is truncated: its header announces ${stateBytes} bytes of state, the file holds ${state.length}; save it again or use a complete copy`);
  if (state.length > stateBytes) return fail("trailing-bytes", `the snapshot has ${state.length - stateBytes} bytes after its ${stateBytes} bytes of state: the file is damaged; use another copy`);
  return { ok: true, file: { index, term, datacenter, state, sha256 } };
}
