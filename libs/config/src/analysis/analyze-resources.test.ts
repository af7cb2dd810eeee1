import { readdirSync, readFileSync, existsSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import type { ConfigIssue } from "../config-issue.ts";
import { issueCodes, type IssueName } from "../issue-codes.ts";
import { loadResources, type MeshResource } from "../load-resources.ts";
import { analyzeResources, type MeshCatalog } from "./analyze-resources.ts";

const casesDir = new URL("../../testdata/analysis/", import.meta.url);
const caseNames = readdirSync(casesDir)
  .filter((f) => f.endsWith(".yaml") && !f.endsWith(".catalog.yaml"))
  .map((f) => f.slice(0, -".yaml".length))
  .sort();

function runCase(name: string): { loadIssues: ConfigIssue[]; findings: ConfigIssue[] } {
  const path = `${name}.yaml`;
  const { resources, issues } = loadResources([{ path, text: readFileSync(new URL(path, casesDir), "utf8") }]);
  const catalogUrl = new URL(`${name}.catalog.yaml`, casesDir);
  const catalog = existsSync(catalogUrl) ? (parse(readFileSync(catalogUrl, "utf8")) as MeshCatalog) : undefined;
  return { loadIssues: issues, findings: analyzeResources(resources, catalog ? { catalog } : {}) };
}

/** `unknown-subset` → `UnknownSubset`. */
const issueNameOf = (caseName: string) => caseName.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());

describe("analyzeResources on testdata/analysis", () => {
  it("has a first comment line saying what each case shows", () => {
    for (const name of caseNames) expect(readFileSync(new URL(`${name}.yaml`, casesDir), "utf8")).toMatch(/^# \S.*\n/);
  });

  it("finds nothing in Istio's bookinfo config with its catalog", () => {
    expect(runCase("bookinfo")).toEqual({ loadIssues: [], findings: [] });
  });

  it("rejects a JWT rule without issuer when loading, so no analyzer needs to", () => {
    const { loadIssues, findings } = runCase("jwt-rule-without-issuer");
    expect(loadIssues.map((i) => `${i.line} ${i.name} ${i.field} ${i.message}`)).toEqual([
      "12 MissingField spec.jwtRules[0].issuer the JWT rule has no issuer (and no jwksUri), so no token can be verified by it",
    ]);
    expect(findings).toEqual([]);
  });

  const analyzerCases = caseNames.filter((n) => n !== "bookinfo" && n !== "jwt-rule-without-issuer");
  it.each(analyzerCases)("%s: loads cleanly and shows its analyzer's finding, located", (name) => {
    const { loadIssues, findings } = runCase(name);
    expect(loadIssues.filter((i) => i.severity === "error")).toEqual([]);
    const expected = issueNameOf(name);
    expect(expected in issueCodes).toBe(true);
    expect(findings.map((f) => f.name)).toContain(expected);
    // Each case shows one mistake: no other analyzer fires.
    expect(new Set(findings.map((f) => f.name))).toEqual(new Set([expected]));
    for (const f of findings) {
      expect(f).toMatchObject({ file: `${name}.yaml`, line: expect.any(Number), column: expect.any(Number), field: expect.any(String) });
      expect(f.resource?.name).toBeTruthy();
    }
  });

  it("covers every analysis code with a case", () => {
    const analysisNames = (Object.keys(issueCodes) as IssueName[]).filter((n) => issueCodes[n].code.startsWith("MW01"));
    const covered = new Set(caseNames.map(issueNameOf));
    expect(analysisNames.filter((n) => !covered.has(n))).toEqual([]);
  });

  it("orders findings by file and line, the same on every run", () => {
    const all = loadResources(
      analyzerCases.map((name) => ({ path: `${name}.yaml`, text: readFileSync(new URL(`${name}.yaml`, casesDir), "utf8") })),
    ).resources;
    const first = analyzeResources(all);
    expect(analyzeResources(all)).toEqual(first);
    const keys = first.map((f) => [f.file ?? "", f.line ?? 0] as const);
    const sorted = [...keys].sort((a, b) => a[0].localeCompare(b[0]) || a[1] - b[1]);
    expect(keys).toEqual(sorted);
  });
});

/** A mesh of `services` services in 20 namespaces, five resources each, written as loadResources returns them. */
function generateMesh(services: number): { resources: MeshResource[]; catalog: MeshCatalog } {
  const resources: MeshResource[] = [];
  const catalog: MeshCatalog = { services: [] };
  const meta = (name: string, namespace: string) => ({ name, namespace });
  for (let i = 0; i < services; i++) {
    const ns = `team-${i % 20}`;
    const name = `svc-${i}`;
    const peer = `svc-${(i + 20) % services}.team-${(i + 20) % services % 20}.svc.cluster.local`;
    catalog.services.push({
      name,
      namespace: ns,
      ports: [{ number: 8080, name: "http" }],
      instances: [{ labels: { app: name, version: "v1" } }, { labels: { app: name, version: "v2" } }],
    });
    resources.push(
      {
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: meta(name, ns),
        spec: {
          hosts: [name],
          http: [
            { match: [{ headers: { "x-canary": { exact: "true" } } }], route: [{ destination: { host: name, subset: "v2" } }], mirror: { host: peer } },
            { route: [{ destination: { host: name, subset: "v1" }, weight: 90 }, { destination: { host: name, subset: "v2", port: { number: 8080 } }, weight: 10 }] },
          ],
        },
      },
      {
        apiVersion: "networking.istio.io/v1",
        kind: "DestinationRule",
        metadata: meta(name, ns),
        spec: {
          host: name,
          trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } },
          subsets: [
            { name: "v1", labels: { version: "v1" } },
            { name: "v2", labels: { version: "v2" } },
          ],
        },
      },
      {
        apiVersion: "security.istio.io/v1",
        kind: "PeerAuthentication",
        metadata: meta(name, ns),
        spec: { selector: { matchLabels: { app: name } }, mtls: { mode: "STRICT" } },
      },
      {
        apiVersion: "security.istio.io/v1",
        kind: "RequestAuthentication",
        metadata: meta(name, ns),
        spec: { selector: { matchLabels: { app: name } }, jwtRules: [{ issuer: "https://issuer.example", jwksUri: "https://issuer.example/jwks" }] },
      },
      {
        apiVersion: "security.istio.io/v1",
        kind: "AuthorizationPolicy",
        metadata: meta(name, ns),
        spec: { selector: { matchLabels: { app: name } }, action: "ALLOW", rules: [{ from: [{ source: { requestPrincipals: ["*"], namespaces: [ns] } }] }] },
      },
    );
  }
  return { resources, catalog };
}

