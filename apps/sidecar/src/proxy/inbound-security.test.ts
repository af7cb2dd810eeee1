// The inbound chain's JWT → authorization steps with the real parts: RequestAuthentication and
// AuthorizationPolicy YAML as Istio's tasks write them, compiled by proxy-core, the JWT
// authenticator of src/authn and authorizeRequest of src/authz; requests as parsed heads.
import { loadResources, type MeshResource } from "@meshwork/config";
import { compileAuthorization, compileRequestAuthentication } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { createRequestAuthenticator } from "../authn/index.ts";
import { generateTestKey, jwksOf, signJwt } from "../authn/testing/sign-jwt.ts";
import type { ConnectionCheckRequest, ExternalAuthorizer, ExternalCheckRequest, ExternalCheckResult } from "../authz/check-external.ts";
import type { ExtAuthzGrpcProvider, ExtAuthzRequestBody } from "../authz/mesh-authz-config.ts";
import { isHeadError, parseRequestHead, type RequestHead } from "../http1/parse-request-head.ts";
import { InboundSecurity, type InboundConnectionPeer, type InboundPeer, type SecurityVerdict } from "./inbound-security.ts";
import type { ArrivalConnection, RequestBodyRead } from "./socket-address.ts";

const nowS = 1_800_000_000;
const iss = "testing@secure.istio.io";
const key = generateTestKey("ES256", "k1");
const demo = signJwt(key, { exp: nowS + 3600, iat: nowS, iss, sub: iss, foo: "bar" });
const groupsToken = signJwt(key, { exp: nowS + 3600, iat: nowS, iss, sub: iss, groups: ["group1", "group2"] });
const workload = { namespace: "foo", labels: { app: "httpbin", version: "v1" } };

function resources<K extends "AuthorizationPolicy" | "RequestAuthentication">(kind: K, yaml: string): MeshResource<K>[] {
  const loaded = loadResources([{ path: `${kind}.yaml`, text: yaml }]);
  expect(loaded.issues.filter((i) => i.severity === "error")).toEqual([]);
  return loaded.resources.filter((r) => r.kind === kind) as MeshResource<K>[];
}

const jwtPolicy = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt-example, namespace: foo }
spec:
  selector: { matchLabels: { app: httpbin } }
  jwtRules:
  - issuer: "${iss}"
    jwks: '${jwksOf(key)}'
`;

function security(authorization: string | undefined, jwt = true): InboundSecurity {
  const authnConfig = compileRequestAuthentication(jwt ? resources("RequestAuthentication", jwtPolicy) : [], workload, { rootNamespace: "istio-system" });
  const authn = createRequestAuthenticator(authnConfig, { now: () => nowS * 1000, timers: { setTimeout: () => 0, clearTimeout: () => undefined }, fetchJwks: () => Promise.reject(new Error("offline")) });
  const engine = compileAuthorization(authorization === undefined ? [] : resources("AuthorizationPolicy", authorization), workload, { rootNamespace: "istio-system", trustDomain: "cluster.local" });
  return new InboundSecurity({ authn, authz: { engine, providers: new Map() } });
}

function head(path: string, headers: Record<string, string> = {}): RequestHead {
  const lines = Object.entries({ host: "httpbin.foo:8000", ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
  const parsed = parseRequestHead(Buffer.from(`GET ${path} HTTP/1.1\r\n${lines.join("")}\r\n`));
  if (parsed === undefined || isHeadError(parsed)) throw new Error("bad test request");
  return parsed;
}

const plaintext: InboundPeer = { sourceIp: "10.0.0.7", principal: undefined, destinationPort: 8000 };
const sleep: InboundPeer = { sourceIp: "10.0.0.7", principal: "cluster.local/ns/foo/sa/sleep", destinationPort: 8000 };

async function check(s: InboundSecurity, request: RequestHead, peer: InboundPeer): Promise<SecurityVerdict> {
  return s.check(request, peer);
}

const policy = (name: string, body: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: foo }
spec:
  selector: { matchLabels: { app: httpbin } }
${body}`;

