// Fetched key sets with a scripted issuer and a fake clock: the first request waits for the first
// fetch, refreshes follow the cache period, an unknown kid triggers one rate-limited refetch, and
// failures keep the last good keys.
import { loadResources, type MeshResource } from "@meshwork/config";
import { compileRequestAuthentication } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { RemoteJwks, type FetchJwks } from "./jwks-source.ts";
import { createRequestAuthenticator, type AuthnResult, type RequestAuthenticator } from "./request-authenticator.ts";
import { generateTestKey, jwksOf, signJwt } from "./testing/sign-jwt.ts";

/** Timers that run only when the test advances time. */
class ManualClock {
  nowMs = 1_800_000_000_000;
  private timers: { at: number; run: () => void; id: number }[] = [];
  private nextId = 1;
  readonly timersApi = {
    setTimeout: (run: () => void, ms: number): unknown => {
      const id = this.nextId++;
      this.timers.push({ at: this.nowMs + ms, run, id });
      return id;
    },
    clearTimeout: (id: unknown): void => {
      this.timers = this.timers.filter((t) => t.id !== id);
    },
  };
  pending(): number {
    return this.timers.length;
  }
  /** Moves time forward, running due timers and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const until = this.nowMs + ms;
    for (;;) {
      await settle();
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.nowMs = due.at;
      due.run();
    }
    this.nowMs = until;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** An issuer whose published set and availability the test changes; counts fetches. */
function scriptedIssuer(initial: string) {
  const state = { jwks: initial, up: true, fetches: 0 };
  const fetchJwks: FetchJwks = () => {
    state.fetches++;
    return state.up ? Promise.resolve(state.jwks) : Promise.reject(new Error("connection refused"));
  };
  return { state, fetchJwks };
}

const keyA = generateTestKey("ES256", "a");
const keyB = generateTestKey("ES256", "b");
const uri = "https://issuer.example/jwks.json";

function setup(fetchJwks: FetchJwks, clock: ManualClock): RequestAuthenticator {
  const text = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: foo}
spec:
  jwtRules:
  - issuer: issuer
    jwksUri: ${uri}
`;
  const config = compileRequestAuthentication(loadResources([{ path: "p", text }]).resources as MeshResource<"RequestAuthentication">[], { namespace: "foo", labels: {} }, { rootNamespace: "istio-system" });
  return createRequestAuthenticator(config, { now: () => clock.nowMs, timers: clock.timersApi, fetchJwks });
}

const withToken = (token: string) => ({ header: (n: string) => (n === "authorization" ? `Bearer ${token}` : undefined), path: "/" });
const tokenOf = (key = keyA) => signJwt(key, { iss: "issuer", sub: "u" });

describe("RemoteJwks through the authenticator", () => {
  it("makes the first request wait for the first fetch, then answers synchronously", async () => {
    const clock = new ManualClock();
    const issuer = scriptedIssuer(jwksOf(keyA));
    const auth = setup(issuer.fetchJwks, clock);
    const first = auth.authenticate(withToken(tokenOf()));
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toMatchObject({ type: "authenticated" });
    const second = auth.authenticate(withToken(tokenOf()));
    expect(second).not.toBeInstanceOf(Promise);
    expect(second).toMatchObject({ type: "authenticated" });
    expect(issuer.state.fetches).toBe(1);
  });

  it("refreshes every 5 minutes and keeps the last good keys while the issuer is down", async () => {
    const clock = new ManualClock();
    const issuer = scriptedIssuer(jwksOf(keyA));
    const auth = setup(issuer.fetchJwks, clock);
    await auth.ready();
    await clock.advance(5 * 60_000);
    expect(issuer.state.fetches).toBe(2);
    issuer.state.up = false;
    await clock.advance(5 * 60_000 + 10_000);
    expect(issuer.state.fetches).toBeGreaterThan(3);
    expect(auth.authenticate(withToken(tokenOf()))).toMatchObject({ type: "authenticated" });
  });

  it("retries a failed fetch with backoff, not every millisecond", async () => {
    const clock = new ManualClock();
    const issuer = scriptedIssuer(jwksOf(keyA));
    issuer.state.up = false;
    const auth = setup(issuer.fetchJwks, clock);
    await auth.ready();
    await clock.advance(60_000);
    // 1 s, 2, 4, 8, 16, 30, … : about 7 fetches in the first minute.
    expect(issuer.state.fetches).toBeGreaterThanOrEqual(5);
    expect(issuer.state.fetches).toBeLessThanOrEqual(9);
    auth.close();
    expect(clock.pending()).toBe(0);
  });

  it("fetches again when a token names a new kid, and accepts it on first use", async () => {
    const clock = new ManualClock();
    const issuer = scriptedIssuer(jwksOf(keyA));
    const auth = setup(issuer.fetchJwks, clock);
    await auth.ready();
    issuer.state.jwks = jwksOf(keyA, keyB);
    const result = auth.authenticate(withToken(tokenOf(keyB)));
    expect(result).toBeInstanceOf(Promise);
    expect(await result).toMatchObject({ type: "authenticated" });
    expect(issuer.state.fetches).toBe(2);
  });

  it("refetches for unknown kids at most once per 10 s", async () => {
    const clock = new ManualClock();
    const issuer = scriptedIssuer(jwksOf(keyA));
    const auth = setup(issuer.fetchJwks, clock);
    await auth.ready();
    const stranger = generateTestKey("ES256", "made-up");
    const results: AuthnResult[] = [];
    for (let i = 0; i < 5; i++) results.push(await auth.authenticate(withToken(tokenOf(stranger))));
    expect(results.every((r) => r.type === "rejected" && r.body === "Jwks doesn't have key to match kid or alg from Jwt")).toBe(true);
    expect(issuer.state.fetches).toBe(2);
    await clock.advance(10_000);
    await auth.authenticate(withToken(tokenOf(stranger)));
    expect(issuer.state.fetches).toBe(3);
  });

  it("does not trust an earlier verification once the issuer stopped publishing the key", async () => {
    const clock = new ManualClock();
    const issuer = scriptedIssuer(jwksOf(keyA));
    const auth = setup(issuer.fetchJwks, clock);
    const token = tokenOf(keyA);
    expect(await auth.authenticate(withToken(token))).toMatchObject({ type: "authenticated" });
    issuer.state.jwks = jwksOf(keyB);
    await clock.advance(5 * 60_000);
    expect(await auth.authenticate(withToken(token))).toMatchObject({ type: "rejected", body: "Jwks doesn't have key to match kid or alg from Jwt" });
  });

  it("checks the expiry of a remembered token on every request", async () => {
    const clock = new ManualClock();
    const issuer = scriptedIssuer(jwksOf(keyA));
    const auth = setup(issuer.fetchJwks, clock);
    const token = signJwt(keyA, { iss: "issuer", sub: "u", exp: Math.floor(clock.nowMs / 1000) + 30 });
    expect(await auth.authenticate(withToken(token))).toMatchObject({ type: "authenticated" });
    await clock.advance(91_000);
    expect(auth.authenticate(withToken(token))).toMatchObject({ type: "rejected", body: "Jwt is expired" });
  });

  it("answers Envoy's fetch failure when no key set was ever fetched", async () => {
    const clock = new ManualClock();
    const issuer = scriptedIssuer(jwksOf(keyA));
    issuer.state.up = false;
    const auth = setup(issuer.fetchJwks, clock);
    expect(await auth.authenticate(withToken(tokenOf()))).toMatchObject({ type: "rejected", status: 401, body: "Jwks remote fetch is failed" });
  });

  it("a new authenticator built after a config push takes over the fetched set", async () => {
    const clock = new ManualClock();
    const issuer = scriptedIssuer(jwksOf(keyA));
    const first = setup(issuer.fetchJwks, clock);
    await first.ready();
    const text = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: foo}
spec:
  jwtRules:
  - issuer: issuer
    jwksUri: ${uri}
    outputClaimToHeaders: [{header: x-sub, claim: sub}]
`;
    const config = compileRequestAuthentication(loadResources([{ path: "p", text }]).resources as MeshResource<"RequestAuthentication">[], { namespace: "foo", labels: {} }, { rootNamespace: "istio-system" });
    const second = createRequestAuthenticator(config, { now: () => clock.nowMs, timers: clock.timersApi, fetchJwks: issuer.fetchJwks, previous: first });
    first.close();
    expect(second.authenticate(withToken(tokenOf()))).toMatchObject({ type: "authenticated", headerEdits: { set: [["x-sub", "u"]] } });
    expect(issuer.state.fetches).toBe(1);
    await clock.advance(5 * 60_000);
    expect(issuer.state.fetches).toBe(2);
    // The counters carry over too: one allowed request each side of the push, two good fetches.
    expect(second.stats).toMatchObject({ allowed: 1, denied: 0, jwksFetchSuccess: 2, jwksFetchFailed: 0 });
  });
});

