// CreateCertificate and WatchTrustBundle over real gRPC + TLS against an in-process CA: the happy
// path (chain leaf-first, verified by libs/pki), each refusal with its status and reason, TTL
// clamping, metrics, and a bundle change on root rotation.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { createCsr, createRootCa, generateKeyPair, parseTrustDomain, readCertificate, trustBundles, verifySvid, type SpiffeId } from "@meshwork/pki";
import type { WatchTrustBundleResponse } from "@meshwork/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chainDer, createCertificate, csrFor, refusalOf, startCaFixture, type CaFixture } from "./ca-fixture.ts";

let f: CaFixture;
beforeAll(async () => {
  f = await startCaFixture(["--allowed-namespaces", "shop,bench", "--max-ttl-seconds", "7200"]);
});
afterAll(async () => {
  await f?.stop();
});

const id = (sa: string, ns = "shop") => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

describe("CreateCertificate", () => {
  it("issues a chain leaf first, root last, that verifies against the bundle", async () => {
    const client = f.client();
    const response = await createCertificate(client, { csrPem: await csrFor(id("web")), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "web" }) });
    const chain = chainDer(response.certChain);
    expect(chain).toHaveLength(3);
    const verified = await verifySvid({ chain, bundles: f.ca.authority.trustBundles(), now: new Date() });
    expect(verified).toMatchObject({ ok: true, spiffeId: id("web") });
    const leaf = readCertificate(chain[0] as Uint8Array);
    const root = readCertificate(chain[2] as Uint8Array);
    expect(leaf.ok && leaf.cert.basicConstraints?.ca !== true).toBe(true);
    expect(root.ok && root.cert.subject === root.cert.issuer).toBe(true);
    expect(response.certChain[2]).toBe(f.ca.authority.bundle().rootsPem[0]);
    if (leaf.ok) expect((leaf.cert.notAfter.getTime() - Date.now()) / 1000).toBeGreaterThan(3500);
    const audit = f.logLines.map((l) => JSON.parse(l)).find((l) => l.msg === "certificate issued" && l.spiffeId === id("web"));
    expect(audit).toMatchObject({ audit: true, spiffeId: id("web"), ttlSeconds: 3600 });
    expect(audit.serial).toMatch(/^[0-9a-f]+$/);
    expect(audit.caller).toMatch(/127\.0\.0\.1:\d+/);
    client.close();
  });

  it("issues chains that openssl verify accepts for TLS clients and servers", async () => {
    const client = f.client();
    const response = await createCertificate(client, { csrPem: await csrFor(id("openssl")), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "openssl" }) });
    client.close();
    const dir = mkdtempSync(join(tmpdir(), "ca-openssl-"));
    try {
      const [leaf, intermediate, root] = response.certChain as [string, string, string];
      writeFileSync(join(dir, "leaf.pem"), leaf);
      writeFileSync(join(dir, "intermediate.pem"), intermediate);
      writeFileSync(join(dir, "root.pem"), root);
      for (const purpose of ["sslserver", "sslclient"]) {
        const out = execFileSync("openssl", ["verify", "-purpose", purpose, "-CAfile", join(dir, "root.pem"), "-untrusted", join(dir, "intermediate.pem"), join(dir, "leaf.pem")], { encoding: "utf8" });
        expect(out.trim()).toBe(`${join(dir, "leaf.pem")}: OK`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("clamps a requested TTL to the policy maximum", async () => {
    const client = f.client();
    const keys = await generateKeyPair();
    // a CSR with the ID of the token is the normal case; here the TTL asked exceeds the 7200 s maximum
    const csr = await createCsr({ keys, spiffeId: id("clamped") as SpiffeId });
    const response = await createCertificate(client, { csrPem: csr.pem, validitySeconds: 30 * 86400, workloadToken: await f.token({ ns: "shop", sa: "clamped" }) });
    const leaf = readCertificate(chainDer(response.certChain)[0] as Uint8Array);
    expect(leaf.ok).toBe(true);
    if (leaf.ok) expect((leaf.cert.notAfter.getTime() - Date.now()) / 1000).toBeLessThanOrEqual(7200);
    client.close();
  });

  describe("refuses", () => {
    const otherKey = generateKeyPair();
    it.each<[string, () => Promise<{ csrPem: string; validitySeconds: number; workloadToken: string }>, status, string]>([
      ["a CSR for another ID", async () => ({ csrPem: await csrFor(id("admin")), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "web" }) }), status.PERMISSION_DENIED, "id-mismatch"],
      [
        "an expired token",
        async () => ({ csrPem: await csrFor(id("web")), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "web", now: new Date(Date.now() - 7200_000), ttlSeconds: 600 }) }),
        status.UNAUTHENTICATED,
        "token-expired",
      ],
      ["a token for another audience", async () => ({ csrPem: await csrFor(id("web")), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "web", audience: "istiod" }) }), status.UNAUTHENTICATED, "token-wrong-audience"],
      [
        "a token signed by another key",
        async () => ({ csrPem: await csrFor(id("web")), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "web", key: (await otherKey).privateKey }) }),
        status.UNAUTHENTICATED,
        "token-bad-signature",
      ],
      ["no token", async () => ({ csrPem: await csrFor(id("web")), validitySeconds: 0, workloadToken: "" }), status.UNAUTHENTICATED, "token-missing"],
      ["a namespace outside the policy", async () => ({ csrPem: await csrFor(id("web", "kube-system")), validitySeconds: 0, workloadToken: await f.token({ ns: "kube-system", sa: "web" }) }), status.PERMISSION_DENIED, "namespace-not-allowed"],
      ["a malformed CSR", async () => ({ csrPem: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "web" }) }), status.INVALID_ARGUMENT, "csr-invalid"],
      ["a negative validity", async () => ({ csrPem: await csrFor(id("web")), validitySeconds: -5, workloadToken: await f.token({ ns: "shop", sa: "web" }) }), status.INVALID_ARGUMENT, "bad-validity"],
    ])("%s", async (_name, build, code, reason) => {
      const client = f.client();
      const refusal = await refusalOf(createCertificate(client, await build()));
      expect(refusal).toMatchObject({ code, reason });
      expect(refusal.details).toContain(`${reason}: `);
      client.close();
    });

    it("a one-time token used a second time", async () => {
      const client = f.client();
      const token = await f.token({ ns: "shop", sa: "boot", jti: "bootstrap-1" });
      await createCertificate(client, { csrPem: await csrFor(id("boot")), validitySeconds: 0, workloadToken: token });
      expect(await refusalOf(createCertificate(client, { csrPem: await csrFor(id("boot")), validitySeconds: 0, workloadToken: token }))).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "token-reused",
      });
      client.close();
    });

    it("an identity over its rate limit", async () => {
      const client = f.client();
      const request = async () => ({ csrPem: await csrFor(id("busy")), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "busy" }) });
      for (let i = 0; i < 3; i++) await createCertificate(client, await request());
      expect(await refusalOf(createCertificate(client, await request()))).toMatchObject({ code: status.RESOURCE_EXHAUSTED, reason: "rate-limited" });
      // another identity is not affected
      await createCertificate(client, { csrPem: await csrFor(id("calm")), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "calm" }) });
      client.close();
    });
  });

  it("counts issued and refused requests in /metrics", async () => {
    const response = await fetch(`http://127.0.0.1:${f.ca.adminPort}/metrics`);
    const text = await response.text();
    expect(response.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    expect(text).toMatch(/meshwork_ca_certificates_issued_total [1-9]\d*\n/);
    expect(text).toContain('meshwork_ca_certificates_refused_total{reason="id-mismatch"} 1\n');
    expect(text).toContain('meshwork_ca_certificates_refused_total{reason="rate-limited"} 1\n');
    expect(text).toMatch(/meshwork_ca_signing_duration_seconds_count [1-9]/);
    expect((await fetch(`http://127.0.0.1:${f.ca.adminPort}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${f.ca.adminPort}/readyz`)).status).toBe(200);
  });
});

