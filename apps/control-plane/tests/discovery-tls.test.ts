// The discovery stream over mutual TLS, every server a real process: a CA (and a second CA of
// another trust domain), the control plane serving StreamConfig with its SVID from the CA
// (spiffe://cluster.local/ns/istio-system/sa/control-plane) and following the CA's trust bundle,
// and a real sidecar in managed mode with its own SVID. The proxy side of the refusals is
// DiscoveryClient with hand-made credentials: no client certificate, a certificate of another
// trust domain, a certificate of another service account than the node claims. A root rotation
// at the CA reaches a connected proxy as a new TrustBundle resource.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { createCsr, exportPrivateKeyPem, generateKeyPair, spiffeServerIdentityCheck, trustBundles, pemToDer, type SpiffeId, type TrustDomain } from "@meshwork/pki";
import { DiscoveryClient, type DiscoveryClientEvent, type DiscoveryClientOptions } from "@meshwork/protocol";
import type { NamedResource, ProxyNode } from "@meshwork/proxy-core";
import { createLogger } from "@meshwork/telemetry";
import { createCaClient, createCertificate, importTokenIssuerKey, mintWorkloadToken, tokenIssuerFiles } from "@meshwork/workload-identity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDiscoverySecurity } from "../src/identity/start-discovery-security.ts";
import { eventually, freePort, runProcess, type Run } from "./support/run-process.ts";

const appsDir = join(import.meta.dirname, "../..");
const controlPlaneId = "spiffe://cluster.local/ns/istio-system/sa/control-plane";
const runs: Run[] = [];
const clients: DiscoveryClient[] = [];
let dir = "";
let grpcAddress = "";
let adminUrl = "";
const cas: Record<"mesh" | "other", { dataDir: string; grpc: string; admin: string; rootPem: string }> = {} as never;

async function startCa(name: "mesh" | "other", trustDomain: string): Promise<void> {
  const dataDir = join(dir, `ca-${name}`);
  const tokenFile = join(dir, `ca-${name}-admin-token`);
  await writeFile(tokenFile, "admin-token\n", { mode: 0o600 });
  const run = runProcess(join(appsDir, "ca"), ["--data-dir", dataDir, "--trust-domain", trustDomain, "--grpc-port", "0", "--admin-port", "0", "--admin-token-file", tokenFile, "--rate-limit-per-second", "0"]);
  runs.push(run);
  const ready = await run.waitForLine("ready");
  cas[name] = { dataDir, grpc: `127.0.0.1:${String(ready["grpcPort"])}`, admin: `http://127.0.0.1:${String(ready["adminPort"])}`, rootPem: await readFile(join(dataDir, "root-cert.pem"), "utf8") };
}

/** A workload token minted with the CA's issuer key (what `meshctl token issue` does). */
async function token(ca: "mesh" | "other", namespace: string, serviceAccount: string): Promise<string> {
  const key = await importTokenIssuerKey(await readFile(join(cas[ca].dataDir, tokenIssuerFiles.privateKey), "utf8"), globalThis.crypto);
  if (!key.ok) throw new Error(key.detail);
  return mintWorkloadToken({ privateKey: key.privateKey, issuer: "meshwork", audience: "meshwork-ca", namespace, serviceAccount, now: new Date(), ttlSeconds: 600, crypto: globalThis.crypto });
}

/** An SVID from the CA for ns/sa: chain PEM (leaf first) and key PEM. */
async function svid(ca: "mesh" | "other", trustDomain: string, namespace: string, serviceAccount: string): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateKeyPair("ecdsa-p256");
  const csr = await createCsr({ keys, spiffeId: `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}` as SpiffeId });
  const roots = pemToDer(cas[ca].rootPem, "CERTIFICATE");
  if (!roots.ok) throw new Error(roots.detail);
  const client = createCaClient({
    address: cas[ca].grpc,
    bundles: trustBundles([[trustDomain as TrustDomain, [roots.der]]]),
    rootsPem: cas[ca].rootPem,
    serverId: `spiffe://${trustDomain}/ns/mesh-system/sa/ca` as SpiffeId,
    clock: () => new Date(),
  });
  try {
    const issued = await createCertificate(client, { csrPem: csr.pem, validitySeconds: 600, workloadToken: await token(ca, namespace, serviceAccount), trustBundleVersion: undefined });
    return { certPem: issued.certChain.join(""), keyPem: await exportPrivateKeyPem(keys.privateKey) };
  } finally {
    client.close();
  }
}

const node = (serviceAccount: string): ProxyNode => ({ id: `reviews-v1.default`, workload: "reviews-v1", namespace: "default", serviceAccount, labels: { app: "reviews", version: "v1" }, version: "test", kind: "sidecar" });

