// Certificate rotation under traffic: two sidecars in STRICT mutual TLS, their --cert-dir files
// replaced three times (new keys, new serials) while requests flow on kept-alive and on fresh
// client connections. No request may fail; new handshakes must see the new certificate.
import { mkdtemp, rm } from "node:fs/promises";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { freePort } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send } from "./support/http-client.ts";
import { createTestPki, writeCertDir, type TestPki, type TestSvid } from "./support/mesh-pki.ts";
import { startTestSidecar, writeStrictApiConfig, type TestSidecar } from "./support/mtls-sidecar.ts";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

const rotations = Number(process.env["MESHWORK_MTLS_ROTATIONS"] ?? "3");

let root: string;
let pki: TestPki;
let app: UpstreamServer;
let server: TestSidecar;
let client: TestSidecar;
let serverDir: string;
let clientDir: string;

/** The serial of the certificate a fresh mTLS handshake with the server sidecar's inbound port presents. */
function servingSerial(port: number, svid: TestSvid): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, ca: pki.rootPem, cert: svid.chainPem, key: svid.keyPem, checkServerIdentity: () => undefined });
    socket.on("secureConnect", () => {
      resolve(socket.getPeerCertificate().serialNumber.toLowerCase().replace(/^0+/, ""));
      socket.destroy();
    });
    socket.on("error", reject);
  });
}

const stat = (sidecar: TestSidecar, name: string): number => sidecar.running.state.stats().find(([n]) => n === name)?.[1] ?? -1;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-mtls-rotation-"));
  pki = await createTestPki();
  app = await startUpstream("app");
  const inbound = await freePort();
  serverDir = await writeCertDir(join(root, "api-certs"), await pki.issue("default", "api"), pki.rootPem);
  clientDir = await writeCertDir(join(root, "web-certs"), await pki.issue("default", "web"), pki.rootPem);
  const config = await writeStrictApiConfig(join(root, "config"), inbound, "default");
  server = await startTestSidecar(["--config", config, "--cert-dir", serverDir, "--labels", "app=api", "--app-port", String(app.port), "--inbound-port", String(inbound)], root, "server");
  client = await startTestSidecar(["--config", config, "--cert-dir", clientDir, "--labels", "app=web", "--inbound-port=-1"], root, "client");
});

afterAll(async () => {
  for (const sidecar of [client, server]) await sidecar?.stop();
  await app?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("certificate rotation under traffic", () => {
  it(`swaps both sidecars' certificates ${rotations} times with zero failed requests`, async () => {
    const failures: string[] = [];
    let ok = 0;
    let running = true;
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 4 });
    const loop = async (agent: Agent | undefined): Promise<void> => {
      while (running) {
        try {
          const response = await send(client.port("outbound"), { host: "api.default.svc.cluster.local", ...(agent ? { agent } : {}) });
          if (response.status === 200) ok += 1;
          else failures.push(`${response.status} ${response.body}`);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const loops = [loop(keepAlive), loop(keepAlive), loop(undefined), loop(undefined)];
    const probe = await pki.issue("default", "probe");
    const seen: string[] = [await servingSerial(server.port("inbound"), probe)];
    for (let i = 0; i < rotations; i++) {
      await new Promise((r) => setTimeout(r, 300));
      const [serverSvid] = await Promise.all([pki.issue("default", "api"), pki.issue("default", "web").then((svid) => writeCertDir(clientDir, svid, pki.rootPem))]);
      await writeCertDir(serverDir, serverSvid, pki.rootPem);
      const expected = serverSvid.serialHex.replace(/^0+/, "");
      // The directory is watched with a 100 ms debounce: wait until new handshakes see the new certificate.
      for (let attempt = 0; attempt < 100 && seen[seen.length - 1] !== expected; attempt++) {
        await new Promise((r) => setTimeout(r, 20));
        const serial = await servingSerial(server.port("inbound"), probe);
        if (serial !== seen[seen.length - 1]) seen.push(serial);
      }
      expect(seen[seen.length - 1]).toBe(expected);
    }
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    await Promise.all(loops);
    keepAlive.destroy();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    expect(seen.length).toBe(rotations + 1);
    expect(stat(server, "tls.identity_updates")).toBeGreaterThanOrEqual(rotations);
    expect(stat(client, "tls.identity_updates")).toBeGreaterThanOrEqual(rotations);
  });
});
