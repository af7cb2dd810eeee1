import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { ServiceEntrySpec } from "./service-entry.ts";

const check = (spec: unknown) => checkValue(ServiceEntrySpec, spec, ["spec"]);
const problems = (spec: unknown) => check(spec).problems.map((p) => [p.name, formatPath(p.path), p.hint]);

describe("ServiceEntrySpec", () => {
  it("decodes the external HTTPS APIs example of the reference unchanged", () => {
    const spec = {
      hosts: ["api.dropboxapi.com", "www.googleapis.com", "api.facebook.com"],
      location: "MESH_EXTERNAL",
      ports: [{ number: 443, name: "https", protocol: "TLS" }],
      resolution: "DNS",
    };
    const { problems, decoded } = check(spec);
    expect(problems).toEqual([]);
    expect(decoded).toEqual(spec);
  });

  it("decodes endpoints (WorkloadEntry shape), exportTo and subjectAltNames", () => {
    const spec = {
      hosts: ["example.com"],
      exportTo: ["."],
      location: "MESH_INTERNAL",
      ports: [{ number: 80, name: "http", protocol: "HTTP", targetPort: 8080 }],
      resolution: "STATIC",
      endpoints: [{ address: "2.2.2.2", ports: { http: 8080 }, labels: { version: "v1" }, network: "n1", locality: "us-east-1/a", weight: 2, serviceAccount: "sa" }],
      subjectAltNames: ["spiffe://cluster.local/ns/httpbin-ns/sa/httpbin-service-account"],
    };
    const { problems, decoded } = check(spec);
    expect(problems).toEqual([]);
    expect(decoded).toEqual(spec);
  });

  it("selects workloads by `labels` (networking WorkloadSelector), not matchLabels", () => {
    expect(check({ hosts: ["details.bookinfo.com"], workloadSelector: { labels: { app: "details" } } }).problems).toEqual([]);
    expect(problems({ hosts: ["a.example.com"], workloadSelector: { matchLabels: { app: "details" } } })).toEqual([
      ["UnknownField", "spec.workloadSelector.matchLabels", "valid fields here: labels"],
    ]);
  });

  it("rejects endpoints together with workloadSelector", () => {
    expect(problems({ hosts: ["a.example.com"], endpoints: [{ address: "1.1.1.1" }], workloadSelector: { labels: { app: "a" } } })).toEqual([
      ["ExclusiveFields", "spec.workloadSelector", "keep one of endpoints, workloadSelector"],
    ]);
  });

  it("requires at least one host and a port name and number", () => {
    expect(problems({ hosts: [], ports: [{ protocol: "HTTP" }] }).map(([n, p]) => [n, p])).toEqual([
      ["InvalidValue", "spec.hosts"],
      ["MissingField", "spec.ports[0].number"],
      ["MissingField", "spec.ports[0].name"],
    ]);
    expect(problems({ ports: [] }).map(([n, p]) => [n, p])).toEqual([["MissingField", "spec.hosts"]]);
  });

  it("suggests the resolution and location spelled in upper case", () => {
    expect(problems({ hosts: ["a.example.com"], resolution: "dns", location: "MESH_EXTENAL" })).toEqual([
      ["InvalidValue", "spec.resolution", "did you mean DNS?"],
      ["InvalidValue", "spec.location", "did you mean MESH_EXTERNAL?"],
    ]);
  });

  it("rejects a port number written as a string and port 0", () => {
    expect(problems({ hosts: ["a.example.com"], ports: [{ number: "80", name: "http" }, { number: 0, name: "tcp" }] })).toEqual([
      ["WrongType", "spec.ports[0].number", "remove the quotes: 80"],
      ["InvalidValue", "spec.ports[1].number", undefined],
    ]);
  });

  it("accepts DYNAMIC_DNS, the newest resolution mode", () => {
    expect(check({ hosts: ["*.googleapis.com"], resolution: "DYNAMIC_DNS" }).problems).toEqual([]);
  });
});
