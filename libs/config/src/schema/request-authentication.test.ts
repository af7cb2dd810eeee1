import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { RequestAuthenticationSpec } from "./request-authentication.ts";

const check = (spec: unknown) => checkValue(RequestAuthenticationSpec, spec, ["spec"]);
const problems = (spec: unknown) => check(spec).problems.map((p) => [p.name, formatPath(p.path), p.hint]);

describe("RequestAuthenticationSpec", () => {
  it("decodes the JWT example from Istio's docs", () => {
    const spec = {
      selector: { matchLabels: { app: "httpbin" } },
      jwtRules: [{ issuer: "issuer-foo", jwksUri: "https://example.com/.well-known/jwks.json" }],
    };
    const { problems, decoded } = check(spec);
    expect(problems).toEqual([]);
    expect(decoded).toEqual(spec);
  });

  it("decodes every JWTRule field, the timeout to milliseconds", () => {
    const rule = {
      issuer: "https://example.com",
      audiences: ["bookstore_android.apps.example.com", "bookstore_web.apps.example.com"],
      jwks: '{"keys": []}',
      fromHeaders: [{ name: "x-jwt-assertion", prefix: "Bearer " }],
      fromParams: ["my_token"],
      fromCookies: ["session"],
      outputPayloadToHeader: "x-jwt-payload",
      forwardOriginalToken: true,
      outputClaimToHeaders: [{ header: "x-jwt-sub", claim: "sub" }],
      spaceDelimitedClaims: ["scope"],
      timeout: "1.5s",
    };
    const { problems, decoded } = check({ targetRefs: [{ kind: "Gateway", group: "gateway.networking.k8s.io", name: "ingress" }], jwtRules: [rule] });
    expect(problems).toEqual([]);
    expect(decoded).toMatchObject({ jwtRules: [{ ...rule, timeout: 1500 }] });
  });

  it("accepts the legacy jwks_uri spelling", () => {
    expect(check({ jwtRules: [{ issuer: "a", jwks_uri: "https://a/jwks" }] }).problems).toEqual([]);
  });

  it("suggests jwksUri for a miscapitalised jwksURI", () => {
    expect(problems({ jwtRules: [{ issuer: "a", jwksURI: "https://a/jwks" }] })).toEqual([["UnknownField", "spec.jwtRules[0].jwksURI", 'did you mean "jwksUri"?']]);
  });

  it("requires a header name in fromHeaders", () => {
    expect(problems({ jwtRules: [{ issuer: "a", fromHeaders: [{ prefix: "Bearer " }] }] })).toEqual([
      ["MissingField", "spec.jwtRules[0].fromHeaders[0].name", undefined],
    ]);
  });

  it("requires a header and a claim in outputClaimToHeaders", () => {
    expect(problems({ jwtRules: [{ issuer: "a", outputClaimToHeaders: [{ header: "x-sub" }] }] })).toEqual([
      ["MissingField", "spec.jwtRules[0].outputClaimToHeaders[0].claim", undefined],
    ]);
  });

  it("rejects a timeout without a unit", () => {
    expect(check({ jwtRules: [{ issuer: "a", timeout: "5" }] }).problems).toMatchObject([
      { name: "InvalidDuration", path: ["spec", "jwtRules", 0, "timeout"] },
    ]);
  });

  it("rejects fromHeaders written as a list of names", () => {
    expect(problems({ jwtRules: [{ issuer: "a", fromHeaders: ["x-jwt-assertion"] }] })).toEqual([
      ["WrongType", "spec.jwtRules[0].fromHeaders[0]", undefined],
    ]);
  });

  it("rejects a targetRef without a name", () => {
    expect(problems({ targetRef: { kind: "Gateway", group: "gateway.networking.k8s.io" } })).toEqual([["MissingField", "spec.targetRef.name", undefined]]);
  });

  it("allows at most 16 targetRefs", () => {
    const targetRefs = Array.from({ length: 17 }, (_, i) => ({ kind: "Service", name: `s${i}` }));
    expect(problems({ targetRefs })).toEqual([["InvalidValue", "spec.targetRefs", undefined]]);
  });
});
