import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import jsYaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { WorkloadEntrySpec } from "../schema/workload-entry.ts";
import { checkWorkloadEntry } from "./workload-entry-rules.ts";

/** Runs the schema (which must pass) and then the rule: [severity, path, message]. */
function issues(spec: unknown): [string, string, string][] {
  const { problems, decoded } = checkValue(WorkloadEntrySpec, spec, ["spec"]);
  expect(problems).toEqual([]);
  return checkWorkloadEntry(decoded as WorkloadEntrySpec, { namespace: "default", name: "we" }).map((i) => [i.severity ?? "error", formatPath(i.path), i.message]);
}

const where = (spec: unknown) => issues(spec).map(([s, p]) => [s, p]);

describe("checkWorkloadEntry", () => {
  it("accepts IPv4, IPv6, DNS name and Unix socket addresses", () => {
    for (const address of ["2.2.2.2", "2001:db8::2", "::ffff:10.0.0.1", "vm1.example.com", "unix:///var/run/app.sock", "unix://@abstract"]) {
      expect(issues({ address }), address).toEqual([]);
    }
  });

  it("requires an address unless a network is set, and warns when only the network is given", () => {
    expect(issues({ labels: { app: "details" } })).toEqual([["error", "spec.address", "address is required when network is not set"]]);
    expect(issues({ network: "network-2" })).toEqual([["warning", "spec.address", 'address is unset; the endpoint is reached only through the gateway of network "network-2"']]);
  });

  it("rejects an address that is neither an IP nor a DNS name", () => {
    expect(issues({ address: "10.0.0.300" })).toEqual([
      ["error", "spec.address", '"10.0.0.300" is neither an IP address nor a valid DNS name (it has an all-numeric top-level label "300")'],
    ]);
    expect(where({ address: "*.example.com" })).toEqual([["error", "spec.address"]]);
  });

  it("rejects a relative or directory socket path and ports on a socket", () => {
    expect(where({ address: "unix://var/run/app.sock" })).toEqual([["error", "spec.address"]]);
    expect(where({ address: "unix:///var/run/", ports: { http: 8080 } })).toEqual([
      ["error", "spec.address"],
      ["error", "spec.ports"],
    ]);
  });

  it("rejects port names that are not DNS labels and invalid labels", () => {
    expect(where({ address: "10.0.0.4", ports: { Http_Web: 8080 }, labels: { "app/": "details", version: "v1 beta" } })).toEqual([
      ["error", "spec.ports.Http_Web"],
      ["error", 'spec.labels["app/"]'],
      ["error", "spec.labels.version"],
    ]);
  });
});

describe("testdata/cases with WorkloadEntry resources", () => {
  const dir = join(import.meta.dirname, "../../testdata/cases");
  const files = readdirSync(dir).filter((f) => /^(workload-entry|service-entry)-.*\.yaml$/.test(f)).sort();

  it.each(files)("%s", (file) => {
    const documents = jsYaml.loadAll(readFileSync(join(dir, file), "utf8")) as { kind?: string; metadata?: { name?: string }; spec?: unknown }[];
    for (const doc of documents.filter((d) => d.kind === "WorkloadEntry")) {
      const { problems, decoded } = checkValue(WorkloadEntrySpec, doc.spec ?? {}, ["spec"]);
      const errors = [
        ...problems.map((p) => `${p.name} ${formatPath(p.path)}`),
        ...(problems.length > 0 ? [] : checkWorkloadEntry(decoded as WorkloadEntrySpec, { namespace: undefined, name: doc.metadata?.name ?? "" }))
          .filter((i) => (i.severity ?? "error") === "error")
          .map((i) => `${formatPath(i.path)}: ${i.message}`),
      ];
      if (file.includes("-invalid-")) expect(errors, `${doc.metadata?.name} should be rejected`).not.toEqual([]);
      else expect(errors, `${doc.metadata?.name} should be accepted`).toEqual([]);
    }
  });
});
