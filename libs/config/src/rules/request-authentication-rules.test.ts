import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import jsYaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { RequestAuthenticationSpec } from "../schema/request-authentication.ts";
import { checkRequestAuthentication } from "./request-authentication-rules.ts";

/** Runs the schema (which must pass) and then the rule: [severity, path, message, hint]. */
function issues(spec: unknown): [string, string, string, string | undefined][] {
  const { problems, decoded } = checkValue(RequestAuthenticationSpec, spec, ["spec"]);
  expect(problems).toEqual([]);
  return checkRequestAuthentication(decoded as RequestAuthenticationSpec, { namespace: "foo", name: "jwt" }).map((i) => [
    i.severity ?? "error",
    formatPath(i.path),
    i.message,
    i.hint,
  ]);
}
const paths = (spec: unknown) => issues(spec).map(([severity, path]) => `${severity} ${path}`);
const rule = (fields: Record<string, unknown>) => ({ jwtRules: [{ issuer: "https://example.com", ...fields }] });

// The example key set of Istio's JWT task (security/tools/jwt/samples/jwks.json), shortened modulus.
const jwks = JSON.stringify({ keys: [{ e: "AQAB", kid: "DHFbpoIUqrY8t2zpA2qXfCmr5VO5ZEr4RzHU_-envvQ", kty: "RSA", n: "xAE7eB6qugXyCAG3yhh7pkDkT65pHymX" }] });

