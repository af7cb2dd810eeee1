// `meshctl token issue` against a real CA: apps/ca's entry point runs as a child process on a
// temporary data dir, meshctl (another child) mints tokens with the key the CA created there, and
// the CA issues an SVID for exactly the token's identity over gRPC/TLS, refusing a token minted for
// another audience and a one-time token used twice.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServiceError } from "@grpc/grpc-js";
import { createCsr, generateKeyPair, parseTrustDomain, pemToDer, readCertificate, trustBundles, type SpiffeId } from "@meshwork/pki";
import { createCaClient, createCertificate, tokenIssuerFiles } from "@meshwork/workload-identity";
import { startSourceProcess, type LogLine } from "@meshwork/testing/processes";
import { afterAll, describe, expect, it } from "vitest";
import { meshctl, workspaceRoot } from "./support/run-meshctl.ts";

const caMain = fileURLToPath(new URL("../../ca/src/main.ts", import.meta.url));
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Starts apps/ca on `dataDir` (stopped with SIGTERM at teardown); resolves with its "ready" log line. */
function startCa(dataDir: string): Promise<LogLine> {
  const ca = startSourceProcess(caMain, ["--data-dir", dataDir, "--grpc-port", "0", "--admin-port", "0"], { cwd: workspaceRoot, name: "ca" });
  cleanups.push(async () => void (await ca.stop()));
  return ca.waitForLine("ready");
}

async function refusalOf(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (error) {
    return { code: (error as ServiceError).code, details: (error as ServiceError).details };
  }
  throw new Error("the request was not refused");
}

describe("meshctl token issue against a running CA", () => {
  it("mints tokens the CA accepts for exactly ns/sa, and refuses for another audience or a second use", { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "meshctl-token-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const dataDir = join(dir, "ca");
    const ready = await startCa(dataDir);
    expect(ready).toMatchObject({ tokenIssuerPublicKey: join(dataDir, tokenIssuerFiles.publicKey) });

    const common = ["token", "issue", "--ca-data-dir", dataDir, "-n", "shop", "--service-account", "web"];
    const [oneTime, foreign] = await Promise.all([meshctl([...common, "--one-time", "--ttl", "5m"]), meshctl([...common, "--audience", "someone-else"])]);
    expect(oneTime.code, oneTime.stderr).toBe(0);
    expect(oneTime.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(foreign.code, foreign.stderr).toBe(0);

    const rootPem = await readFile(join(dataDir, "root-cert.pem"), "utf8");
    const root = pemToDer(rootPem, "CERTIFICATE");
    const td = parseTrustDomain("cluster.local");
    if (!root.ok || !td.ok) throw new Error("unexpected root or trust domain");
    const client = createCaClient({
      address: `127.0.0.1:${String(ready["grpcPort"])}`,
      bundles: trustBundles([[td.trustDomain, [root.der]]]),
      rootsPem: rootPem,
      serverId: ready["serverId"] as SpiffeId,
      clock: () => new Date(),
    });
    cleanups.push(() => client.close());
    const csrPem = async () => (await createCsr({ keys: await generateKeyPair(), spiffeId: "spiffe://cluster.local/ns/shop/sa/web" as SpiffeId })).pem;

    const issued = await createCertificate(client, { csrPem: await csrPem(), validitySeconds: 0, workloadToken: oneTime.stdout.trim() });
    const leaf = pemToDer(issued.certChain[0] ?? "", "CERTIFICATE");
    if (!leaf.ok) throw new Error(leaf.detail);
    expect(readCertificate(leaf.der)).toMatchObject({ ok: true, cert: { uriSans: ["spiffe://cluster.local/ns/shop/sa/web"] } });

    const reused = await refusalOf(createCertificate(client, { csrPem: await csrPem(), validitySeconds: 0, workloadToken: oneTime.stdout.trim() }));
    expect(reused).toMatchObject({ code: 16, details: expect.stringMatching(/^token-reused: /) });
    const wrongAudience = await refusalOf(createCertificate(client, { csrPem: await csrPem(), validitySeconds: 0, workloadToken: foreign.stdout.trim() }));
    expect(wrongAudience).toMatchObject({ code: 16, details: expect.stringMatching(/^token-wrong-audience: /) });
  });

  it("exits 2 naming the key file and the fix when the data dir holds no token issuer key", { timeout: 30_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "meshctl-token-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const run = await meshctl(["token", "issue", "--ca-data-dir", dir, "-n", "shop", "--service-account", "web"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(`cannot read the token issuer key "${join(dir, tokenIssuerFiles.privateKey)}": no such file or directory. Point --ca-data-dir`);
  });
});
