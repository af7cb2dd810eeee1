// The CA with --issuance-workers: token and CSR checks and signing on worker threads must not
// change what is issued or refused. Real gRPC + TLS against an in-process CA with 2 workers:
// chains that libs/pki and openssl verify, the security refusals, and a leaf signed by the new
// intermediate after a rotation (the workers get the new signing CA).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { generateKeyPair, verifySvid } from "@meshwork/pki";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chainDer, createCertificate, csrFor, refusalOf, startCaFixture, type CaFixture } from "./ca-fixture.ts";

let f: CaFixture;
beforeAll(async () => {
  f = await startCaFixture(["--issuance-workers", "2", "--allowed-namespaces", "shop"]);
}, 60_000);
afterAll(async () => {
  await f?.stop();
});

const id = (sa: string) => `spiffe://cluster.local/ns/shop/sa/${sa}`;

function opensslAccepts(certChain: readonly string[]): void {
  const dir = mkdtempSync(join(tmpdir(), "ca-workers-openssl-"));
  try {
    const [leaf, intermediate, root] = certChain as [string, string, string];
    writeFileSync(join(dir, "leaf.pem"), leaf);
    writeFileSync(join(dir, "intermediate.pem"), intermediate);
    writeFileSync(join(dir, "root.pem"), root);
    const out = execFileSync("openssl", ["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", join(dir, "root.pem"), "-untrusted", join(dir, "intermediate.pem"), join(dir, "leaf.pem")], { encoding: "utf8" });
    expect(out.trim()).toBe(`${join(dir, "leaf.pem")}: OK`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("CreateCertificate with issuance workers", () => {
  it("issues chains that libs/pki and openssl verify, from both workers", async () => {
    expect(f.logLines.map((l) => JSON.parse(l)).find((l) => l.msg === "issuance workers started")).toMatchObject({ workers: 2 });
    const client = f.client();
    const responses = await Promise.all(
      ["a", "b", "c", "d"].map(async (sa) => ({ sa, response: await createCertificate(client, { csrPem: await csrFor(id(sa)), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa }) }) })),
    );
    for (const { sa, response } of responses) {
      expect(await verifySvid({ chain: chainDer(response.certChain), bundles: f.ca.authority.trustBundles(), now: new Date() })).toMatchObject({ ok: true, spiffeId: id(sa) });
      opensslAccepts(response.certChain);
    }
    client.close();
  });

  it.each<[string, () => Promise<{ csrPem: string; validitySeconds: number; workloadToken: string }>, status, string]>([
    ["a CSR for another ID", async () => ({ csrPem: await csrFor(id("admin")), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "web" }) }), status.PERMISSION_DENIED, "id-mismatch"],
    ["a token signed by another key", async () => ({ csrPem: await csrFor(id("web")), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "web", key: (await generateKeyPair()).privateKey }) }), status.UNAUTHENTICATED, "token-bad-signature"],
    ["an expired token", async () => ({ csrPem: await csrFor(id("web")), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "web", now: new Date(Date.now() - 7200_000), ttlSeconds: 600 }) }), status.UNAUTHENTICATED, "token-expired"],
    ["a malformed CSR", async () => ({ csrPem: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "web" }) }), status.INVALID_ARGUMENT, "csr-invalid"],
  ])("refuses %s", async (_name, build, code, reason) => {
    const client = f.client();
    expect(await refusalOf(createCertificate(client, await build()))).toMatchObject({ code, reason });
    client.close();
  });

  it("signs with the new intermediate after a rotation", async () => {
    const client = f.client();
    const before = await createCertificate(client, { csrPem: await csrFor(id("rotating")), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "rotating" }) });
    await f.ca.authority.rotateIntermediate(true);
    const after = await createCertificate(client, { csrPem: await csrFor(id("rotating")), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "rotating" }) });
    expect(after.certChain[1]).not.toBe(before.certChain[1]);
    expect(await verifySvid({ chain: chainDer(after.certChain), bundles: f.ca.authority.trustBundles(), now: new Date() })).toMatchObject({ ok: true, spiffeId: id("rotating") });
    opensslAccepts(after.certChain);
    client.close();
  });
});