describe("WatchTrustBundle", () => {
  it("sends the current bundle, then old + new roots on a root rotation", async () => {
    const client = f.client();
    const stream = client.watchTrustBundle({});
    const received: WatchTrustBundleResponse[] = [];
    const waiters: (() => void)[] = [];
    stream.on("data", (message: WatchTrustBundleResponse) => {
      received.push(message);
      waiters.shift()?.();
    });
    stream.on("error", () => undefined);
    const next = (count: number) => new Promise<void>((resolve) => (received.length >= count ? resolve() : waiters.push(resolve)));
    await next(1);
    expect(received[0]?.bundle).toMatchObject({ trustDomain: "cluster.local", version: 1 });
    expect(received[0]?.bundle?.rootsPem).toHaveLength(1);
    const oldRoot = received[0]?.bundle?.rootsPem[0];

    const td = parseTrustDomain("cluster.local");
    if (!td.ok) throw new Error(td.detail);
    const newRoot = await createRootCa({ trustDomain: td.trustDomain, keys: await generateKeyPair(), now: new Date(), ttlSeconds: 86400 });
    await f.ca.authority.rotateRoot(newRoot);
    await next(2);
    expect(received[1]?.bundle?.version).toBe(2);
    expect(received[1]?.bundle?.rootsPem).toHaveLength(2);
    expect(received[1]?.bundle?.rootsPem[0]).toBe(oldRoot);

    // new leaves chain to the new root; a verifier holding only the new root accepts them
    const response = await createCertificate(client, { csrPem: await csrFor(id("after")), validitySeconds: 0, workloadToken: await f.token({ ns: "shop", sa: "after" }) });
    const chain = chainDer(response.certChain);
    const onlyNew = trustBundles([[td.trustDomain, [newRoot.chain[0] as Uint8Array]]]);
    expect(await verifySvid({ chain, bundles: onlyNew, now: new Date() })).toMatchObject({ ok: true });
    stream.cancel();
    client.close();
  });
});
