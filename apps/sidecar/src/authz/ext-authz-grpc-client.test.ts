// ExtAuthzGrpcClient against a real gRPC authorizer (tests/support/ext-authz-grpc-server.ts:
// @grpc/grpc-js on port 0 with its own text of Envoy's protos): allow with header changes, deny
// relaying status, headers and body, and failures (deadline, RPC error, unreachable, abort,
// closed) failing closed with statusOnError or open; one channel carries every check.
import { createServer, type Server } from "node:net";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleAnswer, startExtAuthzTestServer, type ExtAuthzTestServer, type Message } from "../../tests/support/ext-authz-grpc-server.ts";
import type { ConnectionCheckRequest, ExternalCheckRequest } from "./check-external.ts";
import { ExtAuthzGrpcClient } from "./ext-authz-grpc-client.ts";
import type { ExtAuthzGrpcProvider } from "./mesh-authz-config.ts";

let server: ExtAuthzTestServer;
const clients: ExtAuthzGrpcClient[] = [];

beforeAll(async () => {
  server = await startExtAuthzTestServer((request: Message) => {
    if (request["attributes"]?.["request"]?.["http"]?.["headers"]?.["x-ext-authz"] === "broken") return { type: "fail", code: status.INTERNAL, details: "policy engine crashed" };
    return sampleAnswer(request);
  });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await server.close();
});

function provider(overrides: Partial<ExtAuthzGrpcProvider> = {}): ExtAuthzGrpcProvider {
  return { type: "grpc", name: "sample-ext-authz-grpc", service: "ext-authz.foo.svc.cluster.local", port: 9000, timeoutMs: 2_000, failOpen: false, statusOnError: 403, includeRequestBodyInCheck: undefined, ...overrides };
}

/** A client of `provider` connecting to the test server (or `port`) instead of resolving the service. */
function clientOf(p: ExtAuthzGrpcProvider, port = server.port): ExtAuthzGrpcClient {
  const client = new ExtAuthzGrpcClient(p, { address: { host: "127.0.0.1", port }, now: () => Date.UTC(2026, 0, 1), random: () => 0.5 });
  clients.push(client);
  return client;
}

const request = (value: string): ExternalCheckRequest => ({
  method: "GET",
  path: "/headers?x=1",
  host: "httpbin.foo:8000",
  headers: { "x-ext-authz": value, "x-tenant": "t1", "x-remove-me": "secret" },
  source: { address: "127.0.0.1", port: 51000 },
  destination: { address: "127.0.0.1", port: 15006 },
  protocol: "HTTP/1.1",
});

