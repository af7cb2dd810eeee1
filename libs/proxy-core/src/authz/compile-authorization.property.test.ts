// compileAuthorization against referenceAuthorize (a straight reading of Istio's docs) on generated
// policy sets and requests over small alphabets, so that matches, near misses, wildcards, bad
// values, TCP requests and missing attributes all occur. Then fuzzing: garbage policies and
// requests never throw, and a request the engine cannot read is denied.
import type { MeshResource } from "@meshwork/config";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AuthzRequest } from "./authz-request.ts";
import { compileAuthorization } from "./compile-authorization.ts";
import { referenceAuthorize } from "./reference-authorization.ts";

type Policy = MeshResource<"AuthorizationPolicy">;
type Spec = Policy["spec"];
type Rule = NonNullable<Spec["rules"]>[number];

const workload = { namespace: "foo", labels: { app: "httpbin" } };
const options = { rootNamespace: "istio-system", trustDomain: "new-td", trustDomainAliases: ["old-td"], extensionProviders: ["p1", "p2"], tcpExtensionProviders: ["p2"] };

// ---- alphabets ----
const principal = fc.constantFrom(
  "new-td/ns/foo/sa/a",
  "old-td/ns/foo/sa/a",
  "cluster.local/ns/foo/sa/a",
  "other/ns/bar/sa/b",
  "new-td/ns/istio-system/sa/ingress",
  "",
);
const ip = fc.constantFrom("10.1.2.3", "10.200.0.1", "192.168.1.1", "2001:db8::1", "::ffff:10.1.2.3", "fe80::1", "garbage");
const claimsArb = fc.record(
  {
    iss: fc.constantFrom("iss", "https://x.io", "other"),
    sub: fc.constantFrom("sub", "alice", ""),
    aud: fc.oneof(fc.constantFrom("web", "api"), fc.constantFrom(["web", "api"], ["x"], [])),
    azp: fc.constantFrom("web.apps", "cli"),
    groups: fc.oneof(fc.constantFrom("g1", "g2"), fc.constantFrom(["g1", "g2"], ["g3"], [1])),
    n: fc.oneof(fc.constant({ m: "v" }), fc.constant({ m: ["v", "w"] }), fc.constant("v"), fc.constant({ m: 1 })),
  },
  { requiredKeys: [] },
);

const list = <T,>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: 1, maxLength: 3 });
const maybe = <T,>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const principalValue = fc.constantFrom("*", "cluster.local/ns/foo/sa/a", "*/sa/a", "new-td/ns/foo/*", "old-td/ns/foo/sa/a", "other/ns/bar/sa/b", "*/ns/bar/sa/b");
const namespaceValue = fc.constantFrom("foo", "bar", "f*", "*", "istio-*");
const serviceAccountValue = fc.constantFrom("a", "bar/b", "foo/a", "istio-system/ingress");
const ipValue = fc.constantFrom("10.0.0.0/8", "10.1.2.3", "2001:db8::/32", "bad-ip", "192.168.0.0/16", "0.0.0.0/0", "10.1.2.3/40");
const requestPrincipalValue = fc.constantFrom("*", "iss/sub", "iss/*", "*/sub", "https://x.io/*", "*ub", "is*", "other/alice");
const hostValue = fc.constantFrom("example.com", "*.example.com", "EXAMPLE.com", "api.*", "*");
const methodValue = fc.constantFrom("GET", "POST", "*", "G*");
const pathValue = fc.constantFrom("/a", "/a*", "*b", "*", "/x/{*}", "/x/{**}", "/{**}/x", "/x/{*}/y");
const portValue = fc.constantFrom("80", "8080", "bad", "70000");

