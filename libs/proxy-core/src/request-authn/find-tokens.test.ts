import { loadResources, type MeshResource } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { compileRequestAuthentication, type RequestAuthnConfig } from "./compile-request-authentication.ts";
import { cookieValue, findTokens, queryParam, type AuthnRequest } from "./find-tokens.ts";

function config(rules: string): RequestAuthnConfig {
  const text = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: p, namespace: foo}
spec:
  jwtRules:
${rules.replace(/^/gm, "  ")}
`;
  const loaded = loadResources([{ path: "p.yaml", text }]);
  expect(loaded.issues.filter((i) => i.severity === "error")).toEqual([]);
  return compileRequestAuthentication(loaded.resources as MeshResource<"RequestAuthentication">[], { namespace: "foo", labels: {} }, { rootNamespace: "istio-system" });
}

function request(headers: Record<string, string>, path = "/"): AuthnRequest {
  return { header: (name) => headers[name], path };
}

const defaults = config(`- issuer: a
  jwksUri: https://a/jwks`);
const custom = config(`- issuer: a
  jwksUri: https://a/jwks
  fromHeaders:
  - name: X-Jwt
  - name: Authorization
    prefix: "Istio "
  fromParams: [tok]
  fromCookies: [session]`);

describe("findTokens", () => {
  it("finds nothing in a request without a token, allocating no list", () => {
    expect(findTokens(defaults, request({ host: "a" }, "/x?y=1"))).toBeUndefined();
  });

  it("reads Authorization: Bearer and access_token by default", () => {
    expect(findTokens(defaults, request({ authorization: "Bearer a.b.c" }))).toEqual([{ token: "a.b.c", location: 0 }]);
    expect(findTokens(defaults, request({}, "/p?x=1&access_token=d.e.f"))).toEqual([{ token: "d.e.f", location: 1 }]);
  });

  it("ignores an Authorization header without the Bearer prefix (Envoy matches the prefix case-sensitively)", () => {
    expect(findTokens(defaults, request({ authorization: "Basic dXNlcg==" }))).toBeUndefined();
    expect(findTokens(defaults, request({ authorization: "bearer a.b.c" }))).toBeUndefined();
  });

  it("skips to the first token character after the prefix", () => {
    expect(findTokens(defaults, request({ authorization: "Bearer   a.b.c" }))).toEqual([{ token: "a.b.c", location: 0 }]);
  });

  it("reads custom headers (whole value without prefix), params and cookies", () => {
    const found = findTokens(custom, request({ "x-jwt": "h.h.h", authorization: "Istio i.i.i", cookie: 'a=1; session="c.c.c"; b=2' }, "/?tok=p.p.p"));
    expect(found?.map((t) => [t.token, custom.locations[t.location]?.type])).toEqual([
      ["h.h.h", "header"],
      ["i.i.i", "header"],
      ["p.p.p", "param"],
      ["c.c.c", "cookie"],
    ]);
  });

  it("does not read the default locations when the rule names its own", () => {
    expect(findTokens(custom, request({ authorization: "Bearer a.b.c" }, "/?access_token=x.y.z"))).toBeUndefined();
  });
});

describe("queryParam", () => {
  it("returns the first value, percent-decoded, and stops at the fragment", () => {
    expect(queryParam("/a?b=1&tok=x%2Ey&tok=2", "tok")).toBe("x.y");
    expect(queryParam("/a?tok", "tok")).toBe("");
    expect(queryParam("/a?b=1#tok=2", "tok")).toBeUndefined();
    expect(queryParam("/a?xtok=1", "tok")).toBeUndefined();
    expect(queryParam("/a?%74ok=1", "tok")).toBe("1");
    expect(queryParam("/a?tok=%E0%A4%A", "tok")).toBe("%E0%A4%A");
  });
});

describe("cookieValue", () => {
  it("matches whole cookie names only", () => {
    expect(cookieValue("xsession=1; session=2", "session")).toBe("2");
    expect(cookieValue("session", "session")).toBeUndefined();
    expect(cookieValue("session=", "session")).toBeUndefined();
  });
});
