// The registry's readiness (/readyz): a server is ready when it is a member of a cluster with a
// known leader and caught up with it — a linearizable read (Raft ReadIndex: the leader confirms
// its leadership and its commit index, and this server applies up to that index) completes here
// within the timeout. A leader of a one-node cluster is ready at once.
import type { ReadConsistency } from "../registry-contract.ts";

export interface ReadinessView {
  readonly leaderId: string | null;
  readonly appliedIndex: number;
  readBarrier(consistency: ReadConsistency): Promise<void>;
}

export type Readiness =
  | { readonly ready: true; readonly leader: string; readonly applied: number }
  | { readonly ready: false; readonly reason: string; readonly applied: number };

/** Never rejects; `timeoutMs` bounds the wait for the ReadIndex round trip and catch-up. */
export async function checkReadiness(view: ReadinessView, timeoutMs: number): Promise<Readiness> {
  const leader = view.leaderId;
  if (leader === null) return { ready: false, reason: "no known Raft leader (election in progress, no quorum, or this server is not a member yet)", applied: view.appliedIndex };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const outcome = await Promise.race([view.readBarrier("consistent").then(() => "caught-up" as const), timedOut]);
    if (outcome === "timeout") {
      return { ready: false, reason: `not caught up: applied index ${view.appliedIndex} did not reach the leader's commit index within ${timeoutMs} ms`, applied: view.appliedIndex };
    }
    return { ready: true, leader, applied: view.appliedIndex };
  } catch (error) {
    return { ready: false, reason: `the leader did not confirm a read index: ${error instanceof Error ? error.message : String(error)}`, applied: view.appliedIndex };
  } finally {
    clearTimeout(timer);
  }
}
