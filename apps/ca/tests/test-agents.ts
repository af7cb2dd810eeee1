// Test support for the rotation tests: a workload agent for `spiffe://cluster.local/ns/shop/sa/<sa>`
// that gets its SVIDs from the fixture's CA and follows its trust bundle, and a one-line
// request/reply over a TLS socket.
import type tls from "node:tls";
import type { SpiffeId } from "@meshwork/pki";
import { followTrustBundle, WorkloadAgent } from "@meshwork/workload-identity";
import { createCertificate, type CaFixture } from "./ca-fixture.ts";

export function shopId(sa: string): SpiffeId {
  return `spiffe://cluster.local/ns/shop/sa/${sa}` as SpiffeId;
}

export interface TestAgentOptions {
  readonly sa: string;
  /** Seeds the agent's renewal jitter. */
  readonly seed: number;
  readonly validitySeconds: number;
  /** A CA client to share; without one the agent opens its own and closes it on stop. */
  readonly client?: ReturnType<CaFixture["client"]>;
}

export async function startTestAgent(f: CaFixture, options: TestAgentOptions): Promise<{ agent: WorkloadAgent; stop: () => void }> {
  const client = options.client ?? f.client();
  let state = options.seed;
  const agent = await WorkloadAgent.start({
    spiffeId: shopId(options.sa),
    bundles: f.ca.authority.trustBundles(),
    clock: () => new Date(),
    timers: { setTimeout: (cb, ms) => setTimeout(cb, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    random: () => (state = (state * 16807) % 2147483647) / 2147483647,
    requestCertificate: async (csrPem, held) =>
      (await createCertificate(client, { csrPem, validitySeconds: options.validitySeconds, workloadToken: await f.token({ ns: "shop", sa: options.sa }), trustBundleVersion: held.trustBundleVersion })).certChain,
  });
  const unfollow = followTrustBundle(client, agent);
  return {
    agent,
    stop: () => {
      unfollow();
      agent.stop();
      if (!options.client) client.close();
    },
  };
}

/** Sends one line and resolves with the reply line (rejects if the connection closes first). */
export function exchange(socket: tls.TLSSocket, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const end = buffer.indexOf("\n");
      if (end >= 0) {
        socket.off("data", onData);
        socket.off("error", reject);
        socket.off("close", onClose);
        resolve(buffer.slice(0, end));
      }
    };
    const onClose = () => reject(new Error(`connection closed before the reply to ${line}`));
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("close", onClose);
    socket.write(`${line}\n`);
  });
}