describe("checkRequestAuthentication", () => {
  it("accepts the JWT examples from Istio's docs", () => {
    expect(issues({ selector: { matchLabels: { app: "httpbin" } }, jwtRules: [{ issuer: "testing@secure.istio.io", jwksUri: "https://raw.githubusercontent.com/istio/istio/release-1.24/security/tools/jwt/samples/jwks.json" }] })).toEqual([]);
    expect(issues(rule({ jwks, fromHeaders: [{ name: "x-jwt-assertion", prefix: "Bearer " }], outputClaimToHeaders: [{ header: "x-jwt-sub", claim: "sub" }] }))).toEqual([]);
    expect(issues({ targetRef: { kind: "Gateway", group: "gateway.networking.k8s.io", name: "istio-ingressgateway" }, jwtRules: [{ issuer: "a", jwksUri: "http://jwks.example.com:8080/keys" }] })).toEqual([]);
  });

  it("rejects a rule with neither issuer nor jwksUri", () => {
    expect(issues({ jwtRules: [{ audiences: ["a"] }] })).toEqual([
      ["error", "spec.jwtRules[0].issuer", "the JWT rule has no issuer (and no jwksUri), so no token can be verified by it", "set issuer to the iss claim of the accepted tokens, e.g. https://accounts.google.com"],
    ]);
    expect(paths({ jwtRules: [{ issuer: "", jwks }] })).toEqual(["error spec.jwtRules[0].issuer"]);
  });

  it("warns that a rule with a jwksUri but no issuer accepts any issuer", () => {
    expect(paths({ jwtRules: [{ jwksUri: "https://example.com/jwks.json" }] })).toEqual(["warning spec.jwtRules[0].issuer"]);
  });

  it("rejects jwks together with jwksUri, and jwksUri with its old spelling", () => {
    expect(issues(rule({ jwks, jwksUri: "https://example.com/jwks" }))[0]).toEqual([
      "error", "spec.jwtRules[0].jwks", 'fields "jwksUri" and "jwks" cannot be set together',
      "keep jwks to verify with the keys given inline, or jwksUri to fetch them; not both",
    ]);
    expect(issues(rule({ jwksUri: "https://a/k", jwks_uri: "https://a/k" }))[0]?.[3]).toBe("jwks_uri is the old spelling of jwksUri; keep only jwksUri");
  });

  it("accepts only http and https URLs with a host for jwksUri", () => {
    expect(issues(rule({ jwksUri: "example.com/jwks.json" }))).toEqual([
      ["error", "spec.jwtRules[0].jwksUri", '"example.com/jwks.json" is not a URL', "write the full URL, e.g. https://example.com/jwks.json"],
    ]);
    expect(issues(rule({ jwksUri: "file:///etc/jwks.json" }))[0]?.[2]).toBe('URL scheme "file" of "file:///etc/jwks.json" is not supported');
    expect(paths(rule({ jwksUri: "https://exa mple.com/jwks" }))).toEqual(["error spec.jwtRules[0].jwksUri"]);
    expect(issues(rule({ jwksUri: "https://example.com:99999/jwks" }))[0]?.[2]).toBe('port 99999 in "https://example.com:99999/jwks" is out of range');
    expect(issues(rule({ jwks_uri: "ftp://example.com/jwks" }))[0]?.[1]).toBe("spec.jwtRules[0].jwks_uri");
  });

  it("requires jwks to be a JSON Web Key Set", () => {
    const message = (value: string) => issues(rule({ jwks: value }))[0]?.[2];
    expect(message("{keys: []")).toBe("jwks is not valid JSON");
    expect(message("[]")).toBe('jwks is not a JSON Web Key Set (a JSON object with a "keys" list)');
    expect(message('{"keys": []}')).toBe("jwks contains no keys, so no token can be verified");
    expect(message('{"keys": {}}')).toBe('the "keys" of jwks is not a list');
    expect(message('{"keys": [{"kty": "RSA"}, {"n": "x"}]}')).toBe('key 1 of jwks is not a JSON Web Key (an object with "kty")');
    expect(issues(rule({ jwks: '{"kty": "RSA", "e": "AQAB", "n": "x"}' }))[0]?.slice(2)).toEqual([
      'jwks has no "keys" list',
      'this is a single key; wrap it in a set: {"keys": [<the key>]}',
    ]);
  });

  it("rejects empty audiences, query parameters, cookies and claim names", () => {
    expect(paths(rule({ audiences: ["ok", ""], fromParams: [""], fromCookies: [""], spaceDelimitedClaims: [""] }))).toEqual([
      "error spec.jwtRules[0].audiences[1]",
      "error spec.jwtRules[0].fromParams[0]",
      "error spec.jwtRules[0].fromCookies[0]",
      "error spec.jwtRules[0].spaceDelimitedClaims[0]",
    ]);
  });

  it("rejects invalid header names in fromHeaders and outputPayloadToHeader", () => {
    expect(issues(rule({ fromHeaders: [{ name: "" }, { name: "x jwt" }, { name: ":authority" }], outputPayloadToHeader: "x-payload:" })).map(([, p, m]) => [p, m])).toEqual([
      ["spec.jwtRules[0].fromHeaders[0].name", "the header name is empty"],
      ["spec.jwtRules[0].fromHeaders[1].name", '"x jwt" is not a valid HTTP header name'],
      ["spec.jwtRules[0].fromHeaders[2].name", '":authority" is an HTTP/2 pseudo-header, not usable here'],
      ["spec.jwtRules[0].outputPayloadToHeader", '"x-payload:" is not a valid HTTP header name'],
    ]);
  });

  it("rejects claim headers that are pseudo-headers or not letters, digits, - and _", () => {
    expect(issues(rule({ outputClaimToHeaders: [{ header: ":path", claim: "sub" }, { header: "x.jwt", claim: "sub" }, { header: "x-ok", claim: "" }] })).map(([, p, m]) => [p, m])).toEqual([
      ["spec.jwtRules[0].outputClaimToHeaders[0].header", '":path" is an HTTP/2 pseudo-header, which cannot be set from a claim'],
      ["spec.jwtRules[0].outputClaimToHeaders[1].header", '"x.jwt" is not a valid header name here'],
      ["spec.jwtRules[0].outputClaimToHeaders[2].claim", "the claim name is empty"],
    ]);
  });

  it("rejects a zero timeout", () => {
    expect(issues(rule({ jwksUri: "https://a/k", timeout: "0s" }))).toEqual([
      ["error", "spec.jwtRules[0].timeout", "timeout of 0ms is too short to fetch a key set", "use at least 1ms, e.g. 5s, or remove timeout"],
    ]);
  });

  it("warns that a policy without jwtRules changes nothing", () => {
    expect(paths({ selector: { matchLabels: { app: "a" } } })).toEqual(["warning spec.jwtRules"]);
  });

  it("rejects selector together with targetRef or targetRefs", () => {
    const targetRef = { kind: "Gateway", group: "gateway.networking.k8s.io", name: "gw" };
    expect(issues({ ...rule({}), selector: { matchLabels: { app: "a" } }, targetRef })[0]?.slice(0, 3)).toEqual([
      "error", "spec.targetRef", 'fields "selector" and "targetRef" cannot be set together',
    ]);
    expect(paths({ ...rule({}), targetRef, targetRefs: [targetRef] })).toEqual(["error spec.targetRefs"]);
    expect(paths({ ...rule({}), selector: { matchLabels: { app: "a" } }, targetRefs: [] })).toEqual([]);
  });

  it("rejects targets Istio cannot attach a policy to", () => {
    expect(issues({ ...rule({}), targetRef: { kind: "Gateway", name: "gw" } })[0]?.slice(1)).toEqual([
      "spec.targetRef.group", "a policy cannot attach to core/Gateway", "set group: gateway.networking.k8s.io",
    ]);
    expect(issues({ ...rule({}), targetRefs: [{ kind: "Service", group: "core", name: "a" }, { kind: "Deployment", group: "apps", name: "b" }, { kind: "Service", name: "c", namespace: "other" }] }).map(([, p]) => p)).toEqual([
      "spec.targetRefs[1].kind",
      "spec.targetRefs[2].namespace",
    ]);
    expect(issues({ ...rule({}), targetRef: { kind: "Service", group: "networking.istio.io", name: "a" } })[0]?.[3]).toBe("a Service is in the core group: remove group");
  });

  it("warns about a selector without labels", () => {
    expect(paths({ ...rule({}), selector: {} })).toEqual(["warning spec.selector"]);
  });
});

