// For test files: the running local mesh (started on first use; see local-mesh.ts).
import { inject } from "vitest";
import { ensureLocalMesh, stopLocalMesh, waitForMeshReady, type MeshEndpoints } from "./local-mesh.ts";

/**
 * Timeout of a beforeAll that may start the mesh: from source on a loaded 2-core machine its ~20
 * processes take minutes (meshctl's --ready-timeout is 300 s per process).
 */
export const MESH_HOOK_TIMEOUT = 600_000;

export async function useLocalMesh(): Promise<MeshEndpoints> {
  const mesh = await ensureLocalMesh(inject("meshStateDir"));
  // A drill before this file may have killed a part that meshctl is still restarting.
  await waitForMeshReady(mesh);
  return mesh;
}

/** Stops the shared mesh (a drill that damaged it); the next useLocalMesh starts a fresh one. */
export async function stopSharedMesh(): Promise<void> {
  await stopLocalMesh(inject("meshStateDir"));
}
