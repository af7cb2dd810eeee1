// Steady load through the ingress gateway for a drill: `concurrency` loops each GET /productpage
// at a steady pace until stopped. A request fails when it gets no answer, an answer other than 200,
// or a page that could not fetch details or reviews (what a user would call broken).
import { isAlive, readUpState, type MeshEndpoints, type UpState } from "../../istio-tasks/support/local-mesh.ts";
import { stopSharedMesh } from "../../istio-tasks/support/use-local-mesh.ts";

export interface LoadResult {
  readonly total: number;
  readonly failed: number;
  /** Failures by kind: "HTTP 503", "no answer (fetch failed)", "page: Error fetching product reviews". */
  readonly byKind: Readonly<Record<string, number>>;
  /** Requests that succeeded after `mark()` was called (proof that the mesh kept serving). */
  readonly okAfterMark: number;
  readonly seconds: number;
}

export interface Load {
  /** From now on, count successes separately (call right after the fault). */
  mark(): void;
  stop(): Promise<LoadResult>;
}

/** `concurrency` loops, each starting a request at most every `intervalMs` (3 × 10/s by default). */
export function startLoad(mesh: MeshEndpoints, concurrency = 3, intervalMs = 100): Load {
  let running = true;
  let marked = false;
  let total = 0;
  let failed = 0;
  let okAfterMark = 0;
  const byKind: Record<string, number> = {};
  const started = performance.now();
  const fail = (kind: string) => {
    failed++;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
  };
  const loop = async () => {
    while (running) {
      const due = performance.now() + intervalMs;
      total++;
      try {
        const response = await fetch(`${mesh.gateway}/productpage`, { signal: AbortSignal.timeout(15_000) });
        const html = await response.text();
        if (response.status !== 200) fail(`HTTP ${response.status}`);
        else if (html.includes("Error fetching product details")) fail("page: Error fetching product details");
        else if (html.includes("Error fetching product reviews")) fail("page: Error fetching product reviews");
        else if (marked) okAfterMark++;
      } catch (error) {
        fail(`no answer (${(error as Error).message})`);
      }
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    mark: () => {
      marked = true;
    },
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return { total, failed, byKind, okAfterMark, seconds: Math.round((performance.now() - started) / 100) / 10 };
    },
  };
}

export function describeLoad(drill: string, r: LoadResult): string {
  const share = r.total === 0 ? 0 : (100 * r.failed) / r.total;
  const kinds = Object.entries(r.byKind).map(([k, n]) => `${k} × ${n}`).join(", ");
  return `drill "${drill}": ${r.failed} failed of ${r.total} requests in ${r.seconds} s (${share.toFixed(3)} %)${kinds === "" ? "" : `: ${kinds}`}`;
}

/** The pid of a process of the mesh (up.json), failing with the list when it is not there. */
export function pidOf(mesh: MeshEndpoints, name: string): number {
  const up = readUpState(mesh.stateDir);
  const found = up?.processes.find((p) => p.name === name);
  if (found === undefined) throw new Error(`no process "${name}" in ${mesh.stateDir}/up.json (${up?.processes.map((p) => p.name).join(", ") ?? "no up.json"})`);
  return found.pid;
}

/** Whether meshctl up still runs every part (a drill must not take the whole mesh down). */
export function meshIntact(mesh: MeshEndpoints): { readonly meshctl: boolean; readonly dead: readonly string[] } {
  const up: UpState | undefined = readUpState(mesh.stateDir);
  if (up === undefined) return { meshctl: false, dead: ["(no up.json: meshctl up stopped the mesh)"] };
  return { meshctl: isAlive(up.pid), dead: up.processes.filter((p) => !isAlive(p.pid)).map((p) => p.name).sort() };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** After a drill: a mesh with a part that is gone (not restarted) is stopped, so the next file starts a whole one. */
export async function stopIfDamaged(mesh: MeshEndpoints | undefined): Promise<void> {
  if (mesh === undefined) return;
  const state = meshIntact(mesh);
  if (!state.meshctl || state.dead.length > 0) await stopSharedMesh();
}