describe("testdata/cases with RequestAuthentication resources", () => {
  // Files named *-invalid-* show one mistake per document: each RequestAuthentication in them must be rejected;
  // every RequestAuthentication in the other security case files must be accepted (warnings allowed).
  const dir = join(import.meta.dirname, "../../testdata/cases");
  const files = readdirSync(dir).filter((f) => /^(peer-authentication|request-authentication|authorization-policy)-.*\.yaml$/.test(f)).sort();
  it.each(files)("%s", (file) => {
    const documents = jsYaml.loadAll(readFileSync(join(dir, file), "utf8")) as { kind?: string; metadata?: { name?: string; namespace?: string }; spec?: unknown }[];
    for (const doc of documents.filter((d) => d.kind === "RequestAuthentication")) {
      const { problems, decoded } = checkValue(RequestAuthenticationSpec, doc.spec ?? {}, ["spec"]);
      const errors = [
        ...problems.map((p) => `${p.name} ${formatPath(p.path)}`),
        ...(problems.length > 0 ? [] : checkRequestAuthentication(decoded as RequestAuthenticationSpec, { namespace: doc.metadata?.namespace, name: doc.metadata?.name ?? "" }))
          .filter((i) => (i.severity ?? "error") === "error")
          .map((i) => `${formatPath(i.path)}: ${i.message}`),
      ];
      if (file.includes("-invalid-")) expect(errors, `${doc.metadata?.name} should be rejected`).not.toEqual([]);
      else expect(errors, `${doc.metadata?.name} should be accepted`).toEqual([]);
    }
  });
});