describe("RemoteJwks", () => {
  it("treats an unusable key set like a failed fetch", async () => {
    const clock = new ManualClock();
    const source = new RemoteJwks({ uri, timeoutMs: 100, fetchJwks: () => Promise.resolve("<html>"), now: () => clock.nowMs, timers: clock.timersApi });
    await source.ready();
    expect(source.keys()).toBe("JwksParseError");
    source.close();
  });

  it("finds the key set by OpenID discovery when the rule has no jwksUri", async () => {
    const clock = new ManualClock();
    const asked: string[] = [];
    const fetchJwks: FetchJwks = (u) => {
      asked.push(u);
      if (u === "https://accounts.example.com/.well-known/openid-configuration") return Promise.resolve(JSON.stringify({ issuer: "https://accounts.example.com", jwks_uri: "https://keys.example.com/v1" }));
      if (u === "https://keys.example.com/v1") return Promise.resolve(jwksOf(keyA));
      return Promise.reject(new Error(`unexpected ${u}`));
    };
    const text = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: foo}
spec:
  jwtRules:
  - issuer: https://accounts.example.com
`;
    const config = compileRequestAuthentication(loadResources([{ path: "p", text }]).resources as MeshResource<"RequestAuthentication">[], { namespace: "foo", labels: {} }, { rootNamespace: "istio-system" });
    const auth = createRequestAuthenticator(config, { now: () => clock.nowMs, timers: clock.timersApi, fetchJwks });
    const result = await auth.authenticate(withToken(signJwt(keyA, { iss: "https://accounts.example.com", sub: "u" })));
    expect(result).toMatchObject({ type: "authenticated", principal: "https://accounts.example.com/u" });
    expect(asked).toEqual(["https://accounts.example.com/.well-known/openid-configuration", "https://keys.example.com/v1"]);
    auth.close();
  });

  it("reports a discovery document without jwks_uri as a failed fetch", async () => {
    const clock = new ManualClock();
    const events: string[] = [];
    const source = new RemoteJwks({ uri, discovery: true, timeoutMs: 100, fetchJwks: () => Promise.resolve("{}"), now: () => clock.nowMs, timers: clock.timersApi, onFetch: (e) => events.push(e.error ?? "") });
    await source.ready();
    expect(source.keys()).toBe("JwksFetchFail");
    expect(events).toEqual([`the OpenID configuration at ${uri} has no http(s) jwks_uri`]);
    source.close();
  });
});