describe("InboundSecurity", () => {
  it("is empty, and passes everything at once, without policies", () => {
    const s = security(undefined, false);
    expect(s.isEmpty).toBe(true);
    expect(s.check(head("/"), plaintext)).toMatchObject({ type: "pass", requestPrincipal: undefined });
  });

  it("answers an invalid token with Envoy's 401 and www-authenticate, before authorization", async () => {
    const verdict = await check(security(policy("allow-all", "  rules: [{}]\n")), head("/headers", { authorization: "Bearer deadbeef" }), plaintext);
    expect(verdict).toMatchObject({ type: "deny", by: "authn", grpcStatus: 16, reply: { status: 401, body: "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections" } });
    if (verdict.type === "deny") expect(verdict.reply.headers).toContain('www-authenticate: Bearer realm="http://httpbin.foo:8000/headers", error="invalid_token"');
  });

  it("denies with 403 'RBAC: access denied' under allow-nothing", async () => {
    const verdict = await check(security(policy("allow-nothing", "  {}\n").replace("  selector: { matchLabels: { app: httpbin } }\n  {}\n", "  {}\n")), head("/"), sleep);
    expect(verdict).toMatchObject({ type: "deny", by: "authz", grpcStatus: 7, reply: { status: 403, body: "RBAC: access denied" } });
  });

  it("lets a verified token's principal and claims through to authorization, and drops the token", async () => {
    const requireGroup1 = policy("require-group1", `  action: ALLOW\n  rules:\n  - from: [{ source: { requestPrincipals: ["${iss}/${iss}"] } }]\n    when: [{ key: 'request.auth.claims[groups]', values: ['group1'] }]\n`);
    const s = security(requireGroup1);
    expect(await check(s, head("/headers", { authorization: `Bearer ${groupsToken}` }), plaintext)).toMatchObject({
      type: "pass",
      requestPrincipal: `${iss}/${iss}`,
      requestHeaders: { remove: expect.arrayContaining(["authorization"]) },
    });
    expect(await check(s, head("/headers", { authorization: `Bearer ${demo}` }), plaintext)).toMatchObject({ type: "deny", reply: { status: 403 } });
    expect(await check(s, head("/headers"), plaintext)).toMatchObject({ type: "deny", reply: { status: 403 } });
  });

  it("matches principals against the connection's mTLS identity; plain text has none", async () => {
    const onlySleep = policy("only-sleep", `  rules:\n  - from: [{ source: { principals: ["cluster.local/ns/foo/sa/sleep"] } }]\n`);
    const s = security(onlySleep, false);
    expect(await check(s, head("/"), sleep)).toMatchObject({ type: "pass" });
    expect(await check(s, head("/"), { ...sleep, principal: "cluster.local/ns/foo/sa/other" })).toMatchObject({ type: "deny" });
    expect(await check(s, head("/"), plaintext)).toMatchObject({ type: "deny", reply: { details: expect.stringContaining("rbac_access_denied") } });
  });

  it("applies DENY before ALLOW, on the normalized path", async () => {
    const both = `${policy("deny-admin", "  action: DENY\n  rules:\n  - to: [{ operation: { paths: ['/admin/*'] } }]\n")}---\n${policy("allow-all", "  rules: [{}]\n")}`;
    const s = security(both, false);
    expect(await check(s, head("/admin/x"), sleep)).toMatchObject({ type: "deny", reply: { status: 403 } });
    expect(await check(s, head("/public/../admin/x"), sleep)).toMatchObject({ type: "deny", reply: { status: 403 } });
    expect(await check(s, head("/public"), sleep)).toMatchObject({ type: "pass" });
  });

  it("tells a gRPC authorizer both ends of the connection with their SPIFFE IDs, and applies its header changes after the JWT step's", async () => {
    const provider: ExtAuthzGrpcProvider = { type: "grpc", name: "opa", service: "opa", port: 9191, timeoutMs: 1_000, failOpen: false, statusOnError: 403, includeRequestBodyInCheck: undefined };
    const asked: ExternalCheckRequest[] = [];
    const answer: ExternalCheckResult = {
      allowed: true,
      upstreamHeaders: [["x-user", "alice"]],
      upstreamHeadersToRemove: ["x-remove-me", "x-jwt-foo"],
      downstreamHeaders: [["set-cookie", "s=1"]],
      downstreamHeadersToSet: [["x-served-by", "opa"]],
    };
    const authorizer: ExternalAuthorizer = {
      check: (request) => {
        asked.push(request);
        return Promise.resolve(answer);
      },
      checkConnection: () => Promise.reject(new Error("not a TCP connection")),
      close: () => undefined,
    };
    const jwtToHeader = jwtPolicy.replace(`    jwks:`, `    outputClaimToHeaders: [{ header: x-jwt-foo, claim: foo }, { header: x-jwt-iss, claim: iss }]\n    jwks:`);
    const authnConfig = compileRequestAuthentication(resources("RequestAuthentication", jwtToHeader), workload, { rootNamespace: "istio-system" });
    const authn = createRequestAuthenticator(authnConfig, { now: () => nowS * 1000, timers: { setTimeout: () => 0, clearTimeout: () => undefined }, fetchJwks: () => Promise.reject(new Error("offline")) });
    const custom = policy("ext-authz", "  action: CUSTOM\n  provider: { name: opa }\n  rules: [{}]\n");
    const engine = compileAuthorization(resources("AuthorizationPolicy", custom), workload, { rootNamespace: "istio-system", trustDomain: "cluster.local", extensionProviders: ["opa"] });
    const s = new InboundSecurity({ authn, authz: { engine, providers: new Map([["opa", provider]]), grpcAuthorizers: new Map([["opa", authorizer]]) } });
    const connection = { socket: { remoteAddress: "10.0.0.7", remotePort: 43210, localAddress: "10.0.0.9", localPort: 15006 }, protocol: "HTTP/2" as const };
    const verdict = await check(s, head("/headers?a=1", { authorization: `Bearer ${demo}`, "x-remove-me": "1" }), { ...sleep, connection, localSpiffeId: "spiffe://cluster.local/ns/foo/sa/httpbin" });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({
      method: "GET",
      path: "/headers?a=1",
      host: "httpbin.foo:8000",
      scheme: "https",
      protocol: "HTTP/2",
      source: { address: "10.0.0.7", port: 43210, principal: "spiffe://cluster.local/ns/foo/sa/sleep" },
      destination: { address: "10.0.0.9", port: 15006, principal: "spiffe://cluster.local/ns/foo/sa/httpbin" },
    });
    // The authorizer's removal takes out a header the JWT step set (Envoy removes after every set).
    expect(verdict).toMatchObject({
      type: "pass",
      requestHeaders: { remove: ["x-jwt-foo", "x-jwt-iss", "authorization", "x-remove-me", "x-jwt-foo"], set: [["x-jwt-iss", iss], ["x-user", "alice"]], add: [] },
      responseHeaders: { remove: [], set: [["x-served-by", "opa"]], add: [["set-cookie", "s=1"]] },
    });
  });

  it("describes a plain-text request to a gRPC authorizer without principals, scheme from x-forwarded-proto", async () => {
    const provider: ExtAuthzGrpcProvider = { type: "grpc", name: "opa", service: "opa", port: 9191, timeoutMs: 1_000, failOpen: false, statusOnError: 403, includeRequestBodyInCheck: undefined };
    const asked: ExternalCheckRequest[] = [];
    const authorizer: ExternalAuthorizer = {
      check: (request) => {
        asked.push(request);
        return Promise.resolve({ allowed: false, status: 401, headers: [], body: Buffer.from("no"), flag: "UAEX", failed: false, reason: "denied by opa with 401" });
      },
      checkConnection: () => Promise.reject(new Error("not a TCP connection")),
      close: () => undefined,
    };
    const custom = policy("ext-authz", "  action: CUSTOM\n  provider: { name: opa }\n  rules: [{}]\n");
    const engine = compileAuthorization(resources("AuthorizationPolicy", custom), workload, { rootNamespace: "istio-system", trustDomain: "cluster.local", extensionProviders: ["opa"] });
    const s = new InboundSecurity({ authn: undefined, authz: { engine, providers: new Map([["opa", provider]]), grpcAuthorizers: new Map([["opa", authorizer]]) } });
    const verdict = await check(s, head("/", { "x-forwarded-proto": "https" }), plaintext);
    expect(asked[0]).toMatchObject({ scheme: "https", source: { address: "10.0.0.7", port: 0, principal: undefined }, destination: undefined, protocol: undefined });
    expect(verdict).toMatchObject({ type: "deny", by: "authz", grpcStatus: 16, reply: { status: 401, flag: "UAEX", details: "ext_authz_denied", body: Buffer.from("no") } });
  });

  it("reads the body only when the asked provider wants it, then checks with it (bodyComplete), within maxRequestBytes", async () => {
    const { s, asked, reads, peer } = bodySecurity({ maxRequestBytes: 8, allowPartialMessage: false, packAsBytes: false }, { type: "body", body: Buffer.from("{\"a\":1}"), complete: true });
    expect(await check(s, head("/orders", { "content-length": "7" }), peer)).toMatchObject({ type: "pass" });
    expect(reads).toEqual([{ path: "/orders", stopAtBytes: 9 }]);
    expect(asked[0]).toMatchObject({ path: "/orders", body: Buffer.from('{"a":1}'), bodyComplete: true });
    // A path no CUSTOM rule matches is never read ahead.
    expect(await check(s, head("/public", { "content-length": "7" }), peer)).toMatchObject({ type: "pass" });
    expect(reads).toHaveLength(1);
  });

  it("answers 413 without asking when the body is over maxRequestBytes, unless allowPartialMessage", async () => {
    const over: RequestBodyRead = { type: "body", body: Buffer.from("0123456789"), complete: false };
    const strict = bodySecurity({ maxRequestBytes: 8, allowPartialMessage: false, packAsBytes: false }, over);
    const verdict = await check(strict.s, head("/orders", { "content-length": "100" }), strict.peer);
    expect(verdict).toMatchObject({ type: "deny", by: "authz", grpcStatus: 2, reply: { status: 413, body: "Payload Too Large", details: "request_payload_too_large" } });
    expect(strict.asked).toEqual([]);
    const partial = bodySecurity({ maxRequestBytes: 8, allowPartialMessage: true, packAsBytes: false }, over);
    expect(await check(partial.s, head("/orders", { "content-length": "100" }), partial.peer)).toMatchObject({ type: "pass" });
    expect(partial.reads[0]?.stopAtBytes).toBe(8);
    expect(partial.asked[0]).toMatchObject({ body: over.body, bodyComplete: false });
  });

  it("answers a body that could not be read with 400 and the reader's details", async () => {
    const { s, peer } = bodySecurity({ maxRequestBytes: 8, allowPartialMessage: true, packAsBytes: false }, { type: "failed", details: "http1.codec_error: missing chunk size" });
    expect(await check(s, head("/orders", { "transfer-encoding": "chunked" }), peer)).toMatchObject({ type: "deny", reply: { status: 400, details: "http1.codec_error: missing chunk size" } });
  });

  it("checks without a body when the request has none (the connection reads nothing)", async () => {
    const { s, asked, reads, peer } = bodySecurity({ maxRequestBytes: 8, allowPartialMessage: false, packAsBytes: false }, undefined);
    expect(await check(s, head("/orders"), peer)).toMatchObject({ type: "pass" });
    expect(reads).toEqual([]);
    expect(asked[0]?.body).toBeUndefined();
  });

  it("authorizes TCP connections: DENY / ALLOW on TCP attributes, CUSTOM asking the gRPC provider about both ends", async () => {
    const provider: ExtAuthzGrpcProvider = { type: "grpc", name: "opa", service: "opa", port: 9191, timeoutMs: 1_000, failOpen: false, statusOnError: 403, includeRequestBodyInCheck: undefined };
    const asked: ConnectionCheckRequest[] = [];
    const authorizer: ExternalAuthorizer = {
      check: () => Promise.reject(new Error("not an HTTP request")),
      checkConnection: (request) => {
        asked.push(request);
        return Promise.resolve({ allowed: true, upstreamHeaders: [], upstreamHeadersToRemove: [], downstreamHeaders: [], downstreamHeadersToSet: [] });
      },
      close: () => undefined,
    };
    const policies = `${policy("ext-authz", "  action: CUSTOM\n  provider: { name: opa }\n  rules: [{ to: [{ operation: { ports: ['5432'] } }] }]\n")}---\n${policy("only-sleep", "  rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/sleep'] } }] }]\n")}`;
    const engine = compileAuthorization(resources("AuthorizationPolicy", policies), workload, { rootNamespace: "istio-system", trustDomain: "cluster.local", extensionProviders: ["opa"], tcpExtensionProviders: ["opa"] });
    const s = new InboundSecurity({ authn: undefined, authz: { engine, providers: new Map([["opa", provider]]), grpcAuthorizers: new Map([["opa", authorizer]]) } });
    const peer: InboundConnectionPeer = {
      socket: { remoteAddress: "10.0.0.7", remotePort: 43210, localAddress: "10.0.0.9", localPort: 5432 },
      principal: "cluster.local/ns/foo/sa/sleep",
      peerSpiffeId: "spiffe://cluster.local/ns/foo/sa/sleep",
      localSpiffeId: "spiffe://cluster.local/ns/foo/sa/db",
      destinationPort: 5432,
      sni: "outbound_.5432_._.db.foo.svc.cluster.local",
    };
    expect(await s.checkConnection(peer)).toMatchObject({ type: "allow" });
    expect(asked).toEqual([
      {
        source: { address: "10.0.0.7", port: 43210, principal: "spiffe://cluster.local/ns/foo/sa/sleep" },
        destination: { address: "10.0.0.9", port: 5432, principal: "spiffe://cluster.local/ns/foo/sa/db" },
        requestedServerName: "outbound_.5432_._.db.foo.svc.cluster.local",
      },
    ]);
    const plain = { ...peer, principal: undefined, peerSpiffeId: undefined, localSpiffeId: undefined, sni: undefined, destinationPort: 3306 };
    expect(s.checkConnection(plain)).toMatchObject({ type: "deny", flag: undefined, details: "rbac_access_denied_matched_policy[none]" });
    expect(asked).toHaveLength(1);
  });

  it("lets every TCP connection through at once without policies", () => {
    const s = security(undefined, false);
    expect(s.checkConnection({ socket: { remoteAddress: "10.0.0.7", remotePort: 43210 }, principal: undefined, peerSpiffeId: undefined, localSpiffeId: undefined, destinationPort: 5432, sni: undefined })).toMatchObject({ type: "allow" });
  });
});

