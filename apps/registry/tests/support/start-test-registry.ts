// Starts a real one-node registry in-process (startRegistry: DurableStorage in a temp dir, Raft,
// Consul HTTP API, admin listener) on free loopback ports, waits until it leads, and stops it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSettings } from "@meshwork/runtime";
import { freePort } from "@meshwork/testing/processes";
import { createLogger } from "@meshwork/telemetry";
import { registrySettings } from "../../src/server/registry-settings.ts";
import { type RunningRegistry, startRegistry } from "../../src/server/start-registry.ts";

export interface TestRegistry extends RunningRegistry {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startTestRegistry(nodeId = "n1"): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "registry-test-"));
  const raftPort = await freePort();
  const read = readSettings(registrySettings, {
    argv: ["--node-id", nodeId, "--peers", `${nodeId}=127.0.0.1:${raftPort}`, "--data-dir", dir, "--raft-port", String(raftPort), "--http-port", "0", "--admin-port", "0", "--dns-port", "0", "--grpc-port", "0", "--tick-ms", "10"],
    env: {},
  });
  if (read.type !== "settings") throw new Error(`test registry settings: ${JSON.stringify(read)}`);
  const stops: (() => Promise<void> | void)[] = [];
  const running = await startRegistry(read.settings, { logger: createLogger({ name: "registry", write: () => undefined }), onStop: (_name, hook) => void stops.push(hook), processMetrics: false });
  for (let i = 0; i < 1000 && !running.node.isLeader; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!running.node.isLeader) throw new Error("the test registry did not elect itself within 10 s");
  return {
    ...running,
    url: `http://127.0.0.1:${running.httpPort}`,
    stop: async () => {
      for (const stop of stops.reverse()) await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
