import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import jsYaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { ServiceEntrySpec } from "../schema/service-entry.ts";
import { checkServiceEntry } from "./service-entry-rules.ts";

/** Runs the schema (which must pass) and then the rule: [severity, path, message]. */
function issues(spec: unknown, namespace: string | undefined = "default"): [string, string, string][] {
  const { problems, decoded } = checkValue(ServiceEntrySpec, spec, ["spec"]);
  expect(problems).toEqual([]);
  return checkServiceEntry(decoded as ServiceEntrySpec, { namespace, name: "se" }).map((i) => [i.severity ?? "error", formatPath(i.path), i.message]);
}

const where = (spec: unknown) => issues(spec).map(([s, p]) => [s, p]);

const http = [{ number: 80, name: "http", protocol: "HTTP" }];
const tls = [{ number: 443, name: "https", protocol: "TLS" }];

describe("checkServiceEntry: hosts", () => {
  it("accepts the reference's external APIs, wildcard and Unix socket examples", () => {
    expect(issues({ hosts: ["api.dropboxapi.com", "www.googleapis.com"], location: "MESH_EXTERNAL", ports: tls, resolution: "DNS" })).toEqual([]);
    expect(issues({ hosts: ["*.bar.com"], location: "MESH_EXTERNAL", ports: http, resolution: "NONE" })).toEqual([]);
    expect(issues({ hosts: ["example.unix.local"], ports: http, resolution: "STATIC", endpoints: [{ address: "unix:///var/run/example/socket" }] })).toEqual([]);
  });

  it("rejects the full wildcard and malformed hosts", () => {
    expect(issues({ hosts: ["*"], ports: http })).toEqual([["error", "spec.hosts[0]", 'host "*" is not allowed in a ServiceEntry']]);
    expect(where({ hosts: ["api_v1.example.com"], ports: http })).toEqual([["error", "spec.hosts[0]"]]);
  });

  it("warns about a partial wildcard", () => {
    expect(where({ hosts: ["*foo.example.com"], ports: http })).toEqual([["warning", "spec.hosts[0]"]]);
  });

  it("rejects wildcard hosts with DNS resolution and no endpoints (nothing to resolve)", () => {
    expect(issues({ hosts: ["*.example.com"], ports: tls, resolution: "DNS" })).toEqual([
      ["error", "spec.hosts[0]", 'host "*.example.com" cannot be resolved with resolution DNS: without endpoints every host must be a DNS name, without wildcards'],
    ]);
    expect(issues({ hosts: ["*.example.com"], ports: tls, resolution: "DNS", endpoints: [{ address: "lb.example.com" }] })).toEqual([]);
  });

  it("rejects several hosts on a port that cannot tell them apart, unless resolution is NONE", () => {
    const tcp = [{ number: 5432, name: "postgres", protocol: "TCP" }];
    expect(where({ hosts: ["db1.example.com", "db2.example.com"], ports: tcp, resolution: "DNS" })).toEqual([["error", "spec.ports[0].protocol"]]);
    expect(where({ hosts: ["db1.example.com", "db2.example.com"], ports: [{ number: 5432, name: "postgres" }], resolution: "DNS" })).toEqual([["error", "spec.ports[0].protocol"]]);
    expect(issues({ hosts: ["db1.example.com", "db2.example.com"], ports: tcp, resolution: "NONE" })).toEqual([]);
  });
});

