// Whole files as bytes, for `meshctl registry snapshot save|restore|inspect` (registry snapshots
// are binary). Failures are values with a short reason, as read-sources.ts gives them.
import { readFile, rename, writeFile } from "node:fs/promises";
import { failure, type ReadFailure } from "./read-sources.ts";

export type ReadBinaryFileResult = { readonly ok: true; readonly bytes: Uint8Array } | ReadFailure;
export type WriteBinaryFileResult = { readonly ok: true } | ReadFailure;

export async function readBinaryFile(path: string): Promise<ReadBinaryFileResult> {
  try {
    return { ok: true, bytes: await readFile(path) };
  } catch (error) {
    return failure(path, error);
  }
}

/** Writes `bytes` to a temporary file beside `path`, then renames it over `path`: never a half-written file under the name. */
export async function writeBinaryFile(path: string, bytes: Uint8Array): Promise<WriteBinaryFileResult> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, bytes, { mode: 0o600 });
    await rename(temporary, path);
    return { ok: true };
  } catch (error) {
    return failure(path, error);
  }
}
