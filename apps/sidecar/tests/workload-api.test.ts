// The SPIFFE Workload API on a real sidecar (--workload-api-socket) whose identity comes from
// apps/ca (a child process, 4 s SVIDs, 60 s JWT-SVIDs). The client is grpc-js with the vendored
// upstream workload.proto loaded by @grpc/proto-loader — not our generated code — as go-spiffe
// and py-spiffe would call it: the security header is required; FetchX509SVID hands out a chain
// and key that verify against its bundle and sends again after each rotation; FetchJWTSVID's
// token verifies with FetchJWTBundles' JWKS and with ValidateJWTSVID, and not for another
// audience; and the same sidecar's RequestAuthentication, with the CA's /keys as jwksUri,
// accepts that JWT-SVID from a caller.
import { createPrivateKey, createPublicKey, verify, X509Certificate, type JsonWebKey } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { credentials, loadPackageDefinition, Metadata, status, type Client, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { parseTrustDomain, trustBundles, verifySvid } from "@meshwork/pki";
import { eventually } from "@meshwork/testing";
import { startSourceProcess, type LogLine } from "@meshwork/testing/processes";
import { importTokenIssuerKey, mintWorkloadToken, tokenIssuerFiles } from "@meshwork/workload-identity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSidecar, type TestSidecar } from "./support/mtls-sidecar.ts";
import { workspaceRoot } from "./support/sidecar-process.ts";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.ts";

const caMain = fileURLToPath(new URL("../../ca/src/main.ts", import.meta.url));
const protoPath = fileURLToPath(new URL("../../../libs/protocol/proto/spiffe/workload/workload.proto", import.meta.url));
const jwtIssuer = "https://ca.meshwork.test";
const apiId = "spiffe://cluster.local/ns/default/sa/api";
const cleanups: (() => Promise<void> | void)[] = [];

let root: string;
let socketPath: string;
let app: UpstreamServer;
let sidecar: TestSidecar | undefined;
let ready: LogLine;

type Unary = (request: object, metadata: Metadata, callback: (error: ServiceError | null, response: Record<string, unknown>) => void) => void;
type Streaming = (request: object, metadata: Metadata) => ClientReadableStream<Record<string, unknown>>;
type WorkloadClient = Client & { FetchX509SVID: Streaming; FetchX509Bundles: Streaming; FetchJWTSVID: Unary; FetchJWTBundles: Streaming; ValidateJWTSVID: Unary };

function workloadClient(): WorkloadClient {
  const definition = loadSync(protoPath, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const api = loadPackageDefinition(definition)["SpiffeWorkloadAPI"] as unknown as new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => WorkloadClient;
  const client = new api(`unix:${socketPath}`, credentials.createInsecure());
  cleanups.push(() => client.close());
  return client;
}

const withHeader = (): Metadata => {
  const metadata = new Metadata();
  metadata.set("workload.spiffe.io", "true");
  return metadata;
};

const call = (method: Unary, request: object, metadata = withHeader()): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => method(request, metadata, (error, response) => (error ? reject(error) : resolve(response))));

const errorOf = async (promise: Promise<unknown>): Promise<{ code: number; details: string }> => {
  try {
    await promise;
  } catch (error) {
    return { code: (error as ServiceError).code, details: (error as ServiceError).details };
  }
  throw new Error("the call succeeded");
};

/** The messages of a server stream as they arrive. */
function collect(stream: ClientReadableStream<Record<string, unknown>>): { messages: Record<string, unknown>[]; arrivedAt: Date[]; error: () => ServiceError | undefined } {
  const messages: Record<string, unknown>[] = [];
  const arrivedAt: Date[] = [];
  let failure: ServiceError | undefined;
  stream.on("data", (message: Record<string, unknown>) => {
    messages.push(message);
    arrivedAt.push(new Date());
  });
  stream.on("error", (error: ServiceError) => {
    if (error.code !== status.CANCELLED) failure = error;
  });
  cleanups.push(() => stream.cancel());
  return { messages, arrivedAt, error: () => failure };
}

/** Splits concatenated DER certificates (SEQUENCE, definite length) as the Workload API sends them. */
function splitDer(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const first = bytes[at + 1] as number;
    const lengthBytes = first & 0x80 ? first & 0x7f : 0;
    let length = lengthBytes === 0 ? first : 0;
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + (bytes[at + 2 + i] as number);
    const end = at + 2 + lengthBytes + length;
    out.push(bytes.subarray(at, end));
    at = end;
  }
  return out;
}

