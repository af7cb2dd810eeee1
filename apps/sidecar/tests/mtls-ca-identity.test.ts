// The sidecar's identity from the mesh CA (--ca-address): apps/ca runs as a child process on a
// temporary data dir, the test mints workload tokens with the key the CA created there, and two
// sidecars get their SVIDs from the CA (short TTL, so they renew during the test), follow its
// trust bundle and talk STRICT mutual TLS with zero failed requests across the renewals.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { importTokenIssuerKey, mintWorkloadToken, tokenIssuerFiles } from "@meshwork/workload-identity";
import { freePort, startSourceProcess, type LogLine } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keepAliveAgent, send } from "./support/http-client.ts";
import { startTestSidecar, writeStrictApiConfig, type TestSidecar } from "./support/mtls-sidecar.ts";
import { workspaceRoot } from "./support/sidecar-process.ts";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

const caMain = fileURLToPath(new URL("../../ca/src/main.ts", import.meta.url));
const svidTtlSeconds = 4;
const cleanups: (() => Promise<void> | void)[] = [];

let root: string;
let app: UpstreamServer;
let server: TestSidecar;
let client: TestSidecar;

/** Starts apps/ca on `dataDir` (stopped with SIGTERM at teardown); resolves with its "ready" log line. */
function startCa(dataDir: string): Promise<LogLine> {
  const ca = startSourceProcess(caMain, ["--data-dir", dataDir, "--grpc-port", "0", "--admin-port", "0"], { cwd: workspaceRoot, name: "ca" });
  cleanups.push(async () => void (await ca.stop()));
  return ca.waitForLine("ready");
}

const stat = (sidecar: TestSidecar, name: string): number => sidecar.running.state.stats().find(([n]) => n === name)?.[1] ?? -1;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-mtls-ca-"));
  const dataDir = join(root, "ca");
  const ready = await startCa(dataDir);
  const key = await importTokenIssuerKey(await readFile(join(dataDir, tokenIssuerFiles.privateKey), "utf8"), globalThis.crypto);
  if (!key.ok) throw new Error(key.detail);
  const tokenFile = async (sa: string): Promise<string> => {
    const token = await mintWorkloadToken({ privateKey: key.privateKey, issuer: "meshwork", audience: "meshwork-ca", namespace: "default", serviceAccount: sa, now: new Date(), ttlSeconds: 600, crypto: globalThis.crypto });
    const file = join(root, `${sa}.token`);
    await writeFile(file, token, { mode: 0o600 });
    return file;
  };
  app = await startUpstream("app");
  const inbound = await freePort();
  const config = await writeStrictApiConfig(join(root, "config"), inbound, "istio-system");
  const ca = (sa: string, token: string): string[] => [
    "--ca-address", `127.0.0.1:${String(ready["grpcPort"])}`,
    "--ca-root-cert", join(dataDir, "root-cert.pem"),
    "--workload-token-file", token,
    "--service-account", sa,
    "--svid-ttl-seconds", String(svidTtlSeconds),
  ];
  server = await startTestSidecar(["--config", config, ...ca("api", await tokenFile("api")), "--labels", "app=api", "--app-port", String(app.port), "--inbound-port", String(inbound)], root, "server");
  client = await startTestSidecar(["--config", config, ...ca("web", await tokenFile("web")), "--labels", "app=web", "--inbound-port=-1"], root, "client");
}, 60_000);

afterAll(async () => {
  for (const sidecar of [client, server]) await sidecar?.stop();
  await app?.close();
  for (const cleanup of cleanups.reverse()) await cleanup();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("identity from the mesh CA", () => {
  it("serves STRICT mutual TLS on CA-issued SVIDs and keeps serving across their renewals", { timeout: 60_000 }, async () => {
    const agent = keepAliveAgent();
    const failures: string[] = [];
    let ok = 0;
    // Renewal at 50 % ± 10 % of a 4 s lifetime: by 6 s both sidecars have renewed at least twice.
    const until = Date.now() + 6000;
    while (Date.now() < until) {
      const fresh = ok % 3 === 0;
      const response = await send(client.port("outbound"), { host: "api.default.svc.cluster.local", ...(fresh ? {} : { agent }) }).catch((error: unknown) => ({ status: 0, body: String(error) }));
      if (response.status === 200) ok += 1;
      else failures.push(`${response.status} ${response.body}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    agent.destroy();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    expect(stat(server, "tls.identity_updates")).toBeGreaterThanOrEqual(2);
    expect(stat(client, "tls.identity_updates")).toBeGreaterThanOrEqual(2);
    const metrics = await server.metrics();
    expect(metrics).toContain('source_principal="spiffe://cluster.local/ns/default/sa/web"');
  });

  it("accepts resumed TLS sessions, whose client certificate comes without its chain", { timeout: 60_000 }, async () => {
    // The first connection gets a session ticket; concurrent requests then open more upstream
    // connections from the client sidecar, which resume that session.
    expect((await send(client.port("outbound"), { host: "api.default.svc.cluster.local" })).status).toBe(200);
    for (let round = 0; round < 3; round++) {
      const responses = await Promise.all(Array.from({ length: 8 }, () => send(client.port("outbound"), { host: "api.default.svc.cluster.local" }).catch((error: unknown) => ({ status: 0, body: String(error) }))));
      expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 8 }, () => 200));
    }
    expect(stat(server, "listener.inbound.ssl.refused")).toBe(0);
  });
});
