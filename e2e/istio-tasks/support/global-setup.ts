// Vitest global setup of the e2e project: gives the test files one state directory for the local
// mesh (started lazily by the first file that calls useLocalMesh, so the other e2e suites do not
// pay for it) and stops that mesh when the run ends, passed or failed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { stopLocalMesh } from "./local-mesh.ts";

declare module "vitest" {
  export interface ProvidedContext {
    meshStateDir: string;
  }
}

export default function setup(project: TestProject): () => Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), "meshwork-e2e-mesh-"));
  project.provide("meshStateDir", stateDir);
  return async () => {
    await stopLocalMesh(stateDir);
    if (process.env["MESHWORK_E2E_KEEP_STATE"] === undefined) rmSync(stateDir, { recursive: true, force: true });
    else process.stdout.write(`e2e mesh state kept in ${stateDir}\n`);
  };
}
