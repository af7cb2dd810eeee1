// Real sockets: a local issuer serving its key set over HTTP on port 0, fetched by the real
// adapter. Key rotation without a failed request, the issuer going down (last good keys keep
// verifying) and a fetch that times out. Waits are on fetch events, never on sleeps.
import { createServer, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { loadResources, type MeshResource } from "@meshwork/config";
import { compileRequestAuthentication } from "@meshwork/proxy-core";
import { afterEach, describe, expect, it } from "vitest";
import { testCertificatePem, testPrivateKeyPem } from "../../tests/support/h2-test-certificate.ts";
import { createJwksFetcher } from "./fetch-jwks.ts";
import { maxJwksBytes } from "./parse-jwks.ts";
import { createRequestAuthenticator, type RequestAuthenticator, type RequestAuthenticatorDeps } from "./request-authenticator.ts";
import { generateTestKey, jwksOf, signJwt } from "./testing/sign-jwt.ts";

type Handler = (res: ServerResponse) => void;

/** An HTTP issuer whose answer the test swaps; tracks sockets so it can go down at once. */
async function startIssuer(handler: Handler): Promise<{ url: string; setHandler(h: Handler): void; requests(): number; stop(): Promise<void> }> {
  let current = handler;
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => {
    count++;
    current(res);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    setHandler: (h) => (current = h),
    requests: () => count,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const serve = (body: string): Handler => (res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(body);
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const keyA = generateTestKey("RS256", "rotation-a");
const keyB = generateTestKey("RS256", "rotation-b");
const token = (key = keyA) => signJwt(key, { iss: "https://issuer.local", sub: "alice", exp: Math.floor(Date.now() / 1000) + 3600 });
const withToken = (t: string) => ({ header: (n: string) => (n === "authorization" ? `Bearer ${t}` : undefined), path: "/" });

type FetchEvent = Parameters<NonNullable<RequestAuthenticatorDeps["onJwksFetch"]>>[0];

function build(url: string, extra: Partial<RequestAuthenticatorDeps> = {}, timeout = "2s"): { auth: RequestAuthenticator; events: FetchEvent[]; next(pred: (e: FetchEvent) => boolean): Promise<FetchEvent> } {
  const text = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: foo}
spec:
  jwtRules:
  - issuer: https://issuer.local
    jwksUri: ${url}
    timeout: ${timeout}
`;
  const config = compileRequestAuthentication(loadResources([{ path: "p", text }]).resources as MeshResource<"RequestAuthentication">[], { namespace: "foo", labels: {} }, { rootNamespace: "istio-system" });
  const events: FetchEvent[] = [];
  const waiters: { pred: (e: FetchEvent) => boolean; resolve: (e: FetchEvent) => void }[] = [];
  const auth = createRequestAuthenticator(config, {
    now: () => Date.now(),
    timers: { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    fetchJwks: createJwksFetcher(),
    onJwksFetch: (e) => {
      events.push(e);
      for (const w of waiters.splice(0)) {
        if (w.pred(e)) w.resolve(e);
        else waiters.push(w);
      }
    },
    ...extra,
  });
  cleanups.push(() => auth.close());
  return {
    auth,
    events,
    next: (pred) => new Promise((resolve) => waiters.push({ pred, resolve })),
  };
}

describe("remote key sets over real sockets", () => {
  it("accepts tokens of a rotated-in key on first use, with no failed request during the rotation", async () => {
    const issuer = await startIssuer(serve(jwksOf(keyA)));
    cleanups.push(() => issuer.stop());
    const { auth } = build(issuer.url);
    const results: string[] = [];
    for (let i = 0; i < 10; i++) results.push((await auth.authenticate(withToken(token(keyA)))).type);
    issuer.setHandler(serve(jwksOf(keyA, keyB)));
    for (let i = 0; i < 10; i++) {
      results.push((await auth.authenticate(withToken(token(keyB)))).type);
      results.push((await auth.authenticate(withToken(token(keyA)))).type);
    }
    expect(results.filter((r) => r !== "authenticated")).toEqual([]);
    expect(results).toHaveLength(30);
    // One fetch at start, one when kid rotation-b first appeared.
    expect(issuer.requests()).toBe(2);
  });

  it("keeps verifying with the last good keys when the issuer goes down", async () => {
    const issuer = await startIssuer(serve(jwksOf(keyA)));
    const { auth, next } = build(issuer.url, { cacheDurationMs: 20, retryMs: 20 });
    await auth.ready();
    expect(auth.authenticate(withToken(token()))).toMatchObject({ type: "authenticated" });
    const failure = next((e) => !e.ok);
    await issuer.stop();
    expect((await failure).error).toMatch(/ECONNREFUSED|socket hang up|ECONNRESET/);
    expect(auth.authenticate(withToken(token()))).toMatchObject({ type: "authenticated" });
    // A token signed by a key never published still fails: the old keys are kept, not "anything goes".
    const stranger = generateTestKey("RS256", "never-published");
    expect(await auth.authenticate(withToken(token(stranger)))).toMatchObject({ type: "rejected", body: "Jwks doesn't have key to match kid or alg from Jwt" });
  });

  it("gives up a fetch after the rule's timeout and answers 401 when no keys were ever fetched", async () => {
    const hung: ServerResponse[] = [];
    const issuer = await startIssuer((res) => hung.push(res));
    cleanups.push(() => issuer.stop());
    const { auth, events } = build(issuer.url, {}, "150ms");
    const result = await auth.authenticate(withToken(token()));
    expect(result).toMatchObject({ type: "rejected", status: 401, body: "Jwks remote fetch is failed" });
    expect(events[0]).toMatchObject({ ok: false, error: expect.stringContaining("timed out after 150ms") });
  });

  it("keeps the last good keys when a refresh times out", async () => {
    const issuer = await startIssuer(serve(jwksOf(keyA)));
    cleanups.push(() => issuer.stop());
    const { auth, next } = build(issuer.url, { cacheDurationMs: 20 }, "100ms");
    await auth.ready();
    issuer.setHandler(() => undefined);
    const timedOut = await next((e) => !e.ok);
    expect(timedOut.error).toContain("timed out");
    expect(auth.authenticate(withToken(token()))).toMatchObject({ type: "authenticated" });
  });
});

describe("createJwksFetcher", () => {
  it("refuses a non-200 answer and an oversized key set", async () => {
    const issuer = await startIssuer((res) => {
      res.writeHead(503);
      res.end("down");
    });
    cleanups.push(() => issuer.stop());
    const fetchJwks = createJwksFetcher();
    await expect(fetchJwks(issuer.url, 1000)).rejects.toThrow("HTTP 503");
    issuer.setHandler(serve(" ".repeat(maxJwksBytes + 10)));
    await expect(fetchJwks(issuer.url, 1000)).rejects.toThrow("larger than");
    await expect(fetchJwks("ftp://x/jwks", 1000)).rejects.toThrow("only http and https");
    await expect(fetchJwks("not a url", 1000)).rejects.toThrow("is not a URL");
  });

  it("fetches over https with the given CA, and refuses an issuer whose certificate it cannot verify", async () => {
    // node:https is loaded by the first https fetch (not at start): this is that first fetch.
    const server = createHttpsServer({ key: testPrivateKeyPem, cert: testCertificatePem }, (_req, res) => serve('{"keys":[]}')(res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    expect(await createJwksFetcher({ ca: testCertificatePem })(url, 2000)).toBe('{"keys":[]}');
    await expect(createJwksFetcher()(url, 2000)).rejects.toThrow(/self[- ]signed/);
  });
});
