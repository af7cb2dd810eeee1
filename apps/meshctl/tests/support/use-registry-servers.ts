// apps/registry's entry point as child processes on loopback for meshctl's process-level tests:
// each server on free Raft and HTTP ports (so --peers and its URL are known up front), in its own
// temp data dir; all killed and their dirs removed after the file's tests.
import { fileURLToPath } from "node:url";
import { eventually as poll, freePort, ProcessGroup, type LogLine } from "@meshwork/testing/processes";
import { afterAll } from "vitest";
import { workspaceRoot } from "./run-meshctl.ts";

const registryMain = fileURLToPath(new URL("../../../registry/src/main.ts", import.meta.url));

export interface RegistryServer {
  readonly id: string;
  readonly raftAddress: string;
  readonly url: string;
  /** The server's "ready" log line. */
  readonly ready: LogLine;
}

/** Starts server `id` (bootstrapping alone with `peers`, else empty) with `extra` flags; waits until it is ready. */
export type StartRegistryServer = (id: string, peers: boolean, extra: readonly string[]) => Promise<RegistryServer>;

/** Registers the teardown (afterAll) and gives the function that starts servers. */
export function useRegistryServers(): StartRegistryServer {
  const processes = new ProcessGroup();
  afterAll(() => processes.close());
  return async (id, peers, extra) => {
    const dataDir = await processes.tempDir(`meshctl-registry-${id}-`);
    const [raftPort, httpPort] = [await freePort(), await freePort()];
    const args = ["--node-id", id, "--data-dir", dataDir, "--raft-port", String(raftPort), "--http-port", String(httpPort), "--admin-port", "0", "--tick-ms", "20", ...extra];
    if (peers) args.push("--peers", `${id}=127.0.0.1:${raftPort}`);
    const server = processes.startSource(registryMain, args, { cwd: workspaceRoot, name: `registry ${id}` });
    const ready = await server.waitForLine("ready");
    return { id, raftAddress: `127.0.0.1:${raftPort}`, url: `http://127.0.0.1:${httpPort}`, ready };
  };
}

/** Polls `check` until it holds (15 s at most: a bound on waiting, not a timing assertion). */
export const eventually = (what: string, check: () => Promise<boolean>): Promise<true> => poll(what, check, { timeoutMs: 15_000, intervalMs: 50 });
