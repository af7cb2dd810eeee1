// DestinationRule tls modes on real sockets: SIMPLE (server verified against caCertificates and
// subjectAltNames), MUTUAL (plus a client certificate from files), a SAN mismatch (503 UF with the
// TLS detail), insecureSkipVerify, and DISABLE towards an endpoint with a sidecar (plain text wins
// over auto mTLS). Without subjectAltNames the server is checked against the SNI host name, as Istio
// does with VERIFY_CERTIFICATE_AT_CLIENT (the default since 1.20). The upstream is a node:https server requiring (or not) a client certificate.
// A credentialName secret swapped on disk as the kubelet swaps a secret volume is used by the next
// connection, without restarting the sidecar.
import { mkdtemp, mkdir, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { eventually } from "@meshwork/testing/processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send } from "./support/http-client.ts";
import { createTestPki, writeCertDir, type TestPki } from "./support/mesh-pki.ts";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

let root: string;
let pki: TestPki;
let https: Server;
let httpsPort = 0;
let plain: UpstreamServer;
let client: TestSidecar;
const clientCerts: string[] = [];
/** An upstream requiring a client certificate of the CA it trusts (refusing others in the handshake). */
let rotating: Server;
let rotatingPort = 0;

function service(name: string, port: number, labels = ""): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${name}.example.com]
  resolution: STATIC
  ports: [{ number: 80, name: http }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${port} }${labels} }]
`;
}

function rule(name: string, tls: string): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${name}, namespace: default }
spec:
  host: ${name}.example.com
  trafficPolicy:
    tls: ${tls}
`;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-dr-tls-"));
  pki = await createTestPki();
  const serverSvid = await pki.issue("external", "payments");
  const clientSvid = await pki.issue("default", "web");
  const files = join(root, "files");
  await mkdir(files);
  await writeFile(join(files, "ca.pem"), pki.rootPem);
  await writeFile(join(files, "client.pem"), clientSvid.chainPem);
  await writeFile(join(files, "client.key"), clientSvid.keyPem);
  // The same client material as a secret (Istio's egress TLS origination with credentialName).
  await mkdir(join(root, "credentials", "web-client"), { recursive: true });
  await writeFile(join(root, "credentials", "web-client", "tls.crt"), clientSvid.chainPem);
  await writeFile(join(root, "credentials", "web-client", "tls.key"), clientSvid.keyPem);
  await writeFile(join(root, "credentials", "web-client", "ca.crt"), pki.rootPem);
  https = createServer({ cert: serverSvid.chainPem, key: serverSvid.keyPem, ca: pki.rootPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const peer = (req.socket as import("node:tls").TLSSocket).getPeerCertificate();
    const uri = peer.subjectaltname ?? "";
    if (uri) clientCerts.push(uri);
    res.end(uri ? `client ${uri}` : "no client certificate");
  });
  await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
  httpsPort = (https.address() as { port: number }).port;
  plain = await startUpstream("plain");
  rotating = createServer({ cert: serverSvid.chainPem, key: serverSvid.keyPem, ca: pki.rootPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    res.end(`client ${(req.socket as TLSSocket).getPeerCertificate().subjectaltname ?? ""}`);
  });
  await new Promise<void>((resolve) => rotating.listen(0, "127.0.0.1", resolve));
  rotatingPort = (rotating.address() as { port: number }).port;
  const f = (name: string): string => join(files, name);
  const config = join(root, "config");
  await mkdir(config);
  await writeFile(
    join(config, "mesh.yaml"),
    [
      service("simple", httpsPort),
      rule("simple", `{ mode: SIMPLE, caCertificates: ${f("ca.pem")}, subjectAltNames: [spiffe://cluster.local/ns/external/sa/payments] }`),
      service("mutual", httpsPort),
      rule("mutual", `{ mode: MUTUAL, caCertificates: ${f("ca.pem")}, clientCertificate: ${f("client.pem")}, privateKey: ${f("client.key")}, sni: payments.example.com, subjectAltNames: [spiffe://cluster.local/ns/external/sa/payments] }`),
      service("credential", httpsPort),
      rule("credential", `{ mode: MUTUAL, credentialName: web-client, sni: payments.example.com, subjectAltNames: [spiffe://cluster.local/ns/external/sa/payments] }`),
      service("nocredential", httpsPort),
      rule("nocredential", `{ mode: MUTUAL, credentialName: missing-client, sni: payments.example.com }`),
      service("wrongsan", httpsPort),
      rule("wrongsan", `{ mode: SIMPLE, caCertificates: ${f("ca.pem")}, subjectAltNames: [spiffe://cluster.local/ns/external/sa/billing] }`),
      service("insecure", httpsPort),
      rule("insecure", "{ mode: SIMPLE, insecureSkipVerify: true }"),
      service("nosidecar", plain.port, ", labels: { security.istio.io/tlsMode: istio }"),
      rule("nosidecar", "{ mode: DISABLE }"),
      service("rotating", rotatingPort),
      rule("rotating", `{ mode: MUTUAL, credentialName: rotating-client, sni: payments.example.com, subjectAltNames: [spiffe://cluster.local/ns/external/sa/payments] }`),
    ].join("---\n"),
  );
  const certs = await writeCertDir(join(root, "certs"), clientSvid, pki.rootPem);
  client = await startTestSidecar(["--config", config, "--cert-dir", certs, "--labels", "app=web", "--inbound-port=-1", "--credential-dir", join(root, "credentials")], root, "client");
});

