// RequestAuthentication scope scenarios (testdata/*.txt): `policies` loads Istio resources from
// YAML and prints load errors; `compile namespace= [labels=(k=v, …)] [root=]` prints the rules
// that apply to that workload, their token locations and key sources, and the issues.
// UPDATE_TESTDATA=1 rewrites the expected outputs.
import { join } from "node:path";
import { formatIssue, loadResources, type MeshResource } from "@meshwork/config";
import { listArg, listTestdataFiles, runDataDriven, stringArg } from "@meshwork/testing";
import { describe, expect, it } from "vitest";
import { compileRequestAuthentication, type RequestAuthnConfig, type TokenLocation } from "./compile-request-authentication.ts";

type Policy = MeshResource<"RequestAuthentication">;
const dir = join(import.meta.dirname, "testdata");

describe("compileRequestAuthentication scenarios", () => {
  for (const file of listTestdataFiles(dir, ".txt")) {
    it(file.slice(dir.length + 1), () => {
      let policies: Policy[] = [];
      runDataDriven(file, (c) => {
        switch (c.cmd) {
          case "policies": {
            const loaded = loadResources([{ path: "policies.yaml", text: c.input }]);
            policies = loaded.resources.filter((r): r is Policy => r.kind === "RequestAuthentication");
            const errors = loaded.issues.filter((i) => i.severity === "error").map(formatIssue);
            return errors.length === 0 ? "ok\n" : `${errors.join("\n")}\n`;
          }
          case "compile": {
            const labels = Object.fromEntries(listArg(c, "labels").map((kv) => kv.split("=") as [string, string]));
            const config = compileRequestAuthentication(policies, { namespace: stringArg(c, "namespace"), labels }, { rootNamespace: stringArg(c, "root", "istio-system") });
            return describeConfig(config);
          }
          default:
            throw new Error(`unknown command ${c.cmd}`);
        }
      });
    });
  }
});

function describeLocation(location: TokenLocation): string {
  return location.type === "header" ? `header ${location.name}${location.prefix === "" ? "" : ` prefix=${JSON.stringify(location.prefix)}`}` : `${location.type} ${location.name}`;
}

function describeConfig(config: RequestAuthnConfig): string {
  if (config.isEmpty && config.issues.length === 0) return "no rules\n";
  const lines: string[] = [];
  for (const rule of config.rules) {
    const jwks =
      rule.jwks.type === "remote"
        ? `${rule.jwks.uri} timeout=${rule.jwks.timeoutMs}ms`
        : rule.jwks.type === "discovery"
          ? `discover ${rule.jwks.configurationUri} timeout=${rule.jwks.timeoutMs}ms`
          : rule.jwks.type;
    lines.push(`${rule.origin} issuer=${JSON.stringify(rule.issuer)} jwks=${jwks}`);
    if (rule.audiences.length > 0) lines.push(`  audiences: ${rule.audiences.join(", ")}`);
    lines.push(`  from: ${rule.locations.map((i) => describeLocation(config.locations[i] as TokenLocation)).join("; ")}`);
    const outputs = [
      rule.forwardOriginalToken ? "forward token" : "",
      rule.outputPayloadToHeader ? `payload->${rule.outputPayloadToHeader}` : "",
      ...rule.outputClaimToHeaders.map(([h, c]) => `${c}->${h}`),
    ].filter((o) => o !== "");
    if (outputs.length > 0) lines.push(`  out: ${outputs.join(", ")}`);
  }
  if (config.sanitizeHeaders.length > 0) lines.push(`sanitize: ${config.sanitizeHeaders.join(", ")}`);
  for (const issue of config.issues) lines.push(`issue: ${issue}`);
  return `${lines.join("\n")}\n`;
}

describe("compileRequestAuthentication", () => {
  it("shares one location between rules that read the same header", () => {
    const loaded = loadResources([
      {
        path: "p.yaml",
        text: `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: two, namespace: foo}
spec:
  jwtRules:
  - issuer: a
    jwks: '{"keys":[{"kty":"oct","k":"AA"}]}'
  - issuer: b
    jwks: '{"keys":[{"kty":"oct","k":"AA"}]}'
`,
      },
    ]);
    const config = compileRequestAuthentication(loaded.resources as Policy[], { namespace: "foo", labels: {} }, { rootNamespace: "istio-system" });
    expect(config.locations).toHaveLength(2);
    expect(config.rules.map((r) => r.locations)).toEqual([
      [0, 1],
      [0, 1],
    ]);
  });
});
