// Test fixture: a real one-node RegistryNode (Raft over DurableStorage in a temporary directory,
// the real RegistryState), started and elected, for the DNS and Watch integration tests.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RegistryNode } from "../../src/server/registry-node.ts";
import { registryStateMachine } from "../../src/server/registry-state-machine.ts";

export interface OneNodeRegistry {
  readonly node: RegistryNode;
  close(): Promise<void>;
}

/** Starts node "n1" and resolves once it leads (rejects after `timeoutMs`). */
export async function startOneNodeRegistry(timeoutMs = 15_000): Promise<OneNodeRegistry> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-one-"));
  const node = await RegistryNode.start({
    nodeId: "n1",
    dataDir,
    bootstrap: ["n1"],
    raftBind: { host: "127.0.0.1", port: 0 },
    httpAddress: "127.0.0.1:8500",
    stateMachine: registryStateMachine,
    tickMs: 20,
    electionTick: 10,
    heartbeatTick: 1,
    log: () => undefined,
  });
  const close = async (): Promise<void> => {
    await node.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!node.isLeader) {
    if (Date.now() > deadline) {
      await close();
      throw new Error(`one-node registry did not elect itself within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { node, close };
}
