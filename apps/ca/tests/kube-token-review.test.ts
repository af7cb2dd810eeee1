// Kubernetes attestation against a real HTTPS server standing in for the API server (which cannot
// run here): it answers POST /apis/authentication.k8s.io/v1/tokenreviews with the JSON Kubernetes
// documents (kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-review-v1/),
// 201 Created, and an unauthenticated status with `error` for tokens it does not know. The CA runs
// in-process with --kube-api-server/--kube-token-file/--kube-ca-file; workloads call it over gRPC.
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { readCertificate } from "@meshwork/pki";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chainDer, createCertificate, csrFor, refusalOf, startCaFixture, type CaFixture } from "./ca-fixture.ts";

const caKubeToken = "ca-service-account-token";
/** Service-account tokens the stand-in API server knows: token → the user and audiences it authenticates. */
const known = new Map<string, { username: string; audiences: string[] }>();
const reviews: { authorization: string | undefined; body: unknown }[] = [];
let dir: string;
let apiServer: Server;
let f: CaFixture;

/** A JWT-shaped projected service-account token (the stand-in does not check its signature). */
function kubeToken(sub: string, aud: string[], expSeconds = Math.floor(Date.now() / 1000) + 600): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const [, ns, sa] = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(sub) ?? [];
  const payload = { aud, exp: expSeconds, iat: expSeconds - 600, iss: "https://kubernetes.default.svc.cluster.local", nbf: expSeconds - 600, sub, "kubernetes.io": { namespace: ns, serviceaccount: { name: sa, uid: "2f1e4c5a-0000-4000-8000-000000000001" } } };
  return `${part({ alg: "RS256", kid: "k1" })}.${part(payload)}.${Buffer.from(`sig-${sub}-${aud.join(",")}`).toString("base64url")}`;
}

