import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import jsYaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { AuthorizationPolicySpec } from "../schema/authorization-policy.ts";
import { checkAuthorizationPolicy } from "./authorization-policy-rules.ts";

/** Runs the schema (which must pass) and then the rule: [severity, path, message, hint]. */
function issues(spec: unknown): [string, string, string, string | undefined][] {
  const { problems, decoded } = checkValue(AuthorizationPolicySpec, spec, ["spec"]);
  expect(problems).toEqual([]);
  return checkAuthorizationPolicy(decoded as AuthorizationPolicySpec, { namespace: "foo", name: "httpbin" }).map((i) => [
    i.severity ?? "error",
    formatPath(i.path),
    i.message,
    i.hint,
  ]);
}
const paths = (spec: unknown) => issues(spec).map(([severity, path]) => `${severity} ${path}`);
const hints = (spec: unknown) => issues(spec).map(([, , , hint]) => hint);
const when = (key: string, values: string[] = ["x"]) => ({ rules: [{ when: [{ key, values }] }] });
const from = (source: Record<string, unknown>) => ({ rules: [{ from: [{ source }] }] });
const to = (operation: Record<string, unknown>) => ({ rules: [{ to: [{ operation }] }] });

describe("checkAuthorizationPolicy", () => {
  it("accepts the examples of Istio's reference", () => {
    expect(issues({})).toEqual([]); // allow-nothing
    expect(issues({ rules: [{}] })).toEqual([]); // allow-all
    expect(issues({
      action: "ALLOW",
      rules: [{
        from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }, { source: { namespaces: ["test"] } }],
        to: [{ operation: { methods: ["GET"], paths: ["/info*"] } }, { operation: { methods: ["POST"], paths: ["/data"] } }],
        when: [{ key: "request.auth.claims[iss]", values: ["https://accounts.google.com"] }],
      }],
    })).toEqual([]);
    expect(issues({ action: "DENY", rules: [{ to: [{ operation: { methods: ["POST"], ports: ["8080"] } }] }] })).toEqual([]);
    expect(issues({ selector: { matchLabels: { app: "myapi" } }, action: "AUDIT", rules: [{ to: [{ operation: { methods: ["GET"], paths: ["/user/profile/*"] } }] }] })).toEqual([]);
    expect(issues({ selector: { matchLabels: { app: "istio-ingressgateway" } }, action: "CUSTOM", provider: { name: "my-custom-authz" }, rules: [{ to: [{ operation: { paths: ["/admin/*"] } }] }] })).toEqual([]);
    expect(issues(from({ ipBlocks: ["203.0.113.4", "203.0.113.0/24", "2001:db8::/32", "::1"], notRemoteIpBlocks: ["::ffff:10.0.0.1"] }))).toEqual([]);
  });

  it("requires a provider for a CUSTOM policy, and a name in it", () => {
    expect(issues({ action: "CUSTOM", rules: [{}] })).toEqual([
      ["error", "spec.provider", "a CUSTOM policy needs a provider", "add provider.name naming an extension provider from MeshConfig extensionProviders"],
    ]);
    expect(paths({ action: "CUSTOM", provider: {}, rules: [{}] })).toEqual(["error spec.provider.name"]);
  });

  it("rejects a provider on a policy whose action is not CUSTOM", () => {
    expect(issues({ provider: { name: "ext" }, rules: [{}] })[0]?.slice(1, 3)).toEqual(["spec.provider", "provider is only used with action CUSTOM, but the action is ALLOW"]);
  });

  it("rejects DENY and CUSTOM policies without rules and warns about AUDIT ones", () => {
    expect(issues({ action: "DENY" })).toEqual([
      ["error", "spec.rules", "a DENY policy without rules never matches, so it has no effect", 'add rules, or the empty rule "- {}" to deny every request'],
    ]);
    expect(paths({ action: "CUSTOM", provider: { name: "ext" }, rules: [] })).toEqual(["error spec.rules"]);
    expect(issues({ action: "AUDIT" })[0]?.slice(0, 3)).toEqual(["warning", "spec.rules", "an AUDIT policy without rules never matches, so it has no effect"]);
    expect(paths({ action: "DENY", rules: [{}] })).toEqual([]);
  });

  it("rejects from and to entries without a source or operation, and empty ones", () => {
    expect(paths({ rules: [{ from: [{}, { source: {} }], to: [{}, { operation: {} }] }] })).toEqual([
      "error spec.rules[0].from[0].source",
      "error spec.rules[0].from[1].source",
      "error spec.rules[0].to[0].operation",
      "error spec.rules[0].to[1].operation",
    ]);
  });

  it("rejects empty strings in sources and operations", () => {
    expect(paths(from({ principals: [""], namespaces: ["ok", ""] }))).toEqual([
      "error spec.rules[0].from[0].source.principals[0]",
      "error spec.rules[0].from[0].source.namespaces[1]",
    ]);
    expect(paths(to({ hosts: [""], methods: [""] }))).toEqual([
      "error spec.rules[0].to[0].operation.hosts[0]",
      "error spec.rules[0].to[0].operation.methods[0]",
    ]);
  });

  it("rejects IP blocks that are not addresses or CIDR ranges", () => {
    expect(issues(from({ ipBlocks: ["10.0.0.256", "10.0.0.0/33", "10.0.0.0/", "2001:db8::g", "1.2.3", "010.0.0.1", "fe80::1%eth0/64"], remoteIpBlocks: ["fe80::1%eth0"] })).map(([, p, m]) => [p, m])).toEqual([
      ["spec.rules[0].from[0].source.ipBlocks[0]", '"10.0.0.256" is not an IP address'],
      ["spec.rules[0].from[0].source.ipBlocks[1]", '"10.0.0.0/33" is not a CIDR range: the prefix length must be a number from 0 to 32'],
      ["spec.rules[0].from[0].source.ipBlocks[2]", '"10.0.0.0/" is not a CIDR range: the prefix length must be a number from 0 to 32'],
      ["spec.rules[0].from[0].source.ipBlocks[3]", '"2001:db8::g" is not an IP address'],
      ["spec.rules[0].from[0].source.ipBlocks[4]", '"1.2.3" is not an IP address'],
      ["spec.rules[0].from[0].source.ipBlocks[5]", '"010.0.0.1" is not an IP address'],
      ["spec.rules[0].from[0].source.ipBlocks[6]", '"fe80::1%eth0/64" is not a CIDR range: "fe80::1%eth0" is not an IP address'],
    ]);
    expect(issues(from({ notIpBlocks: ["2001:db8::/129", "1:2:3:4:5:6:7:8:9", "1::2::3", "::ffff:1.2.3.4/128"] })).map(([, p]) => p)).toEqual([
      "spec.rules[0].from[0].source.notIpBlocks[0]",
      "spec.rules[0].from[0].source.notIpBlocks[1]",
      "spec.rules[0].from[0].source.notIpBlocks[2]",
    ]);
  });

  it("checks service accounts and keeps them apart from principals and namespaces", () => {
    expect(issues(from({ serviceAccounts: ["default/sleep", "bookinfo-productpage"] }))).toEqual([]);
    expect(issues(from({ serviceAccounts: ["ns/*", "a/b/c", "/sa"] })).map(([, p, m]) => [p, m])).toEqual([
      ["spec.rules[0].from[0].source.serviceAccounts[0]", '"ns/*": wildcards are not supported in service accounts'],
      ["spec.rules[0].from[0].source.serviceAccounts[1]", '"a/b/c" is not a service account name'],
      ["spec.rules[0].from[0].source.serviceAccounts[2]", '"/sa" is not a service account name'],
    ]);
    expect(issues(from({ serviceAccounts: ["default/sleep"], namespaces: ["default"] }))[0]?.slice(0, 3)).toEqual([
      "error", "spec.rules[0].from[0].source.namespaces", "namespaces cannot be combined with serviceAccounts or notServiceAccounts",
    ]);
  });

  it("accepts ports 1..65535 written as strings only", () => {
    expect(issues(to({ ports: ["80", "0", "65536", "http", "-1"], notPorts: ["65535"] })).map(([, p, m]) => [p, m])).toEqual([
      ["spec.rules[0].to[0].operation.ports[1]", "port 0 is out of range"],
      ["spec.rules[0].to[0].operation.ports[2]", "port 65536 is out of range"],
      ["spec.rules[0].to[0].operation.ports[3]", '"http" is not a port number'],
      ["spec.rules[0].to[0].operation.ports[4]", '"-1" is not a port number'],
    ]);
  });

  it("accepts path templates as Istio does", () => {
    expect(issues(to({ paths: ["/{*}/foo", "/{*}/foo/", "/foo/{**}/bar", "/foo/bar/{**}", "/api/v1/{*}/files/{**}", "*", "/info*", "*.html"] }))).toEqual([]);
  });

  it("rejects malformed path templates", () => {
    expect(issues(to({ paths: ["/foo/{**}/{*}", "/users/{id}", "/foo/{**}buzz/bar", "/api*/{**}", "/{*}/a b"] })).map(([, p, m]) => [p, m])).toEqual([
      ["spec.rules[0].to[0].operation.paths[0]", '"/foo/{**}/{*}": {**} must be the last template operator, but {*} follows it'],
      ["spec.rules[0].to[0].operation.paths[1]", '"/users/{id}" contains "{" or "}" outside a {*} or {**} segment'],
      ["spec.rules[0].to[0].operation.paths[2]", '"/foo/{**}buzz/bar" contains "{" or "}" outside a {*} or {**} segment'],
      ["spec.rules[0].to[0].operation.paths[3]", '"/api*/{**}" mixes a template with the segment "api*"'],
      ["spec.rules[0].to[0].operation.paths[4]", '"/{*}/a b" mixes a template with the segment "a b"'],
    ]);
  });

  it("warns about a * in the middle of a path and a lower-case method", () => {
    expect(paths(to({ notPaths: ["/api/*/users"], methods: ["get"] }))).toEqual([
      "warning spec.rules[0].to[0].operation.methods[0]",
      "warning spec.rules[0].to[0].operation.notPaths[0]",
    ]);
  });

  it("accepts every documented condition key", () => {
    const keys: [string, string][] = [
      ["request.headers[User-Agent]", "curl*"], ["source.ip", "10.1.2.3"], ["remote.ip", "10.1.0.0/16"], ["source.namespace", "default"],
      ["source.principal", "cluster.local/ns/default/sa/productpage"], ["source.serviceAccount", "default/productpage"],
      ["request.auth.principal", "issuer.example.com/subject"], ["request.auth.audiences", "example.com"], ["request.auth.presenter", "app.example.com"],
      ["request.auth.claims[iss]", "https://accounts.google.com"], ["request.auth.claims[nested1][nested2]", "x"], ["destination.ip", "2001:db8::1"],
      ["destination.port", "8080"], ["connection.sni", "www.example.com"], ["experimental.envoy.filters.network.mysql_proxy[db.table]", "[update]"],
      ["request.experimental.inline.headers[x-foo]", "bar"],
    ];
    for (const [key, value] of keys) expect(issues(when(key, [value])), key).toEqual([]);
  });

  it("suggests the attribute meant by a near-miss condition key", () => {
    expect(issues(when("source.principals"))).toEqual([
      ["error", "spec.rules[0].when[0].key", 'unknown attribute "source.principals"', 'did you mean "source.principal"?'],
    ]);
    expect(hints(when("request.header[x-token]"))).toEqual(['did you mean "request.headers[x-token]"?']);
    expect(hints(when("request.auth.claim[groups]"))).toEqual(['did you mean "request.auth.claims[groups]"?']);
    expect(hints(when("request.auth.claims.iss"))).toEqual(['did you mean "request.auth.claims[iss]"? names go in brackets']);
    expect(hints(when("source.serviceaccount", ["default/sa"]))).toEqual(['did you mean "source.serviceAccount"?']);
    expect(issues(when("user.name"))[0]?.[3]).toMatch(/^use one of request\.headers\[\.\.\.\]/);
  });

  it("rejects malformed and retired condition keys", () => {
    expect(issues(when("request.headers")).map(([, , m, h]) => [m, h])).toEqual([['"request.headers" needs a name in brackets', "write e.g. request.headers[x-custom-token]"]]);
    expect(issues(when("request.headers[a][b]"))[0]?.[2]).toBe('"request.headers[a][b]" is malformed: expected request.headers[name]');
    expect(issues(when("request.auth.claims[]"))[0]?.[2]).toBe('"request.auth.claims[]" is malformed: expected request.auth.claims[name] (nested: [a][b])');
    expect(issues(when("source.ip[0]"))[0]?.[2]).toBe('"source.ip" takes no name in brackets');
    expect(issues(when("experimental.envoy.filters.a.b.x"))[0]?.[2]).toBe('"experimental.envoy.filters.a.b.x" is malformed: expected experimental.envoy.filters.<filter>[<metadata key>]');
    expect(issues(when("destination.labels[version]"))[0]?.slice(2)).toEqual(['attribute "destination.labels" is not supported', "choose workloads with the policy's selector instead"]);
    expect(paths(when("destination.namespace"))).toEqual(["error spec.rules[0].when[0].key"]);
  });

  it("requires values or notValues in a condition, and checks them by attribute", () => {
    expect(paths({ rules: [{ when: [{ key: "source.ip" }] }] })).toEqual(["error spec.rules[0].when[0].values"]);
    expect(paths({ rules: [{ when: [{ key: "source.ip", notValues: ["10.0.0.0/8"] }] }] })).toEqual([]);
    expect(paths(when("destination.port", ["80", "http"]))).toEqual(["error spec.rules[0].when[0].values[1]"]);
    expect(paths({ rules: [{ when: [{ key: "remote.ip", notValues: ["300.1.1.1"] }] }] })).toEqual(["error spec.rules[0].when[0].notValues[0]"]);
    expect(paths(when("source.serviceAccount", ["ns/*"]))).toEqual(["error spec.rules[0].when[0].values[0]"]);
    expect(paths(when("request.headers[x]", [""]))).toEqual(["error spec.rules[0].when[0].values[0]"]);
    expect(paths({ rules: [{ when: [{ key: "", values: ["a"] }] }] })).toEqual(["error spec.rules[0].when[0].key"]);
  });

  it("rejects identity matches an external authorizer cannot be given", () => {
    const custom = { action: "CUSTOM", provider: { name: "ext" } };
    expect(paths({ ...custom, rules: [{ from: [{ source: { requestPrincipals: ["*"], ipBlocks: ["10.0.0.0/8"] } }], when: [{ key: "request.auth.claims[iss]", values: ["a"] }, { key: "source.ip", values: ["10.0.0.1"] }] }] })).toEqual([
      "error spec.rules[0].from[0].source.requestPrincipals",
      "error spec.rules[0].when[0].key",
    ]);
  });

  it("warns that a DENY rule with only HTTP attributes denies all TCP traffic", () => {
    expect(issues({ action: "DENY", rules: [{ from: [{ source: { namespaces: ["dev"] } }], to: [{ operation: { methods: ["POST"] } }] }] })).toEqual([
      ["warning", "spec.rules[0]", "this DENY rule uses only HTTP attributes, so it denies all plain TCP traffic to the workloads it covers", "add to.operation.ports to limit the rule to the HTTP ports"],
    ]);
    expect(paths({ action: "DENY", rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] })).toEqual(["warning spec.rules[0]"]);
    expect(paths({ action: "DENY", rules: [{ from: [{ source: { notNamespaces: ["foo"] } }] }] })).toEqual([]);
    expect(paths({ action: "ALLOW", rules: [{ to: [{ operation: { methods: ["POST"] } }] }] })).toEqual([]);
  });

  it("shares the scope checks of the security kinds", () => {
    expect(paths({ selector: { matchLabels: { app: "a" } }, targetRefs: [{ kind: "Gateway", group: "gateway.networking.k8s.io", name: "gw" }] })).toEqual(["error spec.targetRefs"]);
    expect(paths({ targetRef: { kind: "Gateway", group: "gateway.networking.k8s.io", name: "gw" } })).toEqual([]);
  });
});

