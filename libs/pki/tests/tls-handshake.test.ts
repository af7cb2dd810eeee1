// Real mTLS handshakes over loopback with node:tls: SVIDs and bundles from the lib, OpenSSL
// validating chains, and spiffeServerIdentityCheck / verifyClientChain binding IDs to their own
// trust domain's roots. Real sockets need certificates valid at the wall clock, so this file
// issues them at the real time.
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  addRoot,
  exportPrivateKeyPem,
  spiffeServerIdentityCheck,
  svidTlsMaterial,
  verifyClientChain,
  type SpiffeId,
  type SvidVerification,
  type TrustBundles,
} from "../src/index.ts";
import { forgeCertificate, issue, leafExtensions, makePki, sid, type TestPki } from "./fixtures.ts";

const now = new Date(Math.floor(Date.now() / 1000) * 1000);
const clock = () => new Date();
let a: TestPki;
let b: TestPki;
let both: TrustBundles;
const web = sid("spiffe://a.example/ns/default/sa/web");
const db = sid("spiffe://a.example/ns/default/sa/db");
const servers: tls.Server[] = [];

beforeAll(async () => {
  a = await makePki("a.example", { now });
  b = await makePki("b.example", { now });
  both = addRoot(a.bundles, b.trustDomain, b.root.chain[0] as Uint8Array);
});

afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** TLS material for an SVID chain and its keys. */
async function material(chain: readonly Uint8Array[], keys: CryptoKeyPair, bundles: TrustBundles) {
  return svidTlsMaterial({ chain, privateKeyPem: await exportPrivateKeyPem(keys.privateKey), bundles });
}

/** An mTLS echo server on port 0 recording what verifyClientChain said about each client. */
async function startServer(svid: { chain: readonly Uint8Array[]; keys: CryptoKeyPair }, bundles: TrustBundles) {
  const clients: SvidVerification[] = [];
  const server = tls.createServer({ ...(await material(svid.chain, svid.keys, bundles)), requestCert: true, rejectUnauthorized: true }, (socket) => {
    const peer = verifyClientChain(socket.getPeerCertificate(true), { bundles, now: clock() });
    clients.push(peer);
    if (peer.ok) socket.end(`hello ${peer.spiffeId}`);
    else socket.destroy();
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as AddressInfo).port, clients };
}

/** Connects as `svid`, expecting the server to be one of `expected`; resolves with what the server said. */
async function connect(port: number, svid: { chain: readonly Uint8Array[]; keys: CryptoKeyPair }, bundles: TrustBundles, expected: readonly SpiffeId[]): Promise<string> {
  const socket = tls.connect({
    host: "127.0.0.1",
    port,
    ...(await material(svid.chain, svid.keys, bundles)),
    checkServerIdentity: spiffeServerIdentityCheck(expected, { bundles, clock }),
  });
  let text = "";
  socket.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
  return new Promise((resolve, reject) => {
    socket.on("error", reject);
    socket.on("close", () => resolve(text));
  });
}

describe("mTLS with node:tls", () => {
  it("connects when both sides hold SVIDs of the trusted domain and the server is the expected ID", async () => {
    const server = await startServer(await issue(a.intermediate, web, { now }), a.bundles);
    expect(await connect(server.port, await issue(a.intermediate, db, { now }), a.bundles, [web])).toBe(`hello ${db}`);
    expect(server.clients).toEqual([expect.objectContaining({ ok: true, spiffeId: db })]);
  });

  it("aborts the handshake when the server is another workload", async () => {
    const server = await startServer(await issue(a.intermediate, web, { now }), a.bundles);
    await expect(connect(server.port, await issue(a.intermediate, db, { now }), a.bundles, [db])).rejects.toMatchObject({ code: "unexpected-id" });
  });

  it("aborts when the server's a.example ID was signed by b.example's CA, though OpenSSL trusts both roots", async () => {
    const forged = await forgeCertificate({ issuer: b.intermediate, extensions: leafExtensions([web]), notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + 3_600_000) });
    const server = await startServer({ chain: [forged.der, ...b.intermediate.chain], keys: forged.keys }, both);
    await expect(connect(server.port, await issue(a.intermediate, db, { now }), both, [web])).rejects.toMatchObject({ code: "untrusted-root" });
  });

  it("the server refuses a client whose a.example ID was signed by b.example's CA", async () => {
    const server = await startServer(await issue(a.intermediate, web, { now }), both);
    const forged = await forgeCertificate({ issuer: b.intermediate, extensions: leafExtensions([db]), notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + 3_600_000) });
    await connect(server.port, { chain: [forged.der, ...b.intermediate.chain], keys: forged.keys }, both, [web]).catch(() => "");
    expect(server.clients).toEqual([expect.objectContaining({ ok: false, reason: "untrusted-root" })]);
  });
});