/**
 * A security with a CUSTOM policy on /orders whose gRPC provider asks for the body (`settings`),
 * an authorizer that allows and records what it was asked, and a peer whose connection's body
 * reader gives `read` (undefined: the request has no body) and records each read.
 */
function bodySecurity(settings: ExtAuthzRequestBody, read: RequestBodyRead | undefined) {
  const provider: ExtAuthzGrpcProvider = { type: "grpc", name: "opa", service: "opa", port: 9191, timeoutMs: 1_000, failOpen: false, statusOnError: 403, includeRequestBodyInCheck: settings };
  const asked: ExternalCheckRequest[] = [];
  const reads: { path: string; stopAtBytes: number }[] = [];
  const authorizer: ExternalAuthorizer = {
    check: (request) => {
      asked.push(request);
      return Promise.resolve({ allowed: true, upstreamHeaders: [], upstreamHeadersToRemove: [], downstreamHeaders: [], downstreamHeadersToSet: [] });
    },
    checkConnection: () => Promise.reject(new Error("not a TCP connection")),
    close: () => undefined,
  };
  const custom = policy("ext-authz", "  action: CUSTOM\n  provider: { name: opa }\n  rules: [{ to: [{ operation: { paths: ['/orders'] } }] }]\n");
  const engine = compileAuthorization(resources("AuthorizationPolicy", custom), workload, { rootNamespace: "istio-system", trustDomain: "cluster.local", extensionProviders: ["opa"] });
  const s = new InboundSecurity({ authn: undefined, authz: { engine, providers: new Map([["opa", provider]]), grpcAuthorizers: new Map([["opa", authorizer]]) } });
  // A plain-text peer whose connection reads bodies ahead (giving `read`), recording each read.
  const connection: ArrivalConnection = {
    socket: { remoteAddress: "10.0.0.7", remotePort: 43210, localAddress: "10.0.0.9", localPort: 15006 },
    protocol: "HTTP/1.1",
    readRequestBody: (h, stopAtBytes) => {
      if (read === undefined || (h.contentLength <= 0 && !h.chunked)) return undefined;
      reads.push({ path: h.path, stopAtBytes });
      return Promise.resolve(read);
    },
  };
  const peer: InboundPeer = { ...plaintext, connection };
  return { s, asked, reads, peer };
}