function answerTokenReview(body: { spec?: { token?: string; audiences?: string[] } }): unknown {
  const spec = body.spec ?? {};
  const entry = known.get(spec.token ?? "");
  const wanted = spec.audiences ?? [];
  const base = { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", metadata: { creationTimestamp: null }, spec };
  if (entry === undefined) return { ...base, status: { user: {}, error: "[invalid bearer token, token lookup failed]" } };
  const audiences = entry.audiences.filter((a) => wanted.includes(a));
  if (wanted.length > 0 && audiences.length === 0) {
    return { ...base, status: { user: {}, error: `[invalid bearer token, token audiences ${JSON.stringify(entry.audiences)} is invalid for the target audiences ${JSON.stringify(wanted)}]` } };
  }
  const [, ns] = /^system:serviceaccount:([^:]+):/.exec(entry.username) ?? [];
  return {
    ...base,
    status: {
      authenticated: true,
      user: {
        username: entry.username,
        uid: "2f1e4c5a-0000-4000-8000-000000000001",
        groups: ns ? ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"] : ["system:authenticated"],
        extra: { "authentication.kubernetes.io/pod-name": ["web-5d8c7b9f4-x2x7q"], "authentication.kubernetes.io/pod-uid": ["8b0c2f66-0000-4000-8000-000000000002"] },
      },
      audiences: wanted.length > 0 ? audiences : entry.audiences,
    },
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshwork-kube-"));
  const keyPath = join(dir, "apiserver.key");
  const certPath = join(dir, "apiserver.crt");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "1", "-subj", "/CN=kube-apiserver", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], { stdio: "ignore" });
  apiServer = createServer({ key: await readFile(keyPath), cert: await readFile(certPath) }, (request, response) => {
    let text = "";
    request.on("data", (chunk: Buffer) => (text += chunk.toString()));
    request.on("end", () => {
      if (request.headers.authorization !== `Bearer ${caKubeToken}`) {
        response.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 }));
        return;
      }
      if (request.method !== "POST" || request.url !== "/apis/authentication.k8s.io/v1/tokenreviews") {
        response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 }));
        return;
      }
      const body = JSON.parse(text) as { spec?: { token?: string; audiences?: string[] } };
      reviews.push({ authorization: request.headers.authorization, body });
      response.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify(answerTokenReview(body)));
    });
  });
  apiServer.listen(0, "127.0.0.1");
  await once(apiServer, "listening");
  const { port } = apiServer.address() as AddressInfo;
  await writeFile(join(dir, "kube-token"), `${caKubeToken}\n`, { mode: 0o600 });
  f = await startCaFixture(["--kube-api-server", `https://127.0.0.1:${port}`, "--kube-token-file", join(dir, "kube-token"), "--kube-ca-file", certPath]);
});
afterAll(async () => {
  await f?.stop();
  apiServer?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("Kubernetes TokenReview attestation", () => {
  it("issues spiffe://<td>/ns/<ns>/sa/<sa> for a service-account token the API server authenticates for the CA's audience", async () => {
    const token = kubeToken("system:serviceaccount:shop:web", ["meshwork-ca"]);
    known.set(token, { username: "system:serviceaccount:shop:web", audiences: ["meshwork-ca"] });
    const client = f.client();
    try {
      const reply = await createCertificate(client, { csrPem: await csrFor("spiffe://cluster.local/ns/shop/sa/web"), validitySeconds: 300, workloadToken: token });
      const leaf = readCertificate(chainDer(reply.certChain)[0] as Uint8Array);
      expect(leaf.ok && leaf.cert.uriSans).toEqual(["spiffe://cluster.local/ns/shop/sa/web"]);
      expect(reviews.at(-1)).toEqual({ authorization: `Bearer ${caKubeToken}`, body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, audiences: ["meshwork-ca"] } } });
      // the ID comes from the reviewed service account, never from the CSR
      expect(await refusalOf(createCertificate(client, { csrPem: await csrFor("spiffe://cluster.local/ns/shop/sa/admin"), validitySeconds: 300, workloadToken: token }))).toMatchObject({ code: status.PERMISSION_DENIED, reason: "id-mismatch" });
    } finally {
      client.close();
    }
  });

  it("refuses with UNAUTHENTICATED what the API server does not authenticate: unknown token, wrong audience, a user that is no service account", async () => {
    const client = f.client();
    try {
      const csrPem = await csrFor("spiffe://cluster.local/ns/shop/sa/web");
      const unknown = await refusalOf(createCertificate(client, { csrPem, validitySeconds: 300, workloadToken: kubeToken("system:serviceaccount:shop:web", ["meshwork-ca"], 1) }));
      expect(unknown).toMatchObject({ code: status.UNAUTHENTICATED, reason: "token-review-rejected" });
      expect(unknown.details).toContain("Kubernetes did not authenticate the service-account token: [invalid bearer token, token lookup failed]");

      const otherAudience = kubeToken("system:serviceaccount:shop:web", ["https://kubernetes.default.svc"]);
      known.set(otherAudience, { username: "system:serviceaccount:shop:web", audiences: ["https://kubernetes.default.svc"] });
      const wrongAudience = await refusalOf(createCertificate(client, { csrPem, validitySeconds: 300, workloadToken: otherAudience }));
      expect(wrongAudience).toMatchObject({ code: status.UNAUTHENTICATED, reason: "token-review-rejected" });
      expect(wrongAudience.details).toContain("token audiences");

      const userToken = kubeToken("system:serviceaccount:x:y", ["meshwork-ca"], 2);
      known.set(userToken, { username: "jane@example.com", audiences: ["meshwork-ca"] });
      const user = await refusalOf(createCertificate(client, { csrPem, validitySeconds: 300, workloadToken: userToken }));
      expect(user).toMatchObject({ code: status.UNAUTHENTICATED, reason: "token-review-rejected" });
      expect(user.details).toContain('"jane@example.com", which is not a service account');
    } finally {
      client.close();
    }
  });

  it("keeps mesh tokens off the API server", async () => {
    const client = f.client();
    try {
      const before = reviews.length;
      await createCertificate(client, { csrPem: await csrFor("spiffe://cluster.local/ns/shop/sa/cart"), validitySeconds: 300, workloadToken: await f.token({ ns: "shop", sa: "cart" }) });
      expect(reviews.length).toBe(before);
    } finally {
      client.close();
    }
  });

  it("answers UNAVAILABLE (retry) when the API server cannot be reached", async () => {
    apiServer.close();
    apiServer.closeAllConnections();
    const token = kubeToken("system:serviceaccount:shop:web", ["meshwork-ca"], 3);
    known.set(token, { username: "system:serviceaccount:shop:web", audiences: ["meshwork-ca"] });
    const client = f.client();
    try {
      const down = await refusalOf(createCertificate(client, { csrPem: await csrFor("spiffe://cluster.local/ns/shop/sa/web"), validitySeconds: 300, workloadToken: token }));
      expect(down).toMatchObject({ code: status.UNAVAILABLE, reason: "token-review-unavailable" });
      expect(down.details).toContain("cannot reach the Kubernetes API server at https://127.0.0.1:");
    } finally {
      client.close();
    }
  });
});
