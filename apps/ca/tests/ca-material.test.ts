// Key material on disk: the root CA persists across restarts, key files are 0600, a group- or
// world-readable key stops the start with a message naming the file and the fix, and a CA plugged
// in from Istio-style cacerts files signs chains ending at its root.
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { certificatesToPem, createIntermediateCa, createRootCa, exportPrivateKeyPem, generateKeyPair, parseTrustDomain, trustBundles, verifySvid } from "@meshwork/pki";
import { afterEach, describe, expect, it } from "vitest";
import { chainDer, createCertificate, csrFor, startCaFixture, type CaFixture } from "./ca-fixture.ts";

const fixtures: CaFixture[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.stop();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "meshwork-ca-files-"));
  dirs.push(dir);
  return dir;
}

describe("CA key material", () => {
  it("creates the root with 0600 keys on first start and loads the same root on the next", async () => {
    const dataDir = join(await tempDir(), "ca");
    const first = await startCaFixture([], dataDir);
    const rootPem = await readFile(join(dataDir, "root-cert.pem"), "utf8");
    expect(first.ca.authority.bundle().rootsPem[0]).toBe(rootPem);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dataDir, "root-key.pem"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, "token-issuer-key.pem"))).mode & 0o777).toBe(0o600);
    await first.stop();
    const second = await startCaFixture([], dataDir);
    fixtures.push(second);
    expect(second.ca.authority.bundle().rootsPem[0]).toBe(rootPem);
  });

  it("refuses a root key that group or others can read, naming the file and the fix", async () => {
    const dataDir = join(await tempDir(), "ca");
    fixtures.push(await startCaFixture([], dataDir));
    const keyPath = join(dataDir, "root-key.pem");
    await chmod(keyPath, 0o644);
    await expect(startCaFixture([], dataDir)).rejects.toThrow(`private key file ${keyPath} is accessible by group or others (mode 0644); run \`chmod 600 ${keyPath}\``);
  });

  it("signs under a plugged-in CA (Istio cacerts layout)", async () => {
    const dir = await tempDir();
    const td = parseTrustDomain("cluster.local");
    if (!td.ok) throw new Error(td.detail);
    const now = new Date();
    const root = await createRootCa({ trustDomain: td.trustDomain, keys: await generateKeyPair(), now, ttlSeconds: 86400 * 30, pathLength: 2 });
    const caKeys = await generateKeyPair();
    const plugged = await createIntermediateCa({ parent: root, keys: caKeys, now, ttlSeconds: 86400 * 20, pathLength: 1 });
    if (!plugged.ok) throw new Error(plugged.detail);
    await writeFile(join(dir, "ca-cert.pem"), certificatesToPem([plugged.ca.chain[0] as Uint8Array]));
    await writeFile(join(dir, "ca-key.pem"), await exportPrivateKeyPem(caKeys.privateKey), { mode: 0o600 });
    await writeFile(join(dir, "cert-chain.pem"), certificatesToPem(plugged.ca.chain));
    await writeFile(join(dir, "root-cert.pem"), certificatesToPem(root.chain));
    const f = await startCaFixture([
      "--ca-cert", join(dir, "ca-cert.pem"),
      "--ca-key", join(dir, "ca-key.pem"),
      "--cert-chain", join(dir, "cert-chain.pem"),
      "--root-cert", join(dir, "root-cert.pem"),
    ], join(dir, "data"));
    fixtures.push(f);
    const client = f.client();
    const response = await createCertificate(client, { csrPem: await csrFor("spiffe://cluster.local/ns/shop/sa/web"), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "web" }) });
    client.close();
    const chain = chainDer(response.certChain);
    expect(chain).toHaveLength(4); // leaf, our intermediate, the plugged CA, its root
    expect(await verifySvid({ chain, bundles: trustBundles([[td.trustDomain, [root.chain[0] as Uint8Array]]]), now: new Date() })).toMatchObject({ ok: true });
  });
});
