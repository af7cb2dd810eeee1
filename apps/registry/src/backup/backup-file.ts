// The file `GET /v1/snapshot` gives and `PUT /v1/snapshot` takes (meshctl registry snapshot
// save|restore|inspect): the registry's whole state with where it was taken. Our own format, not
// Consul's gzipped tar of a Raft snapshot:
//   "MESHWORK-REGISTRY-SNAPSHOT\n" | u16 BE format version | u32 BE header length | header JSON | state
// header JSON: {index, term, datacenter, stateBytes, sha256 (hex of the state bytes)}; the state is
// RegistryState's canonical snapshot bytes (what Raft snapshots hold inside their envelope).
// apps/meshctl reads the same layout (src/core/read-registry-snapshot.ts); both read
// testdata/backup/example.snap (version 1) and example-v2.snap (version 2, pinned).
import { createHash } from "node:crypto";

export const backupMagic = "MESHWORK-REGISTRY-SNAPSHOT\n";
/**
 * Bump with a reader for the old one when the layout or what the state may hold changes. 2: the
 * state may hold prepared queries (RegistryState snapshot version 2), so a build that would drop
 * them refuses the file; version 1 files (no queries) still restore.
 */
export const backupFormatVersion = 2;
/** The versions `decodeBackupFile` reads (the layout is the same; the state says what it holds). */
export const readableBackupFormatVersions: readonly number[] = [1, 2];

const magicBytes = Buffer.from(backupMagic, "latin1");
const fixedBytes = magicBytes.length + 2 + 4;
/** A header is a few hundred bytes; anything near this is not one of ours. */
const maxHeaderBytes = 64 * 1024;

/** Where the saved state was taken. */
export interface BackupMetadata {
  /** The Raft index the state was at (its `appliedIndex`). */
  readonly index: number;
  /** The Raft term of the entry at `index`. */
  readonly term: number;
  readonly datacenter: string;
}

export interface BackupFile extends BackupMetadata {
  /** RegistryState.snapshot() bytes. */
  readonly state: Uint8Array;
}

export type BackupProblem = "bad-magic" | "unsupported-version" | "truncated" | "bad-header" | "trailing-bytes" | "checksum-mismatch";

export type DecodedBackup = { readonly ok: true; readonly file: BackupFile } | { readonly ok: false; readonly problem: BackupProblem; readonly message: string };

/** The file for `state` taken at `metadata`. */
export function encodeBackupFile(metadata: BackupMetadata, state: Uint8Array): Uint8Array {
  const header = Buffer.from(
    JSON.stringify({ index: metadata.index, term: metadata.term, datacenter: metadata.datacenter, stateBytes: state.byteLength, sha256: sha256Hex(state) }),
    "utf8",
  );
  const fixed = Buffer.alloc(fixedBytes);
  magicBytes.copy(fixed, 0);
  fixed.writeUInt16BE(backupFormatVersion, magicBytes.length);
  fixed.writeUInt32BE(header.length, magicBytes.length + 2);
  return Buffer.concat([fixed, header, state]);
}

/**
 * Reads a file `encodeBackupFile` wrote, checking in order: the magic, the format version, the
 * header, the state's length, its SHA-256. Each problem's message says what is wrong and what to do.
 */
export function decodeBackupFile(data: Uint8Array): DecodedBackup {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const fail = (problem: BackupProblem, message: string): DecodedBackup => ({ ok: false, problem, message });
  if (bytes.length < magicBytes.length || !bytes.subarray(0, magicBytes.length).equals(magicBytes)) {
    return fail("bad-magic", `not a registry snapshot (${bytes.length} bytes not starting with "MESHWORK-REGISTRY-SNAPSHOT"): use a file saved with GET /v1/snapshot or meshctl registry snapshot save`);
  }
  if (bytes.length < fixedBytes) return fail("truncated", `the snapshot is truncated (${bytes.length} bytes, its header is cut off): save it again`);
  const version = bytes.readUInt16BE(magicBytes.length);
  if (!readableBackupFormatVersions.includes(version)) {
    return fail("unsupported-version", `snapshot format version ${version}; this build reads versions ${readableBackupFormatVersions.join(" and ")}: restore it with the registry version that saved it, or upgrade this one`);
  }
  const headerLength = bytes.readUInt32BE(magicBytes.length + 2);
  if (headerLength > maxHeaderBytes) return fail("bad-header", `the snapshot's header length ${headerLength} is not plausible: the file is damaged; use another copy`);
  if (fixedBytes + headerLength > bytes.length) return fail("truncated", `the snapshot is truncated (${bytes.length} bytes, its header is cut off): save it again`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(bytes.subarray(fixedBytes, fixedBytes + headerLength).toString("utf8")) as Record<string, unknown>;
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
  if (sha256Hex(state) !== sha256) return fail("checksum-mismatch", "the snapshot's SHA-256 does not match its state: the file is damaged; use another copy");
  return { ok: true, file: { index, term, datacenter, state } };
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