interface Jwk extends JsonWebKey {
  kid: string;
}
const decodePart = (part: string | undefined): Record<string, unknown> => JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8")) as Record<string, unknown>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "meshwork-workload-api-"));
  const dataDir = join(root, "ca");
  const ca = startSourceProcess(caMain, ["--data-dir", dataDir, "--grpc-port", "0", "--admin-port", "0", "--jwt-issuer", jwtIssuer, "--jwt-ttl-seconds", "60"], { cwd: workspaceRoot, name: "ca" });
  cleanups.push(async () => void (await ca.stop()));
  ready = await ca.waitForLine("ready");
  const key = await importTokenIssuerKey(await readFile(join(dataDir, tokenIssuerFiles.privateKey), "utf8"), globalThis.crypto);
  if (!key.ok) throw new Error(key.detail);
  const token = await mintWorkloadToken({ privateKey: key.privateKey, issuer: "meshwork", audience: "meshwork-ca", namespace: "default", serviceAccount: "api", now: new Date(), ttlSeconds: 600, crypto: globalThis.crypto });
  const tokenFile = join(root, "api.token");
  await writeFile(tokenFile, token, { mode: 0o600 });
  app = await startUpstream("app");
  const config = join(root, "config");
  await mkdir(config);
  // Istio's RequestAuthentication with the CA's OIDC keys endpoint, and a policy that lets only the
  // JWT-SVID of api through. The SPIFFE ID is matched as the sub claim: requestPrincipals' "iss/sub"
  // cannot name it, as both the issuer URL and the SPIFFE ID hold slashes.
  await writeFile(
    join(config, "policies.yaml"),
    `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt-svid, namespace: default }
spec:
  selector: { matchLabels: { app: api } }
  jwtRules:
  - issuer: "${jwtIssuer}"
    jwksUri: "http://127.0.0.1:${String(ready["adminPort"])}/keys"
    audiences: ["api"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: api-callers, namespace: default }
spec:
  selector: { matchLabels: { app: api } }
  rules:
  - from: [{ source: { requestPrincipals: ["*"] } }]
    when: [{ key: "request.auth.claims[sub]", values: ["${apiId}"] }]
`,
  );
  socketPath = join(root, "workload-spiffe-uds", "socket");
  sidecar = await startTestSidecar(
    [
      "--config", config,
      "--namespace", "default",
      "--labels", "app=api",
      "--app-port", String(app.port),
      "--ca-address", `127.0.0.1:${String(ready["grpcPort"])}`,
      "--ca-root-cert", join(dataDir, "root-cert.pem"),
      "--workload-token-file", tokenFile,
      "--service-account", "api",
      "--svid-ttl-seconds", "4",
      "--workload-api-socket", socketPath,
    ],
    root,
    "api",
  );
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await sidecar?.stop();
  await app?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("the SPIFFE Workload API on the sidecar's socket", () => {
  it("serves on a 0777 socket and refuses calls without the security header", async () => {
    expect((await stat(socketPath)).mode & 0o777).toBe(0o777);
    const client = workloadClient();
    expect(await errorOf(call(client.FetchJWTSVID.bind(client), { audience: ["api"] }, new Metadata()))).toEqual({ code: status.INVALID_ARGUMENT, details: "security header missing from request" });
    expect(await errorOf(call(client.ValidateJWTSVID.bind(client), { audience: "api", svid: "x" }, new Metadata()))).toMatchObject({ code: status.INVALID_ARGUMENT });
    const stream = collect(client.FetchX509SVID({}, new Metadata()));
    await eventually("the stream's refusal", () => stream.error(), { timeoutMs: 5_000, intervalMs: 20 });
    expect(stream.error()).toMatchObject({ code: status.INVALID_ARGUMENT, details: "security header missing from request" });
    expect(stream.messages).toEqual([]);
  });

  it("FetchX509SVID sends a chain and key that verify against the bundle, and sends again after every rotation", { timeout: 30_000 }, async () => {
    const client = workloadClient();
    const stream = collect(client.FetchX509SVID({}, withHeader()));
    // 4 s SVIDs renew every ~2 s: three messages means two rotations reached the stream.
    await eventually("three X509SVIDResponses", () => stream.messages.length >= 3 || stream.error(), { timeoutMs: 20_000, intervalMs: 50 });
    expect(stream.error()).toBeUndefined();
    const td = parseTrustDomain("cluster.local");
    if (!td.ok) throw new Error(td.detail);
    const serials = new Set<string>();
    for (const [i, message] of stream.messages.slice(0, 3).entries()) {
      const [svid] = message["svids"] as Record<string, unknown>[];
      expect(svid?.["spiffe_id"]).toBe(apiId);
      const chain = splitDer(svid?.["x509_svid"] as Buffer);
      const roots = splitDer(svid?.["bundle"] as Buffer);
      expect(chain.length).toBeGreaterThanOrEqual(1);
      expect(roots.length).toBeGreaterThanOrEqual(1);
      const verified = await verifySvid({ chain: [...chain, ...roots].map((c) => new Uint8Array(c)), bundles: trustBundles([[td.trustDomain, roots.map((r) => new Uint8Array(r))]]), now: stream.arrivedAt[i] as Date });
      expect(verified).toMatchObject({ ok: true, spiffeId: apiId });
      const leaf = new X509Certificate(chain[0] as Buffer);
      expect(leaf.checkPrivateKey(createPrivateKey({ key: svid?.["x509_svid_key"] as Buffer, format: "der", type: "pkcs8" }))).toBe(true);
      serials.add(leaf.serialNumber);
    }
    expect(serials.size).toBe(3);
  });

  it("FetchX509Bundles sends the trust domain's roots keyed by its SPIFFE ID", async () => {
    const client = workloadClient();
    const stream = collect(client.FetchX509Bundles({}, withHeader()));
    await eventually("an X509BundlesResponse", () => stream.messages.length >= 1 || stream.error(), { timeoutMs: 5_000, intervalMs: 20 });
    const bundles = stream.messages[0]?.["bundles"] as Record<string, Buffer>;
    expect(Object.keys(bundles)).toEqual(["spiffe://cluster.local"]);
    const [rootCert] = splitDer(bundles["spiffe://cluster.local"] as Buffer);
    expect(new X509Certificate(rootCert as Buffer).toString()).toBe(new X509Certificate(await readFile(join(root, "ca", "root-cert.pem"))).toString());
  });

  it("FetchJWTSVID gives a token that FetchJWTBundles' keys and ValidateJWTSVID accept for its audience only", async () => {
    const client = workloadClient();
    const response = await call(client.FetchJWTSVID.bind(client), { audience: ["api"] });
    const [svid] = response["svids"] as Record<string, string>[];
    expect(svid?.["spiffe_id"]).toBe(apiId);
    const token = svid?.["svid"] ?? "";
    const stream = collect(client.FetchJWTBundles({}, withHeader()));
    await eventually("a JWTBundlesResponse", () => stream.messages.length >= 1 || stream.error(), { timeoutMs: 5_000, intervalMs: 20 });
    const jwks = JSON.parse((stream.messages[0]?.["bundles"] as Record<string, Buffer>)["spiffe://cluster.local"]?.toString("utf8") ?? "") as { keys: Jwk[] };
    const [header, payload, signature] = token.split(".");
    const jwk = jwks.keys.find((k) => k.kid === decodePart(header)["kid"]);
    expect(jwk).toBeDefined();
    const { kid: _kid, use: _use, ...material } = jwk as Jwk & { use?: string };
    expect(verify("sha256", Buffer.from(`${header}.${payload}`), { key: createPublicKey({ key: material, format: "jwk" }), dsaEncoding: "ieee-p1363" }, Buffer.from(signature ?? "", "base64url"))).toBe(true);
    expect(decodePart(payload)).toMatchObject({ sub: apiId, aud: "api", iss: jwtIssuer });

    const validated = await call(client.ValidateJWTSVID.bind(client), { audience: "api", svid: token });
    expect(validated["spiffe_id"]).toBe(apiId);
    // proto-loader leaves google.protobuf.Struct as fields of Values.
    expect((validated["claims"] as { fields: Record<string, { stringValue?: string }> }).fields["sub"]?.stringValue).toBe(apiId);

    expect(await errorOf(call(client.ValidateJWTSVID.bind(client), { audience: "db", svid: token }))).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('audience="db"') });
    expect(await errorOf(call(client.ValidateJWTSVID.bind(client), { audience: "api", svid: `${token.slice(0, -4)}AAAA` }))).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(await errorOf(call(client.FetchJWTSVID.bind(client), { audience: [] }))).toEqual({ code: status.INVALID_ARGUMENT, details: "audience must be specified" });
    expect(await errorOf(call(client.FetchJWTSVID.bind(client), { audience: ["api"], spiffe_id: "spiffe://cluster.local/ns/default/sa/other" }))).toMatchObject({ code: status.PERMISSION_DENIED });
  });

  it("a RequestAuthentication with the CA's /keys as jwksUri accepts the JWT-SVID", async () => {
    const client = workloadClient();
    const tokenFor = async (audience: string): Promise<string> => ((await call(client.FetchJWTSVID.bind(client), { audience: [audience] }))["svids"] as Record<string, string>[])[0]?.["svid"] ?? "";
    const get = async (authorization?: string): Promise<number> =>
      (await fetch(`http://127.0.0.1:${sidecar?.port("inbound") ?? 0}/`, { headers: authorization ? { authorization } : {} })).status;
    expect(await get(`Bearer ${await tokenFor("api")}`)).toBe(200);
    expect(await get()).toBe(403);
    // A JWT-SVID for another audience does not satisfy the jwtRule's audiences: no principal, denied.
    expect(await get(`Bearer ${await tokenFor("someone-else")}`)).toBe(403);
  });

  it("removes the socket when the sidecar stops", async () => {
    await sidecar?.stop();
    sidecar = undefined;
    await expect(stat(socketPath)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
