// The JWT layer's behaviour per Istio and Envoy: every algorithm, the claim checks in Envoy's
// order, Envoy's reply texts, the multi-rule requirement, and what is forwarded upstream. Keys are
// generated in the test; the clock is fixed.
import { loadResources, type MeshResource } from "@meshwork/config";
import { compileRequestAuthentication, type AuthnRequest } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import type { FetchJwks } from "./jwks-source.ts";
import type { JwtAlgorithm } from "./parse-jwt.ts";
import { claimHeaderValue, createRequestAuthenticator, type AuthnResult, type RequestAuthenticator } from "./request-authenticator.ts";
import { generateTestKey, jwksOf, signJwt, type TestKey } from "./testing/sign-jwt.ts";

const nowMs = 1_800_000_000_000;
const nowS = nowMs / 1000;
const noTimers = { setTimeout: () => 0, clearTimeout: () => undefined };
const noFetch: FetchJwks = () => Promise.reject(new Error("no network in this test"));

/** An authenticator for one policy in namespace foo whose jwtRules are `rules` (YAML list items). */
function authenticator(rules: string, fetchJwks: FetchJwks = noFetch): RequestAuthenticator {
  const text = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: foo}
spec:
  jwtRules:
${rules.replace(/^/gm, "  ")}
`;
  const loaded = loadResources([{ path: "p.yaml", text }]);
  expect(loaded.issues.filter((i) => i.severity === "error")).toEqual([]);
  const config = compileRequestAuthentication(loaded.resources as MeshResource<"RequestAuthentication">[], { namespace: "foo", labels: { app: "httpbin" } }, { rootNamespace: "istio-system" });
  return createRequestAuthenticator(config, { now: () => nowMs, timers: noTimers, fetchJwks });
}

function request(headers: Record<string, string>, path = "/headers", method = "GET"): AuthnRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { header: (name) => lower[name], path, method };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}`, host: "httpbin.foo:8000" });

/** Authenticates synchronously (inline keys never need a fetch). */
function run(auth: RequestAuthenticator, req: AuthnRequest): AuthnResult {
  const result = auth.authenticate(req);
  if (result instanceof Promise) throw new Error("expected a synchronous result");
  return result;
}

const issuer = "testing@secure.istio.io";
const claims = (extra: Record<string, unknown> = {}) => ({ iss: issuer, sub: issuer, exp: nowS + 3600, iat: nowS, ...extra });
const rule = (key: TestKey | TestKey[], extra = "") => `- issuer: "${issuer}"
  jwks: '${jwksOf(...(Array.isArray(key) ? key : [key]))}'${extra ? `\n  ${extra.trim().replace(/\n/g, "\n  ")}` : ""}`;

const algorithms: JwtAlgorithm[] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256"];
const keys = new Map(algorithms.map((alg) => [alg, generateTestKey(alg, `kid-${alg}`)]));
const key = (alg: JwtAlgorithm) => keys.get(alg) as TestKey;

describe("signature algorithms", () => {
  it.each(algorithms)("%s: a token signed with the published key is authenticated", (alg) => {
    const auth = authenticator(rule(key(alg)));
    const result = run(auth, request(bearer(signJwt(key(alg), claims()))));
    expect(result).toMatchObject({ type: "authenticated", principal: `${issuer}/${issuer}` });
  });

  it.each(algorithms)("%s: a token with a tampered payload fails verification", (alg) => {
    const auth = authenticator(rule(key(alg)));
    const [h, , s] = signJwt(key(alg), claims()).split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify(claims({ sub: "admin" }))).toString("base64url")}.${s}`;
    expect(run(auth, request(bearer(forged)))).toMatchObject({ type: "rejected", status: 401, body: "Jwt verification fails" });
  });

  it("a token signed by another key with the same kid fails verification", () => {
    const other = generateTestKey("ES256", "kid-ES256");
    const auth = authenticator(rule(key("ES256")));
    expect(run(auth, request(bearer(signJwt(other, claims()))))).toMatchObject({ type: "rejected", body: "Jwt verification fails" });
  });

  it("refuses alg none, whatever the signature", () => {
    const auth = authenticator(rule(key("RS256")));
    const token = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims())).toString("base64url")}.AA`;
    expect(run(auth, request(bearer(token)))).toMatchObject({ type: "rejected", body: "Jwt header [alg] is not supported" });
  });

  it("does not verify an ES256 token with an RSA key, nor an HS256 token keyed with the RSA public key", () => {
    const rsaNoAlg = generateTestKey("RS256", "shared", { jwkAlg: false });
    const auth = authenticator(rule(rsaNoAlg));
    const es = generateTestKey("ES256", "shared");
    expect(run(auth, request(bearer(signJwt(es, claims()))))).toMatchObject({ type: "rejected", body: "Jwt verification fails" });
    // The classic confusion: the attacker HMACs with the public key's bytes as the secret.
    const confused: TestKey = { alg: "HS256", kid: "shared", signingKey: Buffer.from(JSON.stringify(rsaNoAlg.jwk)), jwk: {} };
    expect(run(auth, request(bearer(signJwt(confused, claims()))))).toMatchObject({ type: "rejected", body: "Jwt verification fails" });
  });

  it("says which kid is missing from the key set", () => {
    const auth = authenticator(rule(key("RS256")));
    const stranger = generateTestKey("RS256", "unknown-kid");
    expect(run(auth, request(bearer(signJwt(stranger, claims()))))).toMatchObject({ body: "Jwks doesn't have key to match kid or alg from Jwt" });
  });

  it("tries every key when the token has no kid", () => {
    const a = generateTestKey("ES256", "a");
    const b = generateTestKey("ES256", "b");
    const auth = authenticator(rule([a, b]));
    expect(run(auth, request(bearer(signJwt(b, claims(), { kid: undefined }))))).toMatchObject({ type: "authenticated" });
  });
});

