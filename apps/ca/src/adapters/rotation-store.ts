// A root rotation's state in the CA's data dir, written atomically (temporary file + rename) at
// every step so a CA restarted mid-rotation resumes the same phase and serves the same bundle:
// rotation-state.json (phase, published bundle roots and version), next-root-key.pem (0600) and
// next-root-cert.pem (the root being rotated in). Retirement renames the next root's files over
// root-key.pem / root-cert.pem; a crash half-way is finished at the next start (`phase: "retiring"`).
import { access, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { certificatesToPem, exportPrivateKeyPem, loadSigningCa, splitPem, type SigningCa, type TrustDomain } from "@meshwork/pki";
import type { RotationPhase } from "../core/rotation-gate.ts";
import { dataDirFiles } from "./ca-material.ts";
import { KeyFileError, readPrivateKeyFile } from "./key-files.ts";

/** File names of a rotation inside `--data-dir`. */
export const rotationFiles = {
  state: "rotation-state.json",
  nextRootCert: "next-root-cert.pem",
  nextRootKey: "next-root-key.pem",
} as const;

/** What rotation-state.json holds. */
export interface RotationState {
  readonly format: 1;
  /** "retiring" only between renaming the next root's files and writing "idle". */
  readonly phase: RotationPhase | "retiring";
  /** The published bundle: its roots (PEM, in order) and version. */
  readonly bundleRootsPem: readonly string[];
  readonly bundleVersion: number;
  /** The bundle version that first held the new root (0 when idle). */
  readonly publishedVersion: number;
  readonly startedAt: string | undefined;
  readonly switchedAt: string | undefined;
  /** Root rotations completed by this CA. */
  readonly completed: number;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Writes `content` to `path` atomically: a temporary file beside it with `mode`, then rename. */
export async function writeFileAtomic(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.tmp`;
  await writeFile(temporary, content, { mode });
  await rename(temporary, path);
}

/** Reads rotation-state.json, or undefined when the CA never rotated its root. */
export async function readRotationState(dataDir: string): Promise<RotationState | undefined> {
  const path = join(dataDir, rotationFiles.state);
  if (!(await exists(path))) return undefined;
  let state: RotationState;
  try {
    state = JSON.parse(await readFile(path, "utf8")) as RotationState;
  } catch (error) {
    throw new KeyFileError(path, `${path} is not valid JSON (${(error as Error).message}); restore it from a backup, or remove it to abandon the root rotation it records`);
  }
  if (state.format !== 1 || !Array.isArray(state.bundleRootsPem) || typeof state.bundleVersion !== "number") {
    throw new KeyFileError(path, `${path} is not a rotation state this CA writes (format 1 with bundleRootsPem and bundleVersion); remove it to abandon the rotation`);
  }
  return state;
}

/** Writes rotation-state.json atomically (0600). */
export async function writeRotationState(dataDir: string, state: RotationState): Promise<void> {
  await writeFileAtomic(join(dataDir, rotationFiles.state), `${JSON.stringify(state, null, 2)}\n`, 0o600);
}

/** Persists the root being rotated in: key first (0600), then certificate, each atomically. */
export async function writeNextRoot(dataDir: string, root: SigningCa, privateKey: CryptoKey, crypto: Crypto): Promise<void> {
  await writeFileAtomic(join(dataDir, rotationFiles.nextRootKey), await exportPrivateKeyPem(privateKey, crypto), 0o600);
  await writeFileAtomic(join(dataDir, rotationFiles.nextRootCert), certificatesToPem(root.chain), 0o644);
}

/** Loads the root being rotated in (key permissions checked like the root key's). */
export async function readNextRoot(dataDir: string, trustDomain: TrustDomain, crypto: Crypto): Promise<SigningCa> {
  const certPath = join(dataDir, rotationFiles.nextRootCert);
  const keyPath = join(dataDir, rotationFiles.nextRootKey);
  if (!(await exists(certPath)) || !(await exists(keyPath))) {
    throw new KeyFileError(certPath, `${rotationFiles.state} records a root rotation but ${certPath} or ${keyPath} is missing; restore them, or remove ${rotationFiles.state} to abandon the rotation`);
  }
  const privateKey = await readPrivateKeyFile(keyPath, crypto);
  const split = splitPem(await readFile(certPath, "utf8"));
  if (!split.ok) throw new KeyFileError(certPath, `${certPath} is not PEM: ${split.detail}`);
  const loaded = await loadSigningCa({ chain: split.blocks.map((b) => b.der), privateKey, trustDomain, crypto });
  if (!loaded.ok) throw new KeyFileError(certPath, `${certPath}: ${loaded.reason}: ${loaded.detail}`);
  return loaded.ca;
}

/** Makes the next root the CA's root: renames its files over root-key.pem and root-cert.pem (idempotent). */
export async function promoteNextRoot(dataDir: string): Promise<void> {
  const moves: [string, string][] = [
    [rotationFiles.nextRootKey, dataDirFiles.rootKey],
    [rotationFiles.nextRootCert, dataDirFiles.rootCert],
  ];
  for (const [from, to] of moves) if (await exists(join(dataDir, from))) await rename(join(dataDir, from), join(dataDir, to));
}

/** Finishes a retirement a crash interrupted: promotes the next root and records "idle". Call before loading the root. */
export async function recoverRotation(dataDir: string): Promise<void> {
  const state = await readRotationState(dataDir);
  if (state?.phase !== "retiring") return;
  await promoteNextRoot(dataDir);
  await writeRotationState(dataDir, { ...state, phase: "idle", publishedVersion: 0 });
}

/** Removes leftovers of an abandoned rotation's next root (not the state). */
export async function removeNextRoot(dataDir: string): Promise<void> {
  for (const name of [rotationFiles.nextRootKey, rotationFiles.nextRootCert]) await unlink(join(dataDir, name)).catch(() => undefined);
}