describe("checkServiceEntry: addresses and ports", () => {
  it("accepts IPv4, IPv6 and CIDR addresses with STATIC", () => {
    expect(issues({ hosts: ["db.internal"], addresses: ["192.192.192.192/24", "240.0.0.1", "2001:db8::/32"], ports: http, resolution: "STATIC", endpoints: [{ address: "2.2.2.2" }] })).toEqual([]);
  });

  it("rejects addresses that are not IPs or CIDRs, and CIDRs with DNS resolution", () => {
    expect(where({ hosts: ["a.example.com"], addresses: ["a.example.com", "10.0.0.0/33", "010.0.0.1"], ports: http, resolution: "STATIC" }).filter(([s]) => s === "error")).toEqual([
      ["error", "spec.addresses[0]"],
      ["error", "spec.addresses[1]"],
      ["error", "spec.addresses[2]"],
    ]);
    expect(issues({ hosts: ["a.example.com"], addresses: ["10.20.0.0/16"], ports: tls, resolution: "DNS" })).toEqual([
      ["error", "spec.addresses[0]", 'CIDR address "10.20.0.0/16" cannot be used with resolution DNS'],
    ]);
  });

  it("rejects duplicate port names and numbers, invalid names and unknown protocols", () => {
    expect(
      issues({
        hosts: ["a.example.com"],
        ports: [
          { number: 80, name: "http", protocol: "HTTP" },
          { number: 80, name: "http", protocol: "http" },
          { number: 9090, name: "grpc_api", protocol: "HTTPX" },
        ],
      }),
    ).toEqual([
      ["error", "spec.ports[1].name", 'port name "http" is already used by ports[0]'],
      ["error", "spec.ports[1].number", "port 80 is already defined by ports[0]"],
      ["error", "spec.ports[2].name", 'port name "grpc_api" is not a DNS label'],
      ["error", "spec.ports[2].protocol", '"HTTPX" is not a protocol Istio knows'],
    ]);
  });

  it("accepts protocols in any case, as Istio does", () => {
    expect(issues({ hosts: ["a.example.com"], ports: [{ number: 80, name: "http", protocol: "http" }, { number: 81, name: "grpc-web", protocol: "grpc-web" }] })).toEqual([]);
  });

  it("warns that targetPort does nothing with resolution NONE", () => {
    expect(where({ hosts: ["a.example.com"], ports: [{ number: 80, name: "http", protocol: "HTTP", targetPort: 8080 }] })).toEqual([["warning", "spec.ports[0].targetPort"]]);
  });
});

describe("checkServiceEntry: resolution and endpoints", () => {
  it("rejects endpoints with resolution NONE", () => {
    expect(where({ hosts: ["a.example.com"], ports: tls, endpoints: [{ address: "203.0.113.10" }] })).toEqual([["error", "spec.endpoints"]]);
  });

  it("requires IP (or unix://) endpoints with STATIC, and ports declared by the service", () => {
    expect(
      issues({
        hosts: ["vms.example.internal"],
        location: "MESH_INTERNAL",
        ports: http,
        resolution: "STATIC",
        endpoints: [{ address: "vm1.example.internal" }, { address: "10.0.0.7", ports: { grpc: 9090 } }],
      }),
    ).toEqual([
      ["error", "spec.endpoints[0].address", 'endpoint address "vm1.example.internal" is not an IP address'],
      ["error", "spec.endpoints[1].ports.grpc", 'endpoint port "grpc" (9090) is not a port of the service entry'],
    ]);
  });

  it("requires exactly one service port for a Unix socket endpoint", () => {
    expect(where({ hosts: ["u.local"], ports: [...http, ...tls], resolution: "STATIC", endpoints: [{ address: "unix:///var/run/s.sock" }] })).toEqual([
      ["error", "spec.endpoints[0].address"],
    ]);
  });

  it("warns about STATIC without endpoints or workloadSelector", () => {
    expect(where({ hosts: ["a.example.com"], ports: http, resolution: "STATIC" })).toEqual([["warning", "spec.resolution"]]);
  });

  it("accepts host name endpoints with DNS, but not Unix sockets or bad names", () => {
    expect(issues({ hosts: ["foo.bar.com"], ports: http, resolution: "DNS", endpoints: [{ address: "us.foo.bar.com", ports: { http: 8080 } }, { address: "10.0.0.1" }] })).toEqual([]);
    expect(where({ hosts: ["foo.bar.com"], ports: http, resolution: "DNS", endpoints: [{ address: "unix:///s.sock" }, { address: "bad_name.example.com" }] })).toEqual([
      ["error", "spec.endpoints[0].address"],
      ["error", "spec.endpoints[1].address"],
    ]);
  });

  it("allows at most one endpoint with DNS_ROUND_ROBIN", () => {
    expect(issues({ hosts: ["a.example.com"], ports: tls, resolution: "DNS_ROUND_ROBIN", endpoints: [{ address: "a1.example.com" }, { address: "a2.example.com" }] })).toEqual([
      ["error", "spec.endpoints", "resolution DNS_ROUND_ROBIN allows at most one endpoint, found 2"],
    ]);
  });

  it("requires wildcard hosts and MESH_EXTERNAL with DYNAMIC_DNS", () => {
    expect(issues({ hosts: ["*.googleapis.com"], ports: tls, resolution: "DYNAMIC_DNS" })).toEqual([]);
    expect(where({ hosts: ["api.example.com"], location: "MESH_INTERNAL", ports: tls, resolution: "DYNAMIC_DNS" })).toEqual([
      ["error", "spec.hosts[0]"],
      ["error", "spec.location"],
    ]);
  });
});