describe("claims, in Envoy's order", () => {
  const auth = authenticator(rule(key("ES256"), "audiences: [httpbin.foo, https://api.example.com/]"));
  const send = (payload: Record<string, unknown>) => run(auth, request(bearer(signJwt(key("ES256"), payload))));

  it("refuses an expired token with Envoy's text and www-authenticate", () => {
    expect(send(claims({ exp: nowS - 61, aud: "httpbin.foo" }))).toEqual({
      type: "rejected",
      status: 401,
      body: "Jwt is expired",
      reason: "JwtExpired",
      details: "jwt_authn_access_denied{Jwt_is_expired}",
      wwwAuthenticate: 'Bearer realm="http://httpbin.foo:8000/headers", error="invalid_token"',
    });
  });

  it("allows 60 s of clock skew on exp and nbf", () => {
    expect(send(claims({ exp: nowS - 60, aud: "httpbin.foo" })).type).toBe("authenticated");
    expect(send(claims({ nbf: nowS + 60, aud: "httpbin.foo" })).type).toBe("authenticated");
    expect(send(claims({ nbf: nowS + 61, aud: "httpbin.foo" }))).toMatchObject({ body: "Jwt not yet valid" });
  });

  it("accepts a token without exp (Envoy checks exp only when present)", () => {
    expect(send({ iss: issuer, sub: "x", aud: "httpbin.foo" }).type).toBe("authenticated");
  });

  it("refuses another issuer before looking at the time", () => {
    expect(send(claims({ iss: "someone-else", exp: 1 }))).toMatchObject({ status: 401, body: "Jwt issuer is not configured" });
  });

  it("answers 403 when only the audience is wrong, and compares audiences without scheme and trailing slash", () => {
    expect(send(claims({ aud: ["other"] }))).toMatchObject({ status: 403, body: "Audiences in Jwt are not allowed" });
    expect(send(claims({})).type).toBe("rejected");
    expect(send(claims({ aud: ["other", "http://httpbin.foo/"] })).type).toBe("authenticated");
    expect(send(claims({ aud: "api.example.com" })).type).toBe("authenticated");
  });

  it("accepts any audience when the rule lists none (Istio)", () => {
    const open = authenticator(rule(key("ES256")));
    expect(run(open, request(bearer(signJwt(key("ES256"), claims({ aud: "anything" }))))).type).toBe("authenticated");
  });

  it("refuses claims of the wrong type", () => {
    expect(send(claims({ exp: "tomorrow" }))).toMatchObject({ body: "Jwt payload [exp] field is not an integer" });
    expect(send(claims({ iss: 7 }))).toMatchObject({ body: "Jwt payload [iss] field is not a string" });
    expect(send(claims({ aud: [1] }))).toMatchObject({ body: "Jwt payload [aud] field is not a string or string list" });
    expect(send(claims({ nbf: -5 }))).toMatchObject({ body: "Jwt payload [nbf] field is not a positive 64 bit integer" });
  });

  it("refuses a token that is not a JWS", () => {
    expect(run(auth, request(bearer("deadbeef")))).toMatchObject({ status: 401, body: "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections" });
  });
});

describe("requests without a token", () => {
  it("pass anonymously, with the output headers a client might forge removed", () => {
    const auth = authenticator(rule(key("ES256"), "outputPayloadToHeader: x-jwt-payload\noutputClaimToHeaders:\n- {header: x-sub, claim: sub}"));
    const result = run(auth, request({ "x-jwt-payload": "forged", "x-sub": "admin" }));
    expect(result).toEqual({ type: "anonymous", headerEdits: { set: [], remove: ["x-jwt-payload", "x-sub"] } });
    // The same frozen object every time: the no-token path allocates nothing per request.
    expect(run(auth, request({}))).toBe(result);
  });

  it("pass when the Authorization header is not a Bearer one", () => {
    const auth = authenticator(rule(key("ES256")));
    expect(run(auth, request({ authorization: "Basic dXNlcjpwYXNz" })).type).toBe("anonymous");
  });

  it("skip CORS preflights even with a bad token (Istio sets bypass_cors_preflight)", () => {
    const auth = authenticator(rule(key("ES256")));
    const preflight = request({ ...bearer("deadbeef"), origin: "https://a.example", "access-control-request-method": "POST" }, "/", "OPTIONS");
    expect(run(auth, preflight).type).toBe("anonymous");
  });

  it("the layer is empty when no rule applies", () => {
    const config = compileRequestAuthentication([], { namespace: "foo", labels: {} }, { rootNamespace: "istio-system" });
    const auth = createRequestAuthenticator(config, { now: () => nowMs, timers: noTimers, fetchJwks: noFetch });
    expect(auth.isEmpty).toBe(true);
    expect(run(auth, request(bearer("deadbeef"))).type).toBe("anonymous");
  });
});

