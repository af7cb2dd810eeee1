// A gateway request's attributes, then Istio's ingress authorization tasks decided on them with
// the real engine (proxy-core) and InboundSecurity: ingress access control by ipBlocks and by
// remoteIpBlocks behind trusted proxies, hosts at the gateway, principals only on mutual TLS.
import { loadResources, type MeshResource } from "@meshwork/config";
import { compileAuthorization } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { isHeadError, parseRequestHead, type RequestHead } from "../http1/parse-request-head.ts";
import type { DownstreamSecurity } from "../tls/inbound-tls.ts";
import { gatewayRequestPeer, type GatewayRequestArrival } from "./gateway-request-peer.ts";
import { InboundSecurity } from "./inbound-security.ts";

function head(headers: Record<string, string>): RequestHead {
  const lines = Object.entries({ host: "httpbin.example.com", ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
  const parsed = parseRequestHead(Buffer.from(`GET /headers HTTP/1.1\r\n${lines.join("")}\r\n`));
  if (parsed === undefined || isHeadError(parsed)) throw new Error("bad test request");
  return parsed;
}

const sleepCert: DownstreamSecurity = { peerSpiffeId: "spiffe://cluster.local/ns/foo/sa/sleep", peerPrincipal: "cluster.local/ns/foo/sa/sleep", tlsVersion: "TLSv1.3", alpn: "h2" };
const plain: GatewayRequestArrival = { sourceIp: "10.0.0.9", security: undefined, serverName: undefined, connection: undefined, port: 8080, numTrustedProxies: 0, localSpiffeId: "spiffe://cluster.local/ns/istio-system/sa/gw" };

describe("gatewayRequestPeer", () => {
  const cases: readonly (readonly [string, Record<string, string>, Partial<GatewayRequestArrival>, Record<string, unknown>])[] = [
    ["plain text, Istio's default numTrustedProxies 0: remote.ip is the TCP peer", { "x-forwarded-for": "203.0.113.7" }, {}, { sourceIp: "10.0.0.9", remoteIp: "10.0.0.9", principal: undefined, destinationPort: 8080, sni: undefined, localSpiffeId: undefined, scheme: "http" }],
    ["one trusted proxy: remote.ip from X-Forwarded-For, source.ip still the peer", { "x-forwarded-for": "203.0.113.7" }, { numTrustedProxies: 1 }, { sourceIp: "10.0.0.9", remoteIp: "203.0.113.7" }],
    ["two trusted proxies", { "x-forwarded-for": "198.51.100.1, 203.0.113.7, 10.1.1.1" }, { numTrustedProxies: 2 }, { remoteIp: "203.0.113.7" }],
    ["SIMPLE TLS: the SNI, no principal, scheme https", {}, { serverName: "httpbin.example.com" }, { sni: "httpbin.example.com", principal: undefined, scheme: "https" }],
    ["TLS without SNI: no connection.sni", {}, { serverName: "" }, { sni: undefined, scheme: "https" }],
    ["a client's x-forwarded-proto does not count without trusted proxies", { "x-forwarded-proto": "https" }, {}, { scheme: "http" }],
    ["a trusted proxy's x-forwarded-proto counts (the authenticator reads it)", { "x-forwarded-proto": "https" }, { numTrustedProxies: 1 }, { scheme: undefined }],
    ["a verified client certificate (MUTUAL / ISTIO_MUTUAL): its principal and our SPIFFE ID", {}, { serverName: "httpbin.example.com", security: sleepCert }, { principal: "cluster.local/ns/foo/sa/sleep", localSpiffeId: "spiffe://cluster.local/ns/istio-system/sa/gw" }],
  ];
  it.each(cases)("%s", (_name, headers, arrival, expected) => {
    expect(gatewayRequestPeer(head(headers), { ...plain, ...arrival })).toMatchObject(expected);
  });
});

function policies(yaml: string): MeshResource<"AuthorizationPolicy">[] {
  const loaded = loadResources([{ path: "policies.yaml", text: yaml }]);
  expect(loaded.issues.filter((i) => i.severity === "error")).toEqual([]);
  return loaded.resources.filter((r) => r.kind === "AuthorizationPolicy") as MeshResource<"AuthorizationPolicy">[];
}

const gateway = { namespace: "istio-system", labels: { istio: "ingressgateway", app: "istio-ingressgateway" } };

function guard(yaml: string): InboundSecurity {
  const engine = compileAuthorization(policies(yaml), gateway, { rootNamespace: "istio-system", trustDomain: "cluster.local" });
  return new InboundSecurity({ authn: undefined, authz: { engine, providers: new Map() } });
}

const policy = (name: string, action: string, rules: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: ${action}
  rules:
${rules}`;

// https://istio.io/latest/docs/tasks/security/authorization/authz-ingress/
const ipAllowList = policy("ingress-policy", "ALLOW", "  - from: [{ source: { ipBlocks: [\"1.2.3.4\", \"5.6.7.0/24\"] } }]\n");
const remoteAllowList = policy("ingress-policy", "ALLOW", "  - from: [{ source: { remoteIpBlocks: [\"203.0.113.0/24\"] } }]\n");
const denyHost = policy("deny-admin-host", "DENY", "  - to: [{ operation: { hosts: [\"admin.example.com\"] } }]\n");
const onlySleep = policy("only-sleep", "ALLOW", "  - from: [{ source: { principals: [\"cluster.local/ns/foo/sa/sleep\"] } }]\n");

describe("Istio's ingress tasks on gateway request attributes", () => {
  const cases: readonly (readonly [string, string, Record<string, string>, Partial<GatewayRequestArrival>, number | "pass"])[] = [
    ["ipBlocks match the TCP peer", ipAllowList, {}, { sourceIp: "5.6.7.8" }, "pass"],
    ["ipBlocks ignore X-Forwarded-For, even behind a trusted proxy", ipAllowList, { "x-forwarded-for": "1.2.3.4" }, { sourceIp: "10.0.0.9", numTrustedProxies: 1 }, 403],
    ["remoteIpBlocks with numTrustedProxies 1: the client X-Forwarded-For names", remoteAllowList, { "x-forwarded-for": "203.0.113.7" }, { sourceIp: "10.0.0.9", numTrustedProxies: 1 }, "pass"],
    ["remoteIpBlocks: a client outside the block behind the proxy", remoteAllowList, { "x-forwarded-for": "198.51.100.7" }, { sourceIp: "10.0.0.9", numTrustedProxies: 1 }, 403],
    ["remoteIpBlocks with numTrustedProxies 0: a forged X-Forwarded-For does not count", remoteAllowList, { "x-forwarded-for": "203.0.113.7" }, { sourceIp: "10.0.0.9" }, 403],
    ["remoteIpBlocks with numTrustedProxies 0: the peer itself", remoteAllowList, {}, { sourceIp: "203.0.113.50" }, "pass"],
    ["DENY on hosts: the denied host", denyHost, { host: "admin.example.com" }, {}, 403],
    ["DENY on hosts: hosts match case-insensitively", denyHost, { host: "ADMIN.example.com" }, {}, 403],
    ["DENY on hosts: another host", denyHost, { host: "httpbin.example.com" }, {}, "pass"],
    ["principals: a verified client certificate", onlySleep, {}, { security: sleepCert, serverName: "httpbin.example.com" }, "pass"],
    ["principals: no client certificate (SIMPLE)", onlySleep, {}, { serverName: "httpbin.example.com" }, 403],
  ];
  it.each(cases)("%s", async (_name, yaml, headers, arrival, expected) => {
    const request = head(headers);
    const verdict = await guard(yaml).check(request, gatewayRequestPeer(request, { ...plain, ...arrival }));
    if (expected === "pass") expect(verdict.type).toBe("pass");
    else expect(verdict).toMatchObject({ type: "deny", by: "authz", reply: { status: expected, body: "RBAC: access denied" } });
  });
});