describe("ExtAuthzGrpcClient", () => {
  it("calls Check with Istio's :authority and the request's attributes, and applies the allow's header changes", async () => {
    const before = server.checks.length;
    const result = await clientOf(provider()).check(request("allow"));
    const seen = server.checks[before];
    expect(seen?.authority).toBe("ext-authz.foo.svc.cluster.local");
    const http = seen?.request["attributes"].request.http;
    expect(http).toMatchObject({ id: String((1n << 63n) | (1n << 31n)), method: "GET", path: "/headers?x=1", host: "httpbin.foo:8000", protocol: "HTTP/1.1" });
    expect(http.headers).toMatchObject({ ":authority": "httpbin.foo:8000", ":path": "/headers?x=1", "x-ext-authz": "allow" });
    expect(seen?.request["attributes"].source.address.socket_address).toMatchObject({ address: "127.0.0.1", port_value: 51000 });
    expect(result).toEqual({
      allowed: true,
      upstreamHeaders: [
        ["x-ext-authz-check-result", "allowed"],
        ["x-tenant", "t1,checked"],
      ],
      upstreamHeadersToRemove: ["x-remove-me"],
      downstreamHeaders: [["x-ext-authz-response", "allowed"]],
      downstreamHeadersToSet: [["x-served-by", "ext-authz"]],
    });
  });

  it("relays a denial's HTTP status, headers and body", async () => {
    const denied = await clientOf(provider()).check(request("deny"));
    expect(denied).toMatchObject({ allowed: false, status: 403, failed: false, flag: "UAEX", headers: [["x-ext-authz-check-result", "denied"]] });
    expect(denied.allowed ? "" : denied.body.toString()).toBe("denied by ext_authz for not found header `x-ext-authz: allow` in the request");
    const unauthenticated = await clientOf(provider()).check(request("unauthenticated"));
    expect(unauthenticated).toMatchObject({ allowed: false, status: 401, headers: [["www-authenticate", 'Bearer realm="mesh"'], ["content-type", "application/json"]] });
  });

  it("keeps one channel for all checks of a provider", async () => {
    const client = clientOf(provider());
    const before = server.checks.length;
    await Promise.all([client.check(request("allow")), client.check(request("deny")), client.check(request("allow"))]);
    await client.check(request("allow"));
    const peers = new Set(server.checks.slice(before).map((c) => c.peer));
    expect(server.checks.length - before).toBe(4);
    expect(peers.size).toBe(1);
  });

  it("fails closed with statusOnError when the authorizer does not answer within the timeout, and open when failOpen", async () => {
    const closed = await clientOf(provider({ timeoutMs: 200 })).check(request("hang"));
    expect(closed).toMatchObject({ allowed: false, status: 403, failed: true, flag: "UAEX" });
    expect(closed.allowed ? "" : closed.reason).toContain("did not answer within 200 ms");
    const open = await clientOf(provider({ timeoutMs: 200, failOpen: true })).check(request("hang"));
    expect(open).toMatchObject({ allowed: true, upstreamHeaders: [], failedOpen: "sample-ext-authz-grpc did not answer within 200 ms" });
  });

  it("treats a failed RPC as a failure, not a denial: statusOnError", async () => {
    const result = await clientOf(provider({ statusOnError: 503 })).check(request("broken"));
    expect(result).toMatchObject({ allowed: false, status: 503, failed: true, body: Buffer.alloc(0) });
    expect(result.allowed ? "" : result.reason).toBe("sample-ext-authz-grpc failed: INTERNAL policy engine crashed");
  });

  it("fails closed when the authorizer is unreachable, and open when failOpen", async () => {
    const deadPort = await unusedPort();
    const closed = await clientOf(provider(), deadPort).check(request("allow"));
    expect(closed).toMatchObject({ allowed: false, status: 403, failed: true });
    expect(closed.allowed ? "" : closed.reason).toContain("unreachable");
    expect(await clientOf(provider({ failOpen: true }), deadPort).check(request("allow"))).toMatchObject({ allowed: true, upstreamHeaders: [] });
  });

  it("fails closed when the caller aborts", async () => {
    const client = clientOf(provider());
    const controller = new AbortController();
    const pending = client.check(request("hang"), { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect(await pending).toMatchObject({ allowed: false, status: 403, failed: true, reason: "the check was aborted" });
  });

  it("ends the checks in flight when closed (not at their deadline), and fails later ones at once", async () => {
    const client = clientOf(provider({ timeoutMs: 10_000 }));
    const started = Date.now();
    const pending = client.check(request("hang"));
    setTimeout(() => client.close(), 50);
    expect(await pending).toMatchObject({ allowed: false, status: 403, failed: true, reason: "sample-ext-authz-grpc: the client was closed" });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await client.check(request("allow"))).toMatchObject({ allowed: false, failed: true, reason: "sample-ext-authz-grpc: the client was closed" });
    expect(await client.checkConnection(connection("sleep"))).toMatchObject({ allowed: false, failed: true, reason: "sample-ext-authz-grpc: the client was closed" });
  });

  it("asks about a TCP connection with its two ends only (no request attributes), allowed or denied by the peer's identity", async () => {
    const client = clientOf(provider());
    const before = server.checks.length;
    expect(await client.checkConnection(connection("sleep"))).toMatchObject({ allowed: true });
    const seen = server.checks[before]?.request["attributes"];
    expect(seen.request).toBeUndefined();
    expect(seen.source).toMatchObject({ principal: "spiffe://cluster.local/ns/foo/sa/sleep", address: { socket_address: { address: "10.0.0.5", port_value: 40512 } } });
    expect(seen.destination).toMatchObject({ principal: "spiffe://cluster.local/ns/foo/sa/db", service: "outbound_.5432_._.db.foo.svc.cluster.local", address: { socket_address: { port_value: 5432 } } });
    expect(await client.checkConnection(connection("other"))).toMatchObject({ allowed: false, failed: false, flag: "UAEX" });
  });

  it("fails a connection's check closed when aborted or unreachable, and open when failOpen", async () => {
    expect(await clientOf(provider()).checkConnection(connection("sleep"), { signal: AbortSignal.abort() })).toMatchObject({ allowed: false, failed: true, reason: "the check was aborted" });
    const dead = await unusedPort();
    expect(await clientOf(provider(), dead).checkConnection(connection("sleep"))).toMatchObject({ allowed: false, failed: true });
    expect(await clientOf(provider({ failOpen: true }), dead).checkConnection(connection("other"))).toMatchObject({ allowed: true });
  });
});

/** A port nothing listens on (bound, then closed). */
async function unusedPort(): Promise<number> {
  const dead = await new Promise<Server>((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
  const port = (dead.address() as { port: number }).port;
  await new Promise<void>((resolve) => dead.close(() => resolve()));
  return port;
}

/** A mutual-TLS TCP connection from service account `sa` to the db's port 5432. */
function connection(sa: string): ConnectionCheckRequest {
  return {
    source: { address: "10.0.0.5", port: 40512, principal: `spiffe://cluster.local/ns/foo/sa/${sa}` },
    destination: { address: "10.0.0.9", port: 5432, principal: "spiffe://cluster.local/ns/foo/sa/db" },
    requestedServerName: "outbound_.5432_._.db.foo.svc.cluster.local",
  };
}
