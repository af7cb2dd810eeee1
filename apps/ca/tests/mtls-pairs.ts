// mTLS pairs for the CA's rotation tests: a TLS server on one test agent's SVID and a client on
// another's, each side checking the other's SPIFFE ID against its agent's live trust bundle.
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { spiffeServerIdentityCheck, verifyClientChain } from "@meshwork/pki";
import type { WorkloadAgent } from "@meshwork/workload-identity";
import type { CaFixture } from "./ca-fixture.ts";
import { exchange, shopId, startTestAgent } from "./test-agents.ts";

/** Where the pairs get their SVIDs. */
export interface PairContext {
  readonly fixture: CaFixture;
  readonly client: ReturnType<CaFixture["client"]>;
  readonly svidTtlSeconds: number;
}

/** One mTLS pair: a server on the "api-i" agent, a client on the "web-i" agent, and their counters. */
export interface Pair {
  readonly index: number;
  readonly server: tls.Server;
  readonly serverAgent: WorkloadAgent;
  readonly clientAgent: WorkloadAgent;
  readonly port: number;
  readonly detach: () => void;
  readonly stopAgents: () => void;
  longRequests: number;
  freshRequests: number;
}

export async function startPair(context: PairContext, index: number, failures: string[]): Promise<Pair> {
  const { fixture: f, client: caClient, svidTtlSeconds } = context;
  const [server_, client_] = await Promise.all([startTestAgent(f, { sa: `api-${index}`, seed: 2 * index + 1, validitySeconds: svidTtlSeconds, client: caClient }), startTestAgent(f, { sa: `web-${index}`, seed: 2 * index + 2, validitySeconds: svidTtlSeconds, client: caClient })]);
  const serverAgent = server_.agent;
  const clientId = shopId(`web-${index}`);
  const server = tls.createServer({ ...serverAgent.current.material, requestCert: true, rejectUnauthorized: true }, (socket) => {
    const peer = verifyClientChain(socket.getPeerCertificate(true), { bundles: serverAgent.bundles, now: new Date() });
    if (!peer.ok || peer.spiffeId !== clientId) {
      failures.push(`pair ${index}: server refused the client: ${peer.ok ? peer.spiffeId : peer.detail}`);
      socket.destroy();
      return;
    }
    let buffer = "";
    socket.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
        socket.write(`pong ${buffer.slice(0, end)}\n`);
        buffer = buffer.slice(end + 1);
      }
    });
    socket.on("error", () => socket.destroy());
  });
  server.on("tlsClientError", (error) => failures.push(`pair ${index}: server handshake failed: ${String(error)}`));
  const detach = serverAgent.serve(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    index,
    server,
    serverAgent,
    clientAgent: client_.agent,
    port,
    detach,
    stopAgents: () => {
      server_.stop();
      client_.stop();
    },
    longRequests: 0,
    freshRequests: 0,
  };
}

/** A client connection of `pair` with the client agent's current SVID and bundle, checking the server is api-i. */
export async function connect(pair: Pair): Promise<tls.TLSSocket> {
  const checkServerIdentity = spiffeServerIdentityCheck([shopId(`api-${pair.index}`)], { bundles: pair.clientAgent.bundles, clock: () => new Date() });
  const socket = tls.connect({ host: "127.0.0.1", port: pair.port, servername: `api-${pair.index}.shop`, ...pair.clientAgent.current.material, checkServerIdentity });
  await once(socket, "secureConnect");
  return socket;
}

/** How a pair's client paces its two loops (see {@link drive}). */
export interface DrivePace {
  /** Pause between requests on the long-lived connection. */
  readonly longPauseMs: number;
  /** Pause between requests on new connections (each a full mTLS handshake). */
  readonly freshPauseMs: number;
  /** Delay before the first new connection, so the pairs' handshakes spread out. */
  readonly offsetMs: number;
}

/**
 * The pair's client, two loops until `done()`: requests on one long-lived connection every
 * `longPauseMs`, and a request on a new connection every `freshPauseMs` after `offsetMs`.
 * Every failed request is added to `failures`.
 */
export async function drive(pair: Pair, pace: DrivePace, done: () => boolean, failures: string[]): Promise<void> {
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const longLoop = async () => {
    let longLived: tls.TLSSocket | undefined;
    for (let round = 0; !done(); round++) {
      try {
        longLived ??= await connect(pair);
        const reply = await exchange(longLived, `long-${round}`);
        if (reply !== `pong long-${round}`) throw new Error(`unexpected reply ${reply}`);
        pair.longRequests++;
      } catch (error) {
        failures.push(`pair ${pair.index} long-lived round ${round}: ${String(error)}`);
        longLived?.destroy();
        longLived = undefined;
      }
      await pause(pace.longPauseMs);
    }
    longLived?.destroy();
  };
  const freshLoop = async () => {
    await pause(pace.offsetMs);
    for (let round = 0; !done(); round++) {
      try {
        const fresh = await connect(pair);
        const reply = await exchange(fresh, `fresh-${round}`);
        fresh.destroy();
        if (reply !== `pong fresh-${round}`) throw new Error(`unexpected reply ${reply}`);
        pair.freshRequests++;
      } catch (error) {
        failures.push(`pair ${pair.index} new connection round ${round}: ${String(error)}`);
      }
      await pause(pace.freshPauseMs);
    }
  };
  await Promise.all([longLoop(), freshLoop()]);
}
