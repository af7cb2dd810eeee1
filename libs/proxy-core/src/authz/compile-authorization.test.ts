// Authorization scenarios (testdata/authz/*.txt), taken from Istio's docs: `options` and
// `workload` set the scope, `policies` loads AuthorizationPolicies from YAML (through the config
// lib's validation) and compiles them, `request` runs checkCustom + evaluate and prints the
// decision and why. UPDATE_TESTDATA=1 rewrites the expected outputs.
import { join } from "node:path";
import { formatIssue, loadResources, type MeshResource } from "@meshwork/config";
import { hasArg, intArg, listArg, listTestdataFiles, runDataDriven, stringArg, type DataDrivenCase } from "@meshwork/testing";
import { describe, expect, it } from "vitest";
import type { AuthzDecision, CustomDecision } from "./authz-decision.ts";
import type { AuthzRequest } from "./authz-request.ts";
import { compileAuthorization, type AuthorizationEngine, type CompileAuthorizationOptions } from "./compile-authorization.ts";
import type { AuthzWorkload } from "./policy-applies.ts";

const dir = join(import.meta.dirname, "../../testdata/authz");

describe("authorization scenarios", () => {
  for (const file of listTestdataFiles(dir, ".txt")) {
    it(file.slice(dir.length + 1), () => {
      let options: CompileAuthorizationOptions = { rootNamespace: "istio-system", trustDomain: "cluster.local" };
      let workload: AuthzWorkload = { namespace: "foo", labels: { app: "httpbin" } };
      let policies: MeshResource<"AuthorizationPolicy">[] = [];
      let engine: AuthorizationEngine | undefined;
      runDataDriven(file, (c) => {
        switch (c.cmd) {
          case "options": {
            const providers = listArg(c, "providers");
            options = {
              rootNamespace: stringArg(c, "root-namespace", "istio-system"),
              trustDomain: stringArg(c, "trust-domain", "cluster.local"),
              trustDomainAliases: listArg(c, "aliases"),
              ...(hasArg(c, "providers") ? { extensionProviders: providers } : {}),
              ...(hasArg(c, "tcp-providers") ? { tcpExtensionProviders: listArg(c, "tcp-providers") } : {}),
              hostPortStripping: stringArg(c, "strip-port", "none") as "none" | "matching" | "any",
            };
            engine = compileAuthorization(policies, workload, options);
            return "ok\n";
          }
          case "workload": {
            workload = {
              namespace: stringArg(c, "namespace"),
              labels: pairs(listArg(c, "labels")),
              services: listArg(c, "services"),
            };
            engine = compileAuthorization(policies, workload, options);
            return describeEngine(engine);
          }
          case "policies": {
            const loaded = loadResources([{ path: "policies.yaml", text: c.input }]);
            const errors = loaded.issues.filter((i) => i.severity === "error").map(formatIssue);
            policies = loaded.resources.filter((r): r is MeshResource<"AuthorizationPolicy"> => r.kind === "AuthorizationPolicy");
            engine = compileAuthorization(policies, workload, options);
            return [...errors, describeEngine(engine)].join("\n");
          }
          case "request": {
            if (!engine) throw new Error(`${c.pos}: "request" before "policies"`);
            return describeOutcome(engine, parseRequest(c));
          }
          default:
            throw new Error(`${c.pos}: unknown command "${c.cmd}"`);
        }
      });
    });
  }
});

function pairs(list: readonly string[]): Record<string, string> {
  return Object.fromEntries(list.map((kv) => kv.split("=", 2) as [string, string]));
}

function describeEngine(engine: AuthorizationEngine): string {
  const lines = engine.policies.map(
    (p) => `${p.action}${p.dryRun ? " (dry-run)" : ""} ${p.name}${p.provider !== undefined ? ` provider=${p.provider}` : ""}`,
  );
  if (lines.length === 0) lines.push("no policy applies");
  lines.push(...engine.issues.map((i) => `issue: ${i}`));
  return `${lines.join("\n")}\n`;
}

/**
 * `request` arguments: protocol, host, method, path, principal, source, remote, dest, port, sni.
 * Input lines: `header <name>: <value>` (repeatable), `claims <json>`, `metadata <filter> <key> <json>`.
 */
