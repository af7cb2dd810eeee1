// --cert-dir: Istio's three files become the identity; a missing or broken file is an error naming
// the file; the watcher swaps in a new complete set and keeps the last good one when a set is broken.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@meshwork/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, writeCertDir, type TestPki } from "../../tests/support/mesh-pki.ts";
import { loadCertDir, watchCertDir } from "./cert-dir-identity.ts";
import { principalOf } from "./principal-of.ts";

let root: string;
let pki: TestPki;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-cert-dir-"));
  pki = await createTestPki();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("loadCertDir()", () => {
  it("reads the SVID's SPIFFE ID, serial and PEM material", async () => {
    const svid = await pki.issue("shop", "web");
    const dir = await writeCertDir(join(root, "ok"), svid, pki.rootPem);
    const loaded = await loadCertDir(dir, "cluster.local");
    if (!loaded.ok) throw new Error(loaded.message);
    expect(loaded.identity.spiffeId).toBe("spiffe://cluster.local/ns/shop/sa/web");
    expect(loaded.identity.serialHex).toBe(svid.serialHex);
    expect(loaded.identity.caPem).toContain("BEGIN CERTIFICATE");
    expect(principalOf(loaded.identity.spiffeId)).toBe("cluster.local/ns/shop/sa/web");
  });

  it("names the missing file and the files the directory needs", async () => {
    const dir = await writeCertDir(join(root, "missing"), await pki.issue("shop", "web"), pki.rootPem);
    await rm(join(dir, "key.pem"));
    const loaded = await loadCertDir(dir, "cluster.local");
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.message).toMatch(/--cert-dir: cannot read .*key\.pem \(ENOENT\); the directory needs cert-chain\.pem, key\.pem, root-cert\.pem/);
  });

  it("refuses a key that is not the leaf's (a directory caught between writing the chain and the key)", async () => {
    const dir = await writeCertDir(join(root, "torn"), await pki.issue("shop", "web"), pki.rootPem);
    await writeFile(join(dir, "key.pem"), (await pki.issue("shop", "web")).keyPem);
    const loaded = await loadCertDir(dir, "cluster.local");
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.message).toContain("cert-chain.pem: the private key is not the leaf certificate's key");
  });

  it("refuses a chain without certificates", async () => {
    const dir = await writeCertDir(join(root, "empty"), await pki.issue("shop", "web"), pki.rootPem);
    await writeFile(join(dir, "cert-chain.pem"), "not pem\n");
    const loaded = await loadCertDir(dir, "cluster.local");
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.message).toContain("cert-chain.pem holds no CERTIFICATE block");
  });
});

describe("watchCertDir()", () => {
  it("swaps in a new certificate and keeps the last good one when the directory breaks", async () => {
    const first = await pki.issue("shop", "web");
    const dir = await writeCertDir(join(root, "watched"), first, pki.rootPem);
    const lines: string[] = [];
    const source = await watchCertDir(dir, { trustDomain: "cluster.local", logger: createLogger({ name: "t", level: "info", write: (l) => void lines.push(l) }) });
    const changes: string[] = [];
    source.onChange((identity) => changes.push(identity.serialHex));
    const until = async (done: () => boolean): Promise<void> => {
      for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 20));
    };
    try {
      const second = await pki.issue("shop", "web");
      await writeCertDir(dir, second, pki.rootPem);
      await until(() => changes.includes(second.serialHex));
      expect(source.current()?.serialHex).toBe(second.serialHex);
      await writeFile(join(dir, "cert-chain.pem"), "broken\n");
      await until(() => lines.some((l) => l.includes("not usable")));
      expect(lines.some((l) => l.includes("certificate directory changed but is not usable"))).toBe(true);
      expect(source.current()?.serialHex).toBe(second.serialHex);
    } finally {
      await source.close();
    }
  });
});