function connect(proxy: ProxyNode, security: Pick<DiscoveryClientOptions, "tls" | "credentials">): { client: DiscoveryClient; events: DiscoveryClientEvent[] } {
  const events: DiscoveryClientEvent[] = [];
  const client = new DiscoveryClient({ addresses: [grpcAddress], node: proxy, apply: () => undefined, onEvent: (e) => events.push(e), backoff: { initialMs: 50, maxMs: 200 }, ...security });
  clients.push(client);
  client.start();
  return { client, events };
}

/** The server check a proxy makes: the control plane's SPIFFE ID, chained to the mesh root. */
function serverCheck(): ReturnType<typeof spiffeServerIdentityCheck> {
  const root = pemToDer(cas.mesh.rootPem, "CERTIFICATE");
  if (!root.ok) throw new Error(root.detail);
  return spiffeServerIdentityCheck([controlPlaneId as SpiffeId], { bundles: trustBundles([["cluster.local" as TrustDomain, [root.der]]]), clock: () => new Date() });
}

const rootsOf = (client: DiscoveryClient): readonly string[] => (client.accepted.get("trustBundle")?.resources as NamedResource<"trustBundle">[] | undefined)?.flatMap((r) => r.body.rootsPem) ?? [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "control-plane-tls-"));
  await Promise.all([startCa("mesh", "cluster.local"), startCa("other", "other.example")]);
  await mkdir(join(dir, "config"));
  await writeFile(
    join(dir, "config", "reviews.yaml"),
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: 9 }, labels: { app: reviews, version: v1 } }]
`,
  );
  const cpToken = join(dir, "control-plane.jwt");
  await writeFile(cpToken, `${await token("mesh", "istio-system", "control-plane")}\n`, { mode: 0o600 });
  const cp = runProcess(join(appsDir, "control-plane"), [
    "--id", "cp-tls", "--grpc-port", "0", "--admin-port", "0", "--config-dir", join(dir, "config"), "--debounce-ms", "10",
    "--ca-address", cas.mesh.grpc, "--trust-bundle", join(cas.mesh.dataDir, "root-cert.pem"), "--workload-token-file", cpToken,
  ]);
  runs.push(cp);
  const listening = await cp.waitForLine("listening");
  expect(listening).toMatchObject({ tls: true, spiffeId: controlPlaneId });
  grpcAddress = `127.0.0.1:${String(listening["grpcPort"])}`;
  adminUrl = `http://127.0.0.1:${String(listening["adminPort"])}`;
  await eventually("control plane ready", async () => ((await fetch(`${adminUrl}/ready`)).status === 200 ? true : undefined));
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  for (const run of runs) run.kill("SIGKILL");
  await Promise.all(runs.map((r) => r.exit));
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