const source = fc.record(
  {
    principals: list(principalValue),
    notPrincipals: list(principalValue),
    requestPrincipals: list(requestPrincipalValue),
    notRequestPrincipals: list(requestPrincipalValue),
    namespaces: list(namespaceValue),
    notNamespaces: list(namespaceValue),
    serviceAccounts: list(serviceAccountValue),
    notServiceAccounts: list(serviceAccountValue),
    ipBlocks: list(ipValue),
    notIpBlocks: list(ipValue),
    remoteIpBlocks: list(ipValue),
    notRemoteIpBlocks: list(ipValue),
  },
  { requiredKeys: [] },
);
const operation = fc.record(
  {
    hosts: list(hostValue),
    notHosts: list(hostValue),
    methods: list(methodValue),
    notMethods: list(methodValue),
    paths: list(pathValue),
    notPaths: list(pathValue),
    ports: list(portValue),
    notPorts: list(portValue),
  },
  { requiredKeys: [] },
);
const conditionValues: Record<string, fc.Arbitrary<string>> = {
  "request.headers[x-a]": fc.constantFrom("1", "*", "a*", "*b", ""),
  "source.ip": ipValue,
  "remote.ip": ipValue,
  "destination.ip": ipValue,
  "destination.port": portValue,
  "source.namespace": namespaceValue,
  "source.principal": principalValue,
  "source.serviceAccount": serviceAccountValue,
  "request.auth.principal": requestPrincipalValue,
  "request.auth.audiences": fc.constantFrom("web", "api", "*", "w*"),
  "request.auth.presenter": fc.constantFrom("web.apps", "*.apps", "*"),
  "request.auth.claims[groups]": fc.constantFrom("g1", "g3", "*", "g*"),
  "request.auth.claims[n][m]": fc.constantFrom("v", "w", "*"),
  "connection.sni": fc.constantFrom("example.com", "*.com", "*"),
  "bogus.key": fc.constant("x"),
};
const condition = fc.constantFrom(...Object.keys(conditionValues)).chain((key) =>
  fc
    .record({ values: list(conditionValues[key] as fc.Arbitrary<string>), notValues: list(conditionValues[key] as fc.Arbitrary<string>) }, { requiredKeys: [] })
    .map((v) => ({ key, ...v })),
);
const rule: fc.Arbitrary<Rule> = fc.record(
  {
    from: fc.array(fc.record({ source: maybe(source) }, { requiredKeys: [] }), { maxLength: 2 }),
    to: fc.array(fc.record({ operation: maybe(operation) }, { requiredKeys: [] }), { maxLength: 2 }),
    when: fc.array(condition, { maxLength: 2 }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Rule>;

const policyArb: fc.Arbitrary<Policy> = fc
  .record({
    name: fc.constantFrom("a", "b", "c", "d"),
    namespace: fc.constantFrom("foo", "foo", "istio-system", "bar"),
    action: fc.constantFrom("ALLOW", "ALLOW", "DENY", "AUDIT", "CUSTOM") as fc.Arbitrary<"ALLOW" | "DENY" | "AUDIT" | "CUSTOM">,
    provider: fc.constantFrom("p1", "p1", "p2", "unknown"),
    selector: maybe(fc.constantFrom({ app: "httpbin" }, { app: "other" })),
    rules: maybe(fc.array(rule, { maxLength: 3 })),
    dryRun: fc.constantFrom(undefined, undefined, "true", "false"),
  })
  .map((p) => ({
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name: p.name, namespace: p.namespace, ...(p.dryRun ? { annotations: { "istio.io/dry-run": p.dryRun } } : {}) },
    spec: {
      action: p.action,
      ...(p.action === "CUSTOM" ? { provider: { name: p.provider } } : {}),
      ...(p.selector ? { selector: { matchLabels: p.selector } } : {}),
      ...(p.rules ? { rules: p.rules } : {}),
    } as Spec,
  }));
// Names must be unique per namespace, as in Kubernetes.
const policySet = fc.uniqueArray(policyArb, { maxLength: 5, selector: (p) => `${p.metadata.namespace}/${p.metadata.name}` });

const requestArb: fc.Arbitrary<AuthzRequest> = fc
  .record(
    {
      protocol: fc.constantFrom("http", "http", "tcp") as fc.Arbitrary<"http" | "tcp">,
      host: fc.constantFrom("example.com", "www.example.com", "API.internal", "example.com:80"),
      method: fc.constantFrom("GET", "POST", "PUT"),
      path: fc.constantFrom("/a", "/ab", "/b", "/x/y", "/x/y/z", "/q/x", "/x/1/y", "", "/a?q=b"),
      headerA: fc.constantFrom("1", "ab", "b", ""),
      sourceIp: ip,
      remoteIp: ip,
      destinationIp: ip,
      destinationPort: fc.constantFrom(80, 8080, 443),
      sourcePrincipal: principal,
      claims: claimsArb,
      sni: fc.constantFrom("example.com", "x.com", ""),
    },
    { requiredKeys: ["protocol"] },
  )
  .map(({ headerA, claims, ...rest }) => ({
    ...rest,
    ...(headerA !== undefined ? { headers: (name: string) => (name === "x-a" ? headerA : undefined) } : {}),
    ...(claims ? { requestAuth: { claims } } : {}),
  }));

describe("compileAuthorization", () => {
  it("decides as the reference evaluator written from Istio's docs", () => {
    const seen = new Map<string, number>();
    const count = (key: string) => seen.set(key, (seen.get(key) ?? 0) + 1);
    fc.assert(
      fc.property(policySet, fc.array(requestArb, { minLength: 1, maxLength: 8 }), (policies, requests) => {
        const engine = compileAuthorization(policies, workload, options);
        for (const request of requests) {
          const expected = referenceAuthorize(policies, workload, options, request);
          const custom = engine.checkCustom(request);
          const decision = engine.evaluate(request);
          const actual = {
            custom: custom.type === "check" ? `check:${custom.provider}` : custom.type,
            decision: decision.type,
            policy: decision.policy,
            audit: decision.audit,
          };
          count(`${decision.type}${decision.type === "deny" ? (decision.policy ? " by DENY" : " no ALLOW matched") : decision.policy ? " by ALLOW" : " no ALLOW policy"}`);
          count(`custom ${custom.type}`);
          if (decision.audit) count("audit");
          if (request.protocol === "tcp" && decision.type === "allow" && decision.policy) count("tcp allow by ALLOW");
          if (JSON.stringify(actual) !== JSON.stringify(expected)) {
            const shown = { ...request, headers: request.headers?.("x-a") };
            throw new Error(`request ${JSON.stringify(shown)}\nengine    ${JSON.stringify(actual)}\nreference ${JSON.stringify(expected)}`);
          }
        }
      }),
      { seed: 20261122, numRuns: 1000 },
    );
    // The generators must reach every kind of outcome, or the comparison proves little.
    for (const outcome of ["allow by ALLOW", "allow no ALLOW policy", "deny by DENY", "deny no ALLOW matched", "custom check", "custom deny", "custom none", "audit", "tcp allow by ALLOW"]) {
      expect(seen.get(outcome) ?? 0, `${outcome} (seen: ${JSON.stringify([...seen])})`).toBeGreaterThan(20);
    }
  }, 60_000);

  it("never throws on garbage policies and requests, and always answers allow or deny", () => {
    fc.assert(
      fc.property(fc.array(fc.anything(), { maxLength: 4 }), fc.anything(), (garbage, request) => {
        const policies = garbage.map((spec, i) =>
          i % 2 === 0 ? spec : { apiVersion: "security.istio.io/v1", kind: "AuthorizationPolicy", metadata: { name: `g${i}`, namespace: "foo" }, spec },
        ) as Policy[];
        const engine = compileAuthorization(policies, workload, options);
        const custom = engine.checkCustom(request as AuthzRequest);
        const decision = engine.evaluate(request as AuthzRequest);
        expect(["none", "check", "deny"]).toContain(custom.type);
        expect(["allow", "deny"]).toContain(decision.type);
      }),
      { seed: 7, numRuns: 500 },
    );
  });

  it("denies garbage requests by default when an ALLOW policy applies", () => {
    const allowGet: Policy = {
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: "allow-get", namespace: "foo" },
      spec: { rules: [{ from: [{ source: { principals: ["*"] } }], to: [{ operation: { methods: ["GET"], paths: ["/x*"] } }] }] },
    };
    const engine = compileAuthorization([allowGet], workload, options);
    fc.assert(
      fc.property(fc.anything(), (request) => {
        const r = request as Record<string, unknown> | null;
        const readable = typeof r === "object" && r !== null && typeof r["sourcePrincipal"] === "string" && r["method"] === "GET" && typeof r["path"] === "string" && (r["path"] as string).startsWith("/x") && r["protocol"] !== "tcp";
        expect(engine.evaluate(request as AuthzRequest).type).toBe(readable ? "allow" : "deny");
      }),
      { seed: 11, numRuns: 1000 },
    );
  });
});
