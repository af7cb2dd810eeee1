// Certificates rotate under traffic: two workload agents (server "api", client "web") get 3-second
// SVIDs from a real CA over gRPC, renew them continuously and follow the CA's trust bundle. An
// mTLS server and client keep exchanging requests — on one long-lived connection and on a new
// connection per request — while each SVID rotates several times and the root rotates once
// (publish old + new roots, wait until both agents hold them, then sign under the new root).
// Every request must succeed. Waits on rotation counts and bundle arrival, not on time.
import { once } from "node:events";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import { createRootCa, generateKeyPair, parseTrustDomain, rootsOf, spiffeServerIdentityCheck, trustBundles, verifyClientChain, verifySvid } from "@meshwork/pki";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCaFixture, type CaFixture } from "./ca-fixture.ts";
import { exchange, shopId, startTestAgent } from "./test-agents.ts";

const rotationsWanted = Number(process.env["MESHWORK_ROTATIONS"] ?? 4);
let f: CaFixture;
beforeAll(async () => {
  f = await startCaFixture(["--rate-limit-per-second", "0"]);
});
afterAll(async () => {
  await f?.stop();
});

describe("rotation under traffic", () => {
  it(`keeps every request working while both SVIDs rotate ${rotationsWanted} times and the root rotates once`, { timeout: 90_000 }, async () => {
    const [server_, client_] = await Promise.all([startTestAgent(f, { sa: "api", seed: 3, validitySeconds: 3 }), startTestAgent(f, { sa: "web", seed: 3, validitySeconds: 3 })]);
    const serverAgent = server_.agent;
    const clientAgent = client_.agent;
    const td = parseTrustDomain("cluster.local");
    if (!td.ok) throw new Error(td.detail);
    const peers: string[] = [];
    const clientSerials = new Set<string>();
    const serverSerials = new Set<string>();
    const server = tls.createServer({ ...serverAgent.current.material, requestCert: true, rejectUnauthorized: true }, (socket) => {
      const peer = verifyClientChain(socket.getPeerCertificate(true), { bundles: serverAgent.bundles, now: new Date() });
      if (!peer.ok) {
        socket.destroy();
        return;
      }
      peers.push(peer.spiffeId);
      clientSerials.add(socket.getPeerCertificate().serialNumber);
      let buffer = "";
      socket.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
          socket.write(`pong ${buffer.slice(0, end)} from ${peer.spiffeId}\n`);
          buffer = buffer.slice(end + 1);
        }
      });
      socket.on("error", () => socket.destroy());
    });
    const detach = serverAgent.serve(server);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    const connect = async () => {
      const checkServerIdentity = spiffeServerIdentityCheck([shopId("api")], { bundles: clientAgent.bundles, clock: () => new Date() });
      const socket = tls.connect({ host: "127.0.0.1", port, servername: "api.shop", ...clientAgent.current.material, checkServerIdentity });
      await once(socket, "secureConnect");
      return socket;
    };

    const newRoot = await createRootCa({ trustDomain: td.trustDomain, keys: await generateKeyPair(), now: new Date(), ttlSeconds: 86400 });
    let phase: "before" | "published" | "switched" = "before";
    let rotationsAtSwitch = { server: 0, client: 0 };
    const longLived = await connect();
    let ok = 0;
    const failures: string[] = [];
    for (let i = 0; phase !== "switched" || serverAgent.rotations < rotationsAtSwitch.server + 2 || clientAgent.rotations < rotationsAtSwitch.client + 2 || serverAgent.rotations < rotationsWanted || clientAgent.rotations < rotationsWanted; i++) {
      try {
        expect(await exchange(longLived, `long-${i}`)).toBe(`pong long-${i} from spiffe://cluster.local/ns/shop/sa/web`);
        const fresh = await connect();
        serverSerials.add(fresh.getPeerCertificate().serialNumber);
        expect(await exchange(fresh, `fresh-${i}`)).toBe(`pong fresh-${i} from spiffe://cluster.local/ns/shop/sa/web`);
        fresh.destroy();
        ok++;
      } catch (error) {
        failures.push(String(error));
      }
      if (phase === "before" && serverAgent.rotations >= 2 && clientAgent.rotations >= 2) {
        f.ca.authority.publishRoot(newRoot);
        phase = "published";
      } else if (phase === "published" && [serverAgent, clientAgent].every((a) => rootsOf(a.bundles, td.trustDomain).length === 2)) {
        await f.ca.authority.switchParent(newRoot);
        rotationsAtSwitch = { server: serverAgent.rotations, client: clientAgent.rotations };
        phase = "switched";
      }
      if (i > 500_000) throw new Error("rotation did not progress");
    }
    // both agents now hold chains to the new root
    const onlyNewRoot = trustBundles([[td.trustDomain, [newRoot.chain[0] as Uint8Array]]]);
    for (const agent of [serverAgent, clientAgent]) expect(await verifySvid({ chain: agent.current.chain, bundles: onlyNewRoot, now: new Date() })).toMatchObject({ ok: true });
    longLived.destroy();
    detach();
    server_.stop();
    client_.stop();
    server.close();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(0);
    expect(serverAgent.failures + clientAgent.failures).toBe(0);
    // the new certificates were really used in handshakes, on both sides
    expect(serverSerials.size).toBeGreaterThanOrEqual(rotationsWanted);
    expect(clientSerials.size).toBeGreaterThanOrEqual(rotationsWanted);
    expect(new Set(peers)).toEqual(new Set(["spiffe://cluster.local/ns/shop/sa/web"]));
  });
});