function parseRequest(c: DataDrivenCase): AuthzRequest {
  const headers = new Map<string, string>();
  let claims: Record<string, unknown> | undefined;
  const metadata = new Map<string, unknown>();
  for (const line of c.input.split("\n").filter((l) => l.trim() !== "")) {
    const [kind, ...rest] = line.split(" ");
    const text = rest.join(" ");
    if (kind === "header") {
      const colon = text.indexOf(":");
      const name = text.slice(0, colon).trim().toLowerCase();
      const value = text.slice(colon + 1).trim();
      headers.set(name, headers.has(name) ? `${headers.get(name)},${value}` : value);
    } else if (kind === "claims") {
      claims = JSON.parse(text) as Record<string, unknown>;
    } else if (kind === "metadata") {
      const [filter, key, ...json] = rest;
      metadata.set(`${filter}[${key}]`, JSON.parse(json.join(" ")));
    } else {
      throw new Error(`${c.pos}: unknown request line "${line}"`);
    }
  }
  const opt = (name: string): string | undefined => (hasArg(c, name) ? stringArg(c, name) : undefined);
  const request: Record<string, unknown> = {
    protocol: opt("protocol") ?? "http",
    host: opt("host"),
    method: opt("method"),
    path: opt("path"),
    sourcePrincipal: opt("principal"),
    sourceIp: opt("source"),
    remoteIp: opt("remote"),
    destinationIp: opt("dest"),
    destinationPort: hasArg(c, "port") ? intArg(c, "port") : undefined,
    sni: opt("sni"),
    headers: (name: string) => headers.get(name),
    requestAuth: claims ? { claims } : undefined,
    filterMetadata: (filter: string, key: string) => metadata.get(`${filter}[${key}]`),
  };
  for (const key of Object.keys(request)) if (request[key] === undefined) delete request[key];
  return request as AuthzRequest;
}

function describeOutcome(engine: AuthorizationEngine, request: AuthzRequest): string {
  const lines = [describeCustom(engine.checkCustom(request))];
  const decision = engine.evaluate(request);
  lines.push(describeDecision(decision));
  if (decision.dryRun?.deny) lines.push(`dry-run DENY: ${decision.dryRun.deny.denied ? `would deny (${decision.dryRun.deny.policy})` : "would not deny"}`);
  if (decision.dryRun?.allow) lines.push(`dry-run ALLOW: ${decision.dryRun.allow.allowed ? `would allow (${decision.dryRun.allow.policy})` : "would not allow"}`);
  return `${lines.join("\n")}\n`;
}

function describeCustom(custom: CustomDecision): string {
  if (custom.type === "none") return "custom: none";
  if (custom.type === "check") return `custom: ask ${custom.provider} (${custom.effectivePolicyId})`;
  return `custom: deny: ${custom.reason}`;
}

function describeDecision(d: AuthzDecision): string {
  const audit = d.audit ? " [audit]" : "";
  if (d.type === "allow") return `allow${d.policy ? ` by ${d.policy} rule ${d.rule}` : " (no ALLOW policy)"}${audit}`;
  return `deny: ${d.reason} (${d.responseCodeDetails})${audit}`;
}