describe("StreamConfig over mutual TLS", { timeout: 90_000 }, () => {
  it("serves a managed sidecar (a real process) that connects with its SVID from the CA", async () => {
    const tokenFile = join(dir, "reviews.jwt");
    await writeFile(tokenFile, `${await token("mesh", "default", "bookinfo-reviews")}\n`, { mode: 0o600 });
    const [admin, stats] = [await freePort(), await freePort()];
    const sidecar = runProcess(join(appsDir, "sidecar"), [
      "--discovery-address", grpcAddress, "--namespace", "default", "--workload-name", "reviews-v1", "--labels", "app=reviews,version=v1",
      "--ca-address", cas.mesh.grpc, "--ca-root-cert", join(cas.mesh.dataDir, "root-cert.pem"), "--workload-token-file", tokenFile, "--service-account", "bookinfo-reviews",
      "--outbound-port", "0", "--inbound-port=-1", "--admin-port", `${admin}`, "--stats-port", `${stats}`, "--access-log", "off",
    ]);
    runs.push(sidecar);
    const synced = await eventually(
      "the sidecar SYNCED on the control plane",
      async () => {
        const list = (await (await fetch(`${adminUrl}/debug/syncz`)).json()) as { proxy: string; namespace: string; state: string }[];
        return list.find((p) => p.proxy === "reviews-v1.default" && p.state === "SYNCED");
      },
      60_000,
    );
    // Served at all means its certificate (default/bookinfo-reviews) matched the node it claims.
    expect(synced.namespace).toBe("default");
    sidecar.kill("SIGTERM");
    await sidecar.exit;
  });

  it("refuses a client without a certificate (the TLS handshake fails, nothing is pushed)", async () => {
    const proxy = connect(node("bookinfo-reviews"), { credentials: credentials.createSsl(Buffer.from(cas.mesh.rootPem), null, null, { checkServerIdentity: serverCheck() }) });
    await eventually("two refused attempts", async () => (proxy.events.filter((e) => e.type === "disconnected").length >= 2 ? true : undefined));
    expect(proxy.client.accepted.size).toBe(0);
    proxy.client.close();
  });

  it("refuses a certificate of another trust domain", async () => {
    const foreign = await svid("other", "other.example", "default", "bookinfo-reviews");
    const proxy = connect(node("bookinfo-reviews"), { tls: () => ({ ...foreign, caPem: cas.mesh.rootPem, checkServerIdentity: serverCheck() }) });
    await eventually("two refused attempts", async () => (proxy.events.filter((e) => e.type === "disconnected").length >= 2 ? true : undefined));
    expect(proxy.client.accepted.size).toBe(0);
    proxy.client.close();
  });

  it("ties the stream to the certificate: a proxy cannot ask for another service account's config", async () => {
    const own = await svid("mesh", "cluster.local", "default", "bookinfo-reviews");
    const proxy = connect(node("bookinfo-ratings"), { tls: () => ({ ...own, caPem: cas.mesh.rootPem, checkServerIdentity: serverCheck() }) });
    const refused = await eventually("the refusal", async () => proxy.events.find((e) => e.type === "disconnected"));
    expect(refused.type === "disconnected" ? refused.error : "").toMatch(/PERMISSION_DENIED.*service account bookinfo-ratings.*spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-reviews/);
    expect(proxy.client.accepted.size).toBe(0);
    proxy.client.close();
  });

  it("a client checking for another server identity does not connect", async () => {
    const own = await svid("mesh", "cluster.local", "default", "bookinfo-reviews");
    const root = pemToDer(cas.mesh.rootPem, "CERTIFICATE");
    if (!root.ok) throw new Error(root.detail);
    const wrongServer = spiffeServerIdentityCheck(["spiffe://cluster.local/ns/istio-system/sa/impostor" as SpiffeId], { bundles: trustBundles([["cluster.local" as TrustDomain, [root.der]]]), clock: () => new Date() });
    const proxy = connect(node("bookinfo-reviews"), { tls: () => ({ ...own, caPem: cas.mesh.rootPem, checkServerIdentity: wrongServer }) });
    await eventually("two refused attempts", async () => (proxy.events.filter((e) => e.type === "disconnected").length >= 2 ? true : undefined));
    expect(proxy.client.accepted.size).toBe(0);
    proxy.client.close();
  });

  it("pushes a root rotation at the CA to a connected proxy as the new TrustBundle", async () => {
    const own = await svid("mesh", "cluster.local", "default", "bookinfo-reviews");
    const proxy = connect(node("bookinfo-reviews"), { tls: () => ({ ...own, caPem: cas.mesh.rootPem, checkServerIdentity: serverCheck() }) });
    const before = await eventually("the first TrustBundle", async () => (rootsOf(proxy.client).length > 0 ? rootsOf(proxy.client) : undefined));
    expect(before).toHaveLength(1);
    expect(before[0]?.replace(/\s/g, "")).toBe(cas.mesh.rootPem.replace(/\s/g, ""));
    const rotate = await fetch(`${cas.mesh.admin}/v1/ca/rotate-root`, { method: "POST", headers: { authorization: "Bearer admin-token", "content-type": "application/json" }, body: "{}" });
    expect(rotate.status).toBe(202);
    // The CA publishes {old, new} first: the proxy gets both roots without reconnecting.
    const after = await eventually("the rotated TrustBundle", async () => (rootsOf(proxy.client).length === 2 ? rootsOf(proxy.client) : undefined));
    expect(after.map((pem) => pem.replace(/\s/g, ""))).toContain(cas.mesh.rootPem.replace(/\s/g, ""));
    expect(proxy.events.filter((e) => e.type === "connected")).toHaveLength(1);
    proxy.client.close();
  });
});

describe("the --trust-bundle file", () => {
  it("is followed: a changed file becomes the new bundle", async () => {
    const file = join(dir, "bundle.pem");
    await writeFile(file, cas.mesh.rootPem);
    const security = await startDiscoverySecurity(
      { trustDomain: "cluster.local", rootNamespace: "istio-system", trustBundle: file, tlsCert: undefined, tlsKey: undefined, caAddress: undefined, caRootCert: undefined, caSpiffeId: undefined, workloadTokenFile: undefined, serviceAccount: "control-plane", svidTtlSeconds: 3600, filePollMs: 20 },
      createLogger({ name: "test", level: "error", write: () => undefined }),
    );
    try {
      expect(security.tls).toBe(false);
      expect(security.bundles()[0]?.rootsPem).toHaveLength(1);
      const seen: number[] = [];
      security.onBundles((bundles) => seen.push(bundles[0]?.rootsPem.length ?? 0));
      await writeFile(file, `${cas.mesh.rootPem}${cas.other.rootPem}`);
      await eventually("the new bundle", async () => (seen.includes(2) ? true : undefined));
      expect(security.bundles()[0]?.rootsPem).toHaveLength(2);
    } finally {
      security.close();
    }
  });
});