describe("testdata/cases with AuthorizationPolicy resources", () => {
  // Files named *-invalid-* show one mistake per document: each AuthorizationPolicy in them must be rejected;
  // every AuthorizationPolicy in the other security case files must be accepted (warnings allowed).
  const dir = join(import.meta.dirname, "../../testdata/cases");
  const files = readdirSync(dir).filter((f) => /^(peer-authentication|request-authentication|authorization-policy)-.*\.yaml$/.test(f)).sort();
  it.each(files)("%s", (file) => {
    const documents = jsYaml.loadAll(readFileSync(join(dir, file), "utf8")) as { kind?: string; metadata?: { name?: string; namespace?: string }; spec?: unknown }[];
    for (const doc of documents.filter((d) => d.kind === "AuthorizationPolicy")) {
      const { problems, decoded } = checkValue(AuthorizationPolicySpec, doc.spec ?? {}, ["spec"]);
      const errors = [
        ...problems.map((p) => `${p.name} ${formatPath(p.path)}`),
        ...(problems.length > 0 ? [] : checkAuthorizationPolicy(decoded as AuthorizationPolicySpec, { namespace: doc.metadata?.namespace, name: doc.metadata?.name ?? "" }))
          .filter((i) => (i.severity ?? "error") === "error")
          .map((i) => `${formatPath(i.path)}: ${i.message}`),
      ];
      if (file.includes("-invalid-")) expect(errors, `${doc.metadata?.name} should be rejected`).not.toEqual([]);
      else expect(errors, `${doc.metadata?.name} should be accepted`).toEqual([]);
    }
  });
});