describe("several rules", () => {
  const a = generateTestKey("ES256", "a");
  const b = generateTestKey("ES256", "b");
  const rules = `- issuer: issuer-a
  jwks: '${jwksOf(a)}'
- issuer: issuer-b
  jwks: '${jwksOf(b)}'
  fromHeaders: [{name: x-b-token}]`;
  const auth = authenticator(`${rules}\n- issuer: issuer-c\n  jwks: '${jwksOf(b)}'`);

  it("match a token to the rule of its issuer, whichever comes first", () => {
    const c = generateTestKey("ES256", "b");
    Object.assign(c, { signingKey: b.signingKey });
    const result = run(auth, request(bearer(signJwt(c, { iss: "issuer-c", sub: "u" }))));
    expect(result).toMatchObject({ type: "authenticated", principal: "issuer-c/u" });
  });

  it("refuse a token of an issuer no rule names", () => {
    expect(run(auth, request(bearer(signJwt(a, { iss: "issuer-z", sub: "u" }))))).toMatchObject({ status: 401, body: "Jwt issuer is not configured" });
  });

  it("pass when one rule's tokens all verify even if another rule's header holds a bad one (Istio's outer OR)", () => {
    const req = request({ ...bearer(signJwt(a, { iss: "issuer-a", sub: "u" })), "x-b-token": "garbage" });
    expect(run(auth, req)).toMatchObject({ type: "authenticated", principal: "issuer-a/u" });
  });

  it("refuse when the only token present is invalid for its rule", () => {
    expect(run(auth, request({ "x-b-token": signJwt(a, { iss: "issuer-b", sub: "u" }) }))).toMatchObject({ body: "Jwks doesn't have key to match kid or alg from Jwt" });
  });
});

describe("what is forwarded", () => {
  const k = key("RS256");
  const token = signJwt(k, claims({ scope: "read write", n: 42, f: 1.5, neg: -3, ok: true, obj: { a: 1 }, nested: { team: "blue" }, azp: "web", aud: ["a", "b"] }));

  it("removes the token header by default, and reports claims, audiences and presenter", () => {
    const result = run(authenticator(rule(k)), request(bearer(token)));
    expect(result).toMatchObject({
      type: "authenticated",
      audiences: ["a", "b"],
      presenter: "web",
      headerEdits: { set: [], remove: ["authorization"] },
    });
    expect(result.type === "authenticated" && result.claims["scope"]).toEqual(["read", "write"]);
  });

  it("keeps it with forwardOriginalToken", () => {
    const result = run(authenticator(rule(k, "forwardOriginalToken: true")), request(bearer(token)));
    expect(result).toMatchObject({ headerEdits: { set: [], remove: [] } });
  });

  it("removes a token passed as a query parameter from the path", () => {
    const result = run(authenticator(rule(k)), request({}, `/get?a=1&access_token=${token}&b=2`));
    expect(result).toMatchObject({ type: "authenticated", headerEdits: { path: "/get?a=1&b=2" } });
  });

  it("writes the payload and scalar claims to headers", () => {
    const result = run(
      authenticator(
        rule(
          k,
          `outputPayloadToHeader: x-jwt-payload
outputClaimToHeaders:
- {header: x-sub, claim: sub}
- {header: x-n, claim: n}
- {header: x-f, claim: f}
- {header: x-ok, claim: ok}
- {header: x-obj, claim: obj}
- {header: x-team, claim: nested.team}
- {header: x-none, claim: missing}`,
        ),
      ),
      request(bearer(token)),
    );
    expect(result.type === "authenticated" && result.headerEdits.set).toEqual([
      ["x-jwt-payload", token.split(".")[1]],
      ["x-sub", issuer],
      ["x-n", "42"],
      ["x-f", "1.500000"],
      ["x-ok", "true"],
      ["x-team", "blue"],
    ]);
    expect(result.type === "authenticated" && result.headerEdits.remove).toEqual(["x-jwt-payload", "x-sub", "x-n", "x-f", "x-ok", "x-obj", "x-team", "x-none", "authorization"]);
  });

  it("formats numbers as Envoy does", () => {
    expect([claimHeaderValue(-3), claimHeaderValue(2 ** 53), claimHeaderValue(0.1), claimHeaderValue(null)]).toEqual(["-3.000000", "9007199254740992", "0.100000", ""]);
  });

  it("never reads claims from Object.prototype", () => {
    const result = run(authenticator(rule(k, "outputClaimToHeaders:\n- {header: x-c, claim: constructor}")), request(bearer(token)));
    expect(result.type === "authenticated" && result.headerEdits.set).toEqual([]);
  });
});
