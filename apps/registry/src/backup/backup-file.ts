// The file `GET /v1/snapshot` gives and `PUT /v1/snapshot` takes: the registry's whole state with
// where it was taken, in the layout of @meshwork/protocol/registry-snapshot (which meshctl reads
// too), its state RegistryState's canonical snapshot bytes, hashed here with node:crypto.
import { createHash } from "node:crypto";
import {
  decodeRegistrySnapshotFile,
  encodeRegistrySnapshotFile,
  registrySnapshotFormatVersion,
  type RegistrySnapshotMetadata,
  type RegistrySnapshotProblem,
} from "@meshwork/protocol/registry-snapshot";

export const backupFormatVersion = registrySnapshotFormatVersion;

export type BackupMetadata = RegistrySnapshotMetadata;

export interface BackupFile extends BackupMetadata {
  /** RegistryState.snapshot() bytes. */
  readonly state: Uint8Array;
}

export type BackupProblem = RegistrySnapshotProblem | "checksum-mismatch";

export type DecodedBackup = { readonly ok: true; readonly file: BackupFile } | { readonly ok: false; readonly problem: BackupProblem; readonly message: string };

/** The file for `state` taken at `metadata`. */
export function encodeBackupFile(metadata: BackupMetadata, state: Uint8Array): Uint8Array {
  return encodeRegistrySnapshotFile(metadata, state, sha256Hex(state));
}

/**
 * Reads a file `encodeBackupFile` wrote, checking in order: the magic, the format version, the
 * header, the state's length, its SHA-256. Each problem's message says what is wrong and what to do.
 */
export function decodeBackupFile(data: Uint8Array): DecodedBackup {
  const decoded = decodeRegistrySnapshotFile(data);
  if (!decoded.ok) return decoded;
  const { index, term, datacenter, state, sha256 } = decoded.file;
  if (sha256Hex(state) !== sha256) return { ok: false, problem: "checksum-mismatch", message: "the snapshot's SHA-256 does not match its state: the file is damaged; use another copy" };
  return { ok: true, file: { index, term, datacenter, state } };
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
