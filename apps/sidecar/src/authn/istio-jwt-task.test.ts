// The cases of Istio's JWT tasks, as data: "Authentication Policy › End-user authentication"
// (istio.io/latest/docs/tasks/security/authentication/authn-policy/) and "JWT Token"
// authorization (istio.io/latest/docs/tasks/security/authorization/authz-jwt/). The issuer, subject
// and claims are those of Istio's sample tokens (security/tools/jwt/samples: demo.jwt,
// groups-scope.jwt); the key is generated here. Authorization is modelled only as far as the
// tasks use it (requestPrincipals, request.auth.claims[groups]); the real evaluator is authz's.
import { loadResources, type MeshResource } from "@meshwork/config";
import { compileRequestAuthentication } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { createRequestAuthenticator, type AuthnResult } from "./request-authenticator.ts";
import { generateTestKey, jwksOf, signJwt } from "./testing/sign-jwt.ts";

const nowS = 1_800_000_000;
const iss = "testing@secure.istio.io";
const key = generateTestKey("RS256", "DHFbpoIUqrY8t2zpA2qXfCmr5VO5ZEr4RzHU_-envvQ", { jwkAlg: false });

type TokenKind = "none" | "deadbeef" | "demo" | "expired" | "groups-scope" | "other-issuer";
const tokens: Record<Exclude<TokenKind, "none">, string> = {
  deadbeef: "deadbeef",
  demo: signJwt(key, { exp: 4685989700, foo: "bar", iat: 1532389700, iss, sub: iss }),
  // gen-jwt.py --expire 5, read after the five seconds passed.
  expired: signJwt(key, { exp: nowS - 120, iat: nowS - 125, iss, sub: iss }),
  "groups-scope": signJwt(key, { exp: 3537391104, groups: ["group1", "group2"], iat: 1537391104, iss, scope: ["scope1", "scope2"], sub: iss }),
  "other-issuer": signJwt(key, { exp: 4685989700, iss: "someone@else.io", sub: "x" }),
};

/** What the task's AuthorizationPolicy asks of the request, if any. */
type Authz = { requestPrincipals: string[]; groups?: string }[] | undefined;
const anyPrincipal: Authz = [{ requestPrincipals: ["*"] }];
const demoPrincipal: Authz = [{ requestPrincipals: [`${iss}/${iss}`] }];
const group1: Authz = [{ requestPrincipals: [`${iss}/${iss}`], groups: "group1" }];

interface Case {
  readonly task: string;
  readonly authz: Authz;
  readonly token: TokenKind;
  readonly status: 200 | 401 | 403;
  readonly body?: string;
}

const cases: readonly Case[] = [
  { task: "authn-policy: no token is allowed", authz: undefined, token: "none", status: 200 },
  { task: "authn-policy: an invalid token is refused", authz: undefined, token: "deadbeef", status: 401, body: "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections" },
  { task: "authn-policy: a valid token is allowed", authz: undefined, token: "demo", status: 200 },
  { task: "authn-policy: an expired token is refused", authz: undefined, token: "expired", status: 401, body: "Jwt is expired" },
  { task: "authn-policy: a token of another issuer is refused", authz: undefined, token: "other-issuer", status: 401, body: "Jwt issuer is not configured" },
  { task: "authn-policy + requestPrincipals [*]: no token is denied by authz", authz: anyPrincipal, token: "none", status: 403 },
  { task: "authn-policy + requestPrincipals [*]: a valid token is allowed", authz: anyPrincipal, token: "demo", status: 200 },
  { task: "authz-jwt: an invalid token is refused by authn", authz: demoPrincipal, token: "deadbeef", status: 401 },
  { task: "authz-jwt: no token is denied by authz", authz: demoPrincipal, token: "none", status: 403 },
  { task: "authz-jwt: the demo token is allowed", authz: demoPrincipal, token: "demo", status: 200 },
  { task: "authz-jwt: claims[groups] group1, demo token has no groups", authz: group1, token: "demo", status: 403 },
  { task: "authz-jwt: claims[groups] group1, groups-scope token", authz: group1, token: "groups-scope", status: 200 },
];

const policy = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: jwt-example
  namespace: foo
spec:
  selector:
    matchLabels:
      app: httpbin
  jwtRules:
  - issuer: "${iss}"
    jwks: '${jwksOf(key)}'
`;

function decide(result: AuthnResult, authz: Authz): { status: number; body: string } {
  if (result.type === "rejected") return { status: result.status, body: result.body };
  if (authz === undefined) return { status: 200, body: "" };
  const allowed = authz.some((rule) => {
    if (result.type !== "authenticated") return false;
    const principalOk = rule.requestPrincipals.some((p) => p === "*" || p === result.principal);
    const groups = result.claims["groups"];
    const groupsOk = rule.groups === undefined || (Array.isArray(groups) && groups.includes(rule.groups));
    return principalOk && groupsOk;
  });
  return allowed ? { status: 200, body: "" } : { status: 403, body: "RBAC: access denied" };
}

describe("Istio JWT tasks", () => {
  const config = compileRequestAuthentication(
    loadResources([{ path: "jwt-example.yaml", text: policy }]).resources as MeshResource<"RequestAuthentication">[],
    { namespace: "foo", labels: { app: "httpbin", version: "v1" } },
    { rootNamespace: "istio-system" },
  );
  const auth = createRequestAuthenticator(config, { now: () => nowS * 1000, timers: { setTimeout: () => 0, clearTimeout: () => undefined }, fetchJwks: () => Promise.reject(new Error("offline")) });

  it.each(cases)("$task → $status", async ({ token, authz, status, body }) => {
    const headers: Record<string, string> = { host: "httpbin.foo:8000" };
    if (token !== "none") headers["authorization"] = `Bearer ${tokens[token]}`;
    const result = await auth.authenticate({ header: (n) => headers[n], path: "/headers" });
    const outcome = decide(result, authz);
    expect(outcome.status).toBe(status);
    if (body !== undefined) expect(outcome.body).toBe(body);
    if (status === 401) expect(result).toMatchObject({ wwwAuthenticate: 'Bearer realm="http://httpbin.foo:8000/headers", error="invalid_token"' });
  });

  it("the token principal is iss/sub, as requestPrincipals match it", async () => {
    const result = await auth.authenticate({ header: (n) => (n === "authorization" ? `Bearer ${tokens.demo}` : undefined), path: "/" });
    expect(result).toMatchObject({ type: "authenticated", principal: "testing@secure.istio.io/testing@secure.istio.io", claims: { foo: "bar" } });
  });

  it("the policy does not apply to a workload its selector does not match", () => {
    const other = compileRequestAuthentication(loadResources([{ path: "p", text: policy }]).resources as MeshResource<"RequestAuthentication">[], { namespace: "foo", labels: { app: "sleep" } }, { rootNamespace: "istio-system" });
    expect(other.isEmpty).toBe(true);
  });
});
