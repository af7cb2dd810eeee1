import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import jsYaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { PeerAuthenticationSpec } from "../schema/peer-authentication.ts";
import { checkPeerAuthentication } from "./peer-authentication-rules.ts";

/** Runs the schema (which must pass) and then the rule: [severity, path, message]. */
function issues(spec: unknown): [string, string, string][] {
  const { problems, decoded } = checkValue(PeerAuthenticationSpec, spec, ["spec"]);
  expect(problems).toEqual([]);
  return checkPeerAuthentication(decoded as PeerAuthenticationSpec, { namespace: "foo", name: "p" }).map((i) => [
    i.severity ?? "error",
    formatPath(i.path),
    i.message,
  ]);
}

describe("checkPeerAuthentication", () => {
  it("accepts the mesh-wide, namespace and workload policies from Istio's docs", () => {
    expect(issues({ mtls: { mode: "STRICT" } })).toEqual([]);
    expect(issues({ mtls: { mode: "PERMISSIVE" } })).toEqual([]);
    expect(issues({ selector: { matchLabels: { app: "finance" } }, mtls: { mode: "STRICT" }, portLevelMtls: { "8080": { mode: "DISABLE" } } })).toEqual([]);
  });

  it("accepts a workload policy that sets only port-level modes", () => {
    expect(issues({ selector: { matchLabels: { app: "example-app" } }, portLevelMtls: { "80": { mode: "DISABLE" } } })).toEqual([]);
  });

  it("rejects portLevelMtls without a selector", () => {
    expect(issues({ mtls: { mode: "STRICT" }, portLevelMtls: { "8080": { mode: "DISABLE" } } })).toEqual([
      ["error", "spec.portLevelMtls", "portLevelMtls needs a workload selector: mesh- and namespace-wide policies cannot set per-port modes"],
    ]);
  });

  it("rejects portLevelMtls with a selector that has no labels, and warns about the selector", () => {
    expect(issues({ selector: {}, mtls: { mode: "STRICT" }, portLevelMtls: { "8080": { mode: "DISABLE" } } }).map(([s, p]) => [s, p])).toEqual([
      ["warning", "spec.selector"],
      ["error", "spec.portLevelMtls"],
    ]);
  });

  it("rejects ports outside 1..65535", () => {
    const selector = { matchLabels: { app: "a" } };
    expect(issues({ selector, portLevelMtls: { "0": { mode: "DISABLE" }, "65536": { mode: "STRICT" }, "65535": { mode: "STRICT" } } })).toEqual([
      ["error", 'spec.portLevelMtls["0"]', "port 0 is out of range"],
      ["error", 'spec.portLevelMtls["65536"]', "port 65536 is out of range"],
    ]);
  });

  it("rejects an empty portLevelMtls", () => {
    expect(issues({ selector: { matchLabels: { app: "a" } }, mtls: { mode: "STRICT" }, portLevelMtls: {} })).toEqual([
      ["error", "spec.portLevelMtls", "portLevelMtls is empty"],
    ]);
  });

  it("warns that a policy with every mode UNSET changes nothing", () => {
    const warning = ["warning", "spec.mtls", "every mode is UNSET, so the policy inherits everything and changes nothing"];
    expect(issues({ mtls: { mode: "UNSET" } })).toEqual([warning]);
    expect(issues({ mtls: {} })).toEqual([warning]);
    expect(issues({})).toEqual([["warning", "spec", warning[2]]]);
    expect(issues({ selector: { matchLabels: { app: "a" } }, mtls: { mode: "UNSET" }, portLevelMtls: { "80": { mode: "UNSET" } } })).toEqual([warning]);
  });

  it("does not warn when a port-level mode is set under an UNSET workload mode", () => {
    expect(issues({ selector: { matchLabels: { app: "a" } }, mtls: { mode: "UNSET" }, portLevelMtls: { "80": { mode: "STRICT" } } })).toEqual([]);
  });

  it("rejects wildcards and empty keys in the selector", () => {
    expect(issues({ selector: { matchLabels: { app: "web-*", "": "x" } }, mtls: { mode: "STRICT" } })).toEqual([
      ["error", 'spec.selector.matchLabels.app', 'wildcards are not supported in selectors: "app=web-*"'],
      ["error", 'spec.selector.matchLabels[""]', "a label key is empty"],
    ]);
  });
});

describe("testdata/cases with PeerAuthentication resources", () => {
  // Files named *-invalid-* show one mistake per document: each PeerAuthentication in them must be rejected;
  // every PeerAuthentication in the other security case files must be accepted (warnings allowed).
  const dir = join(import.meta.dirname, "../../testdata/cases");
  const files = readdirSync(dir).filter((f) => /^(peer-authentication|request-authentication|authorization-policy)-.*\.yaml$/.test(f)).sort();
  it.each(files)("%s", (file) => {
    const documents = jsYaml.loadAll(readFileSync(join(dir, file), "utf8")) as { kind?: string; metadata?: { name?: string; namespace?: string }; spec?: unknown }[];
    for (const doc of documents.filter((d) => d.kind === "PeerAuthentication")) {
      const { problems, decoded } = checkValue(PeerAuthenticationSpec, doc.spec ?? {}, ["spec"]);
      const errors = [
        ...problems.map((p) => `${p.name} ${formatPath(p.path)}`),
        ...(problems.length > 0 ? [] : checkPeerAuthentication(decoded as PeerAuthenticationSpec, { namespace: doc.metadata?.namespace, name: doc.metadata?.name ?? "" }))
          .filter((i) => (i.severity ?? "error") === "error")
          .map((i) => `${formatPath(i.path)}: ${i.message}`),
      ];
      if (file.includes("-invalid-")) expect(errors, `${doc.metadata?.name} should be rejected`).not.toEqual([]);
      else expect(errors, `${doc.metadata?.name} should be accepted`).toEqual([]);
    }
  });
});