afterAll(async () => {
  await client?.stop();
  https?.closeAllConnections();
  await new Promise<void>((resolve) => (https ? https.close(() => resolve()) : resolve()));
  await plain?.close();
  rotating?.closeAllConnections();
  await new Promise<void>((resolve) => (rotating ? rotating.close(() => resolve()) : resolve()));
  if (root) await rm(root, { recursive: true, force: true });
});

/** The client's access-log entry for a request to `authority`, once written (undefined after ~1 s without). */
async function accessLogEntry(authority: string): Promise<Record<string, unknown> | undefined> {
  let entry: Record<string, unknown> | undefined;
  for (let i = 0; i < 50 && !entry; i++) {
    entry = (await client.accessLog()).find((e) => e["authority"] === authority);
    if (!entry) await new Promise((r) => setTimeout(r, 20));
  }
  return entry;
}

describe("DestinationRule tls", () => {
  it("SIMPLE verifies the server against caCertificates and subjectAltNames, without a client certificate", async () => {
    const response = await send(client.port("outbound"), { host: "simple.example.com" });
    expect(response.status).toBe(200);
    expect(response.body).toBe("no client certificate");
  });

  it("MUTUAL presents the client certificate from the files", async () => {
    const response = await send(client.port("outbound"), { host: "mutual.example.com" });
    expect(response.status).toBe(200);
    expect(response.body).toBe("client URI:spiffe://cluster.local/ns/default/sa/web");
  });

  it("MUTUAL with credentialName takes the client certificate and the CA from the secret", async () => {
    const response = await send(client.port("outbound"), { host: "credential.example.com" });
    expect(response.status).toBe(200);
    expect(response.body).toBe("client URI:spiffe://cluster.local/ns/default/sa/web");
  });

  it("a credentialName with no secret is a connect failure naming it: 503 UF", async () => {
    const response = await send(client.port("outbound"), { host: "nocredential.example.com" });
    expect(response.status).toBe(503);
    const entry = await accessLogEntry("nocredential.example.com");
    expect(String(entry?.["response_flags"])).toContain("UF");
    expect(String(entry?.["response_code_details"])).toContain("missing-client");
  });

  it("a server whose SANs are not the rule's is refused: 503 UF with the TLS detail", async () => {
    const response = await send(client.port("outbound"), { host: "wrongsan.example.com" });
    expect(response.status).toBe(503);
    const entry = await accessLogEntry("wrongsan.example.com");
    expect(String(entry?.["response_flags"])).toContain("UF");
    expect(String(entry?.["response_code_details"])).toContain("TLS_error:san_mismatch");
  });

  it("insecureSkipVerify accepts a server the proxy cannot verify", async () => {
    const response = await send(client.port("outbound"), { host: "insecure.example.com" });
    expect(response.status).toBe(200);
  });

  it("DISABLE keeps plain text to an endpoint that has a sidecar (the rule wins over auto mTLS)", async () => {
    const response = await send(client.port("outbound"), { host: "nosidecar.example.com" });
    expect(response.status).toBe(200);
    expect(response.body).toBe("plain");
  });
});

/** Versions written by writeSecretVolume (it names its data directories after them, where the kubelet uses timestamps). */
let secretVersion = 0;

/**
 * Writes `files` into the secret directory `dir` as the kubelet updates a secret volume
 * (AtomicWriter): the data goes into a new hidden directory, the `..data` symlink is swapped to it
 * by one rename, and each file is a symlink through `..data` — so a reader sees the old set or the
 * new one, never a mix.
 */
async function writeSecretVolume(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const version = `..version-${++secretVersion}`;
  await mkdir(join(dir, version));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, version, name), text, { mode: 0o600 });
  const previous = await readlink(join(dir, "..data")).catch(() => undefined);
  await symlink(version, join(dir, "..data_tmp"));
  await rename(join(dir, "..data_tmp"), join(dir, "..data"));
  for (const name of Object.keys(files)) {
    await symlink(join("..data", name), join(dir, name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
    });
  }
  if (previous !== undefined) await rm(join(dir, previous), { recursive: true, force: true });
}

describe("DestinationRule credentialName rotation", () => {
  it("uses a secret swapped on disk for new connections: the new client certificate and the new CA, without a restart", { timeout: 60_000 }, async () => {
    const secret = join(root, "credentials", "rotating-client");
    const next = await createTestPki();
    const clientA = await pki.issue("default", "client-a");
    const clientB = await next.issue("default", "client-b");
    const serverB = await next.issue("external", "payments");
    const get = (): Promise<{ status: number; body: string }> => send(client.port("outbound"), { host: "rotating.example.com" });

    await writeSecretVolume(secret, { "tls.crt": clientA.chainPem, "tls.key": clientA.keyPem, "ca.crt": pki.rootPem });
    expect(await get()).toMatchObject({ status: 200, body: "client URI:spiffe://cluster.local/ns/default/sa/client-a" });

    // The upstream moves to the new CA: its certificate is issued by it and it admits only client
    // certificates of it. Its open connections (pooled by the sidecar, made with A) go away.
    rotating.setSecureContext({ cert: serverB.chainPem, key: serverB.keyPem, ca: next.rootPem });
    rotating.closeAllConnections();
    // Still credential A: the server's new certificate does not verify against A's ca.crt.
    expect((await get()).status).toBe(503);

    await writeSecretVolume(secret, { "tls.crt": clientB.chainPem, "tls.key": clientB.keyPem, "ca.crt": next.rootPem });
    const answer = await eventually(
      "a request with the swapped credential",
      async () => {
        const got = await get();
        return got.status === 200 ? got : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(answer.body).toBe("client URI:spiffe://cluster.local/ns/default/sa/client-b");
  });
});