describe("checkServiceEntry: workloadSelector and exportTo", () => {
  it("accepts the details VM migration example", () => {
    expect(issues({ hosts: ["details.bookinfo.com"], location: "MESH_INTERNAL", ports: http, resolution: "STATIC", workloadSelector: { labels: { app: "details" } } })).toEqual([]);
  });

  it("warns about a selector with DNS resolution, without labels, or on a MESH_EXTERNAL service", () => {
    expect(where({ hosts: ["details.bookinfo.com"], location: "MESH_INTERNAL", ports: http, resolution: "DNS", workloadSelector: { labels: { app: "details" } } })).toEqual([
      ["warning", "spec.workloadSelector"],
    ]);
    expect(where({ hosts: ["details.bookinfo.com"], location: "MESH_INTERNAL", ports: http, resolution: "STATIC", workloadSelector: {} })).toEqual([["warning", "spec.workloadSelector"]]);
    expect(issues({ hosts: ["details.bookinfo.com"], ports: http, resolution: "STATIC", workloadSelector: { labels: { app: "details" } } })).toEqual([
      ["warning", "spec.workloadSelector", "workloadSelector selects mesh workloads, but location is MESH_EXTERNAL (the default)"],
    ]);
  });

  it("rejects wildcards in selector labels", () => {
    expect(where({ hosts: ["d.example.com"], location: "MESH_INTERNAL", ports: http, resolution: "STATIC", workloadSelector: { labels: { app: "details-*" } } })).toEqual([
      ["error", "spec.workloadSelector.labels.app"],
    ]);
  });

  it("accepts ~ alone but not beside other namespaces", () => {
    expect(issues({ hosts: ["a.example.com"], ports: http, exportTo: ["~"] })).toEqual([]);
    expect(where({ hosts: ["a.example.com"], ports: http, exportTo: ["~", "prod"] })).toEqual([["error", "spec.exportTo[0]"]]);
  });
});

describe("testdata/cases with ServiceEntry resources", () => {
  const dir = join(import.meta.dirname, "../../testdata/cases");
  const files = readdirSync(dir).filter((f) => /^service-entry-.*\.yaml$/.test(f)).sort();

  it("has valid and invalid cases", () => {
    expect(files.filter((f) => f.includes("-invalid-")).length).toBeGreaterThan(2);
    expect(files.filter((f) => !f.includes("-invalid-")).length).toBeGreaterThan(2);
  });

  it.each(files)("%s", (file) => {
    const documents = jsYaml.loadAll(readFileSync(join(dir, file), "utf8")) as { kind?: string; metadata?: { name?: string; namespace?: string }; spec?: unknown }[];
    const entries = documents.filter((d) => d.kind === "ServiceEntry");
    expect(entries.length).toBeGreaterThan(0);
    for (const doc of entries) {
      const { problems, decoded } = checkValue(ServiceEntrySpec, doc.spec ?? {}, ["spec"]);
      const errors = [
        ...problems.map((p) => `${p.name} ${formatPath(p.path)}`),
        ...(problems.length > 0 ? [] : checkServiceEntry(decoded as ServiceEntrySpec, { namespace: doc.metadata?.namespace, name: doc.metadata?.name ?? "" }))
          .filter((i) => (i.severity ?? "error") === "error")
          .map((i) => `${formatPath(i.path)}: ${i.message}`),
      ];
      if (file.includes("-invalid-")) expect(errors, `${doc.metadata?.name} should be rejected`).not.toEqual([]);
      else expect(errors, `${doc.metadata?.name} should be accepted`).toEqual([]);
    }
  });
});