describe("compileAuthorization", () => {
  const policy = (name: string, spec: MeshResource<"AuthorizationPolicy">["spec"], namespace = "foo"): MeshResource<"AuthorizationPolicy"> => ({
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name, namespace },
    spec,
  });
  const workload = { namespace: "foo", labels: { app: "httpbin" } };
  const options = { rootNamespace: "istio-system", trustDomain: "cluster.local" };

  it("evaluate() returns the same frozen decision object for repeated requests (no allocation on the hot path)", () => {
    const engine = compileAuthorization([policy("p", { action: "ALLOW", rules: [{ to: [{ operation: { methods: ["GET"] } }] }] })], workload, options);
    const a = engine.evaluate({ method: "GET" });
    const b = engine.evaluate({ method: "GET" });
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(engine.evaluate({ method: "POST" }).type).toBe("deny");
  });

  it("is empty when no policy selects the workload, and then allows", () => {
    const engine = compileAuthorization([policy("other", { selector: { matchLabels: { app: "other" } } })], workload, options);
    expect(engine.isEmpty).toBe(true);
    expect(engine.evaluate({}).type).toBe("allow");
  });

  it("denies instead of throwing when the request's header accessor throws", () => {
    const engine = compileAuthorization(
      [policy("p", { rules: [{ when: [{ key: "request.headers[x]", values: ["1"] }] }] })],
      workload,
      options,
    );
    const decision = engine.evaluate({
      headers: () => {
        throw new Error("boom");
      },
    });
    expect(decision.type).toBe("deny");
  });

  it("sets rules that bypassed validation aside with an issue instead of throwing", () => {
    const broken = policy("broken", { rules: [{ from: [{ source: { principals: 42 as unknown as string[] } }] }] });
    const engine = compileAuthorization([broken], workload, options);
    expect(engine.issues.join("\n")).toContain("foo/broken rule 0: skipped");
    expect(engine.evaluate({ sourcePrincipal: "cluster.local/ns/foo/sa/a" }).type).toBe("deny");
  });

  it("skips a rule with an unknown `when` key whatever the action, as Istio's builder does", () => {
    const when = [{ key: "request.body", values: ["x"] }];
    const denyEngine = compileAuthorization([policy("d", { action: "DENY", rules: [{ when }] })], workload, options);
    expect(denyEngine.evaluate({}).type).toBe("allow");
    expect(denyEngine.issues.join("\n")).toContain('unknown attribute "request.body"');
    const allowEngine = compileAuthorization([policy("a", { action: "ALLOW", rules: [{ when }] })], workload, options);
    expect(allowEngine.evaluate({}).type).toBe("deny");
  });

  it("drops an unusable value from a DENY rule (wider) but voids an ALLOW rule (narrower)", () => {
    const from = [{ source: { ipBlocks: ["not-a-cidr"] } }];
    const deny = compileAuthorization([policy("d", { action: "DENY", rules: [{ from }] })], workload, options);
    expect(deny.evaluate({ sourceIp: "1.2.3.4" }).type).toBe("deny");
    const allow = compileAuthorization([policy("a", { action: "ALLOW", rules: [{ from }] })], workload, options);
    expect(allow.evaluate({ sourceIp: "1.2.3.4" }).type).toBe("deny");
    expect(allow.issues.join("\n")).toContain('ipBlocks: "not-a-cidr" is not an IP address or CIDR block');
  });

  it("treats a DENY or AUDIT policy without rules as never matching", () => {
    const engine = compileAuthorization([policy("d", { action: "DENY" }), policy("a", { action: "AUDIT" })], workload, options);
    const decision = engine.evaluate({ method: "GET" });
    expect(decision.type).toBe("allow");
    expect(decision.audit).toBe(false);
  });

  it("applies targetRefs to the Gateway's deployment (by gateway-name label) and to the Services that select the workload", () => {
    const gatewayPolicy = policy("gw", { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "ingress" }] });
    const servicePolicy = policy("svc", { targetRefs: [{ kind: "Service", name: "httpbin" }] });
    const gateway = { namespace: "foo", labels: { "gateway.networking.k8s.io/gateway-name": "ingress" } };
    expect(compileAuthorization([gatewayPolicy, servicePolicy], gateway, options).policies.map((p) => p.name)).toEqual(["foo/gw"]);
    const pod = { namespace: "foo", labels: { app: "httpbin" }, services: ["httpbin"] };
    expect(compileAuthorization([gatewayPolicy, servicePolicy], pod, options).policies.map((p) => p.name)).toEqual(["foo/svc"]);
    expect(compileAuthorization([servicePolicy], { ...pod, namespace: "bar" }, options).isEmpty).toBe(true);
  });

  it("applies a selector only in its own namespace, or in every namespace from the root namespace", () => {
    const selector = { matchLabels: { app: "httpbin" } };
    const inBar = policy("p", { selector }, "bar");
    const inRoot = policy("p", { selector }, "istio-system");
    expect(compileAuthorization([inBar], workload, options).isEmpty).toBe(true);
    expect(compileAuthorization([inRoot], workload, options).isEmpty).toBe(false);
  });

  it("reports the first matching DENY rule in Envoy's policy-id order", () => {
    const rules = [{}];
    const engine = compileAuthorization(
      [policy("zeta", { action: "DENY", rules }), policy("alpha", { action: "DENY", rules }, "istio-system"), policy("beta", { action: "DENY", rules })],
      workload,
      options,
    );
    // ns[foo]-policy[beta] < ns[foo]-policy[zeta] < ns[istio-system]-policy[alpha]
    expect(engine.evaluate({}).policy).toBe("foo/beta");
  });
});
