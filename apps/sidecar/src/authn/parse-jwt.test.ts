// The token parser against malformed input: fixed cases for each Envoy status, and fast-check
// fuzzing (bad base64, wrong segment counts, JSON garbage, huge tokens, alg none, crit headers)
// through the whole authenticator — it never throws and never lets a malformed token through.
import fc from "fast-check";
import { loadResources, type MeshResource } from "@meshwork/config";
import { compileRequestAuthentication } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { maxTokenLength, parseJwt } from "./parse-jwt.ts";
import { createRequestAuthenticator } from "./request-authenticator.ts";
import { generateTestKey, jwksOf, signJwt } from "./testing/sign-jwt.ts";

const b64 = (text: string) => Buffer.from(text).toString("base64url");
const header = b64('{"alg":"ES256","kid":"k"}');
const payload = b64('{"iss":"i","sub":"s"}');

describe("parseJwt", () => {
  it.each([
    ["", "JwtBadFormat"],
    ["a.b", "JwtBadFormat"],
    ["a.b.c.d", "JwtBadFormat"],
    [`.${payload}.AA`, "JwtBadFormat"],
    [`${header}..AA`, "JwtBadFormat"],
    [`${header}.${payload}.`, "JwtBadFormat"],
    [`a*b.${payload}.AA`, "JwtHeaderParseErrorBadBase64"],
    [`${header}=.${payload}.AA`, "JwtHeaderParseErrorBadBase64"],
    [`A.${payload}.AA`, "JwtHeaderParseErrorBadBase64"],
    [`${b64("[1]")}.${payload}.AA`, "JwtHeaderParseErrorBadJson"],
    [`${b64("{")}.${payload}.AA`, "JwtHeaderParseErrorBadJson"],
    [`${b64("{}")}.${payload}.AA`, "JwtHeaderBadAlg"],
    [`${b64('{"alg":5}')}.${payload}.AA`, "JwtHeaderBadAlg"],
    [`${b64('{"alg":"none"}')}.${payload}.AA`, "JwtHeaderNotImplementedAlg"],
    [`${b64('{"alg":"ES256","kid":1}')}.${payload}.AA`, "JwtHeaderBadKid"],
    [`${b64('{"alg":"ES256","crit":["b64"],"b64":false}')}.${payload}.AA`, "JwtHeaderCritNotSupported"],
    [`${header}.%%.AA`, "JwtPayloadParseErrorBadBase64"],
    [`${header}.${b64("null")}.AA`, "JwtPayloadParseErrorBadJson"],
    [`${header}.${b64('{"jti":{}}')}.AA`, "JwtPayloadParseErrorJtiNotString"],
    [`${header}.${b64('{"iat":1e30}')}.AA`, "JwtPayloadParseErrorIatOutOfRange"],
    [`${header}.${payload}.A`, "JwtSignatureParseErrorBadBase64"],
    [`${header}.${payload}.AB`, "JwtSignatureParseErrorBadBase64"],
    [`${header}.${payload}.${"A".repeat(maxTokenLength)}`, "JwtBadFormat"],
  ].map(([token, status]) => ({ token: token as string, status, label: (token as string).length > 80 ? `${(token as string).slice(0, 40)}… (${(token as string).length} chars)` : token })))(
    "$label → $status",
    ({ token, status }) => {
      expect(parseJwt(token)).toBe(status);
    },
  );

  it("reads the registered claims", () => {
    const parsed = parseJwt(`${header}.${b64('{"iss":"i","sub":"s","aud":"x","exp":10.7,"nbf":3}')}.AA`);
    expect(parsed).toMatchObject({ alg: "ES256", kid: "k", iss: "i", sub: "s", audiences: ["x"], exp: 10, nbf: 3, iat: 0 });
  });
});

describe("fuzzing", () => {
  const key = generateTestKey("ES256", "k");
  const good = signJwt(key, { iss: "issuer", sub: "s" });
  const text = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: foo}
spec:
  jwtRules:
  - issuer: issuer
    jwks: '${jwksOf(key)}'
`;
  const config = compileRequestAuthentication(loadResources([{ path: "p", text }]).resources as MeshResource<"RequestAuthentication">[], { namespace: "foo", labels: {} }, { rootNamespace: "istio-system" });
  const auth = createRequestAuthenticator(config, { now: () => 0, timers: { setTimeout: () => 0, clearTimeout: () => undefined }, fetchJwks: () => Promise.reject(new Error("offline")) });
  const check = (token: string): void => {
    expect(() => parseJwt(token)).not.toThrow();
    const result = auth.authenticate({ header: (n) => (n === "authorization" ? `Bearer ${token}` : undefined), path: "/" });
    if (result instanceof Promise) throw new Error("inline keys must answer synchronously");
    // Anything but the genuine token is refused; an empty remainder after "Bearer " is no token at all.
    if (token !== good) expect(result.type === "rejected" || (result.type === "anonymous" && !/[A-Za-z0-9_.-]/.test(token))).toBe(true);
  };

  const segment = fc.oneof(
    fc.string(),
    fc.string().map(b64),
    fc.json().map(b64),
    fc.constantFrom(...good.split(".")),
    fc.constantFrom(b64('{"alg":"none"}'), b64('{"alg":"ES256","kid":"k","crit":["exp"]}'), b64('{"alg":"HS256","kid":"k"}'), b64('{"alg":"ES256","kid":"k"}')),
  );

  it("never throws and never accepts a token assembled from random segments", () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 0, maxLength: 5 }), (parts) => check(parts.join("."))),
      { numRuns: 2000, seed: 7 },
    );
  });

  it("never accepts a genuine token with one character changed", () => {
    fc.assert(
      fc.property(fc.nat({ max: good.length - 1 }), fc.constantFrom(..."AZaz09-_.=+/ %"), (at, c) => {
        fc.pre(good[at] !== c);
        check(good.slice(0, at) + c + good.slice(at + 1));
      }),
      { numRuns: 2000, seed: 11 },
    );
  });

  it("survives huge tokens and arbitrary unicode", () => {
    fc.assert(fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), (s) => check(s)), { numRuns: 1000, seed: 3 });
    check(`${good}${"A".repeat(200_000)}`);
    check(`${b64("{".repeat(100_000))}.${payload}.AA`);
  });

  it("accepts the genuine token (the property above can fail)", () => {
    expect(auth.authenticate({ header: () => `Bearer ${good}`, path: "/" })).toMatchObject({ type: "authenticated" });
  });
});
