// checkExternal against a real local HTTP authorizer (port 0): allow with headers, deny relaying
// the authorizer's answer, and failures (timeout, 5xx, unreachable) failing closed or open.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkExternal, matchesAny } from "./check-external.ts";
import type { ExtAuthzHttpProvider } from "./mesh-authz-config.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

let server: Server;
let port = 0;
const seen: Seen[] = [];
const pending: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => answer(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

/** The test authorizer: answers by path and `x-user`, once the check's body is in. */
function answer(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
  const user = req.headers["x-user"];
  if (req.url?.endsWith("/slow")) {
    pending.push(res); // never answered until the test ends
    return;
  }
  if (req.url?.endsWith("/broken")) {
    res.writeHead(503).end("upstream broke");
    return;
  }
  if (user === "alice") {
    res.writeHead(200, { "x-auth-user": "alice", "x-auth-role": "admin", "x-other": "no", "set-cookie": "s=1" }).end();
    return;
  }
  res.writeHead(401, { "www-authenticate": "Bearer", "x-reason": "who are you", "content-type": "text/plain" }).end("denied by ext authz");
}

afterAll(async () => {
  for (const res of pending) res.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function provider(overrides: Partial<ExtAuthzHttpProvider> = {}): ExtAuthzHttpProvider {
  return {
    type: "http",
    name: "ext-authz",
    service: "127.0.0.1",
    port,
    pathPrefix: "/check",
    timeoutMs: 2_000,
    includeRequestHeadersInCheck: ["x-user", "x-trace-*"],
    includeAdditionalHeadersInCheck: { "x-ext-authz-from": "sidecar" },
    headersToUpstreamOnAllow: ["x-auth-*"],
    headersToDownstreamOnAllow: ["set-cookie"],
    headersToDownstreamOnDeny: undefined,
    failOpen: false,
    statusOnError: 403,
    includeRequestBodyInCheck: undefined,
    ...overrides,
  };
}

const request = (headers: Record<string, string>, path = "/headers?x=1") => ({ method: "GET", path, host: "httpbin.foo:8000", headers });

describe("checkExternal", () => {
  it("sends a bodiless check with the method, pathPrefix + path, Host and only the selected headers", async () => {
    seen.length = 0;
    await checkExternal(provider(), request({ "x-user": "alice", "x-trace-id": "t1", cookie: "secret=1", authorization: "Bearer x" }));
    const check = seen[0] as Seen;
    expect(check.method).toBe("GET");
    expect(check.url).toBe("/check/headers?x=1");
    expect(check.headers["host"]).toBe("httpbin.foo:8000");
    expect(check.headers["content-length"]).toBe("0");
    expect(check.headers["x-user"]).toBe("alice");
    expect(check.headers["x-trace-id"]).toBe("t1");
    expect(check.headers["x-ext-authz-from"]).toBe("sidecar");
    expect(check.headers["cookie"]).toBeUndefined();
    expect(check.headers["authorization"]).toBeUndefined();
    expect(check.body).toEqual(Buffer.alloc(0));
  });

  it("sends the body the provider asks for as the check's body, Content-Length its size, flagged partial when cut", async () => {
    seen.length = 0;
    const settings = { maxRequestBytes: 5, allowPartialMessage: true, packAsBytes: true };
    const body = Buffer.from([0x68, 0x69, 0xff, 0x00, 0x21]);
    // A client's own partial-body header never reaches the authorizer, even when the patterns name it.
    const forged = { "x-user": "alice", "x-envoy-auth-partial-body": "forged" };
    const p = provider({ includeRequestBodyInCheck: settings, includeRequestHeadersInCheck: ["x-user", "x-envoy-*"] });
    await checkExternal(p, { ...request(forged), method: "POST", body, bodyComplete: true });
    await checkExternal(p, { ...request(forged), method: "POST", body: Buffer.from("0123456789"), bodyComplete: true });
    await checkExternal(p, { ...request(forged), method: "POST" });
    const [whole, cut, none] = seen as [Seen, Seen, Seen];
    // packAsBytes is for gRPC providers: the HTTP check carries the bytes as they are.
    expect(whole.body).toEqual(body);
    expect(whole.headers).toMatchObject({ "content-length": "5", "x-envoy-auth-partial-body": "false", "x-user": "alice" });
    expect(cut.body.toString()).toBe("01234");
    expect(cut.headers).toMatchObject({ "content-length": "5", "x-envoy-auth-partial-body": "true" });
    expect(none.body).toEqual(Buffer.alloc(0));
    expect(none.headers["content-length"]).toBe("0");
    expect(none.headers["x-envoy-auth-partial-body"]).toBeUndefined();
  });

  it("allows on 200 and returns the headers for the upstream and for the client", async () => {
    const result = await checkExternal(provider(), request({ "x-user": "alice" }));
    expect(result).toEqual({
      allowed: true,
      upstreamHeaders: [
        ["x-auth-user", "alice"],
        ["x-auth-role", "admin"],
      ],
      upstreamHeadersToRemove: [],
      downstreamHeaders: [["set-cookie", "s=1"]],
      downstreamHeadersToSet: [],
    });
  });

  it("denies with the authorizer's status, body and headers, as Envoy forwards them", async () => {
    const result = await checkExternal(provider(), request({ "x-user": "mallory" }));
    expect(result.allowed).toBe(false);
    if (result.allowed) return;
    expect(result.status).toBe(401);
    expect(result.body.toString()).toBe("denied by ext authz");
    expect(result.flag).toBe("UAEX");
    expect(result.failed).toBe(false);
    const names = result.headers.map(([n]) => n);
    expect(names).toEqual(expect.arrayContaining(["www-authenticate", "x-reason", "content-type"]));
    expect(names).not.toContain("content-length");
  });

  it("relays only headersToDownstreamOnDeny when set", async () => {
    const result = await checkExternal(provider({ headersToDownstreamOnDeny: ["www-authenticate"] }), request({}));
    expect(result.allowed ? [] : result.headers).toEqual([["www-authenticate", "Bearer"]]);
  });

  it("fails closed with 403 when the authorizer does not answer in time", async () => {
    const result = await checkExternal(provider({ timeoutMs: 150 }), request({}, "/slow"));
    expect(result).toMatchObject({ allowed: false, status: 403, failed: true, flag: "UAEX" });
    expect(result.allowed ? "" : result.reason).toContain("did not answer within 150 ms");
  });

  it("treats a 5xx answer as a failure: statusOnError, or allow when failOpen", async () => {
    expect(await checkExternal(provider({ statusOnError: 503 }), request({}, "/broken"))).toMatchObject({ allowed: false, status: 503, failed: true });
    const open = await checkExternal(provider({ failOpen: true }), request({}, "/broken"));
    expect(open).toMatchObject({ allowed: true, upstreamHeaders: [] });
    expect(open.allowed && open.failedOpen).toContain("answered 503");
  });

  it("fails closed when the authorizer is unreachable, and open when failOpen", async () => {
    const closed = await new Promise<Server>((resolve) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => resolve(s));
    });
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await checkExternal(provider({ port: deadPort }), request({}))).toMatchObject({ allowed: false, status: 403, failed: true });
    expect(await checkExternal(provider({ port: deadPort, failOpen: true }), request({}))).toMatchObject({ allowed: true });
  });

  it("fails closed when aborted by the caller", async () => {
    const controller = new AbortController();
    const pendingCheck = checkExternal(provider(), request({}, "/slow"), { signal: controller.signal });
    controller.abort();
    expect(await pendingCheck).toMatchObject({ allowed: false, status: 403, failed: true });
  });
});

describe("matchesAny", () => {
  it("matches exact, prefix and suffix patterns case-insensitively", () => {
    expect(matchesAny("x-user", ["X-User"])).toBe(true);
    expect(matchesAny("x-auth-role", ["x-auth-*"])).toBe(true);
    expect(matchesAny("request-id", ["*-id"])).toBe(true);
    expect(matchesAny("x-users", ["x-user"])).toBe(false);
    expect(matchesAny("anything", ["*"])).toBe(false);
  });
});