describe("analyzeResources on a large mesh", () => {
  it("finds nothing in a clean mesh of 1,000 services and 5,000 resources", () => {
    const { resources, catalog } = generateMesh(1000);
    expect(resources).toHaveLength(5000);
    expect(analyzeResources(resources, { catalog })).toEqual([]);
  });

  it("finds exactly the mistakes planted in it", () => {
    const { resources, catalog } = generateMesh(1000);
    const vs = resources[5 * 7] as MeshResource<"VirtualService">;
    const broken = { ...vs, spec: { ...vs.spec, http: [{ route: [{ destination: { host: "svc-7", subset: "v9" } }] }] } };
    resources[5 * 7] = broken;
    catalog.services.splice(500, 1);
    const findings = analyzeResources(resources, { catalog });
    expect(findings.map((f) => `${f.name} ${f.resource?.namespace}/${f.resource?.name} ${f.field}`).sort()).toEqual(
      [
        "UnknownSubset team-7/svc-7 spec.http[0].route[0].destination.subset",
        // svc-500's own resources and svc-480's mirror now point at nothing.
        "HostNotFound team-0/svc-480 spec.http[0].mirror.host",
        "HostNotFound team-0/svc-500 spec.http[0].route[0].destination.host",
        "HostNotFound team-0/svc-500 spec.http[1].route[0].destination.host",
        "HostNotFound team-0/svc-500 spec.http[1].route[1].destination.host",
        "HostNotFound team-0/svc-500 spec.host",
        "SelectorMatchesNothing team-0/svc-500 spec.selector.matchLabels",
        "SelectorMatchesNothing team-0/svc-500 spec.selector.matchLabels",
        "SelectorMatchesNothing team-0/svc-500 spec.selector.matchLabels",
      ].sort(),
    );
  });
});
