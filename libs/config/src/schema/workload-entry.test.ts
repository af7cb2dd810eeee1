import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { WorkloadEntrySpec } from "./workload-entry.ts";

const check = (spec: unknown) => checkValue(WorkloadEntrySpec, spec, ["spec"]);
const problems = (spec: unknown) => check(spec).problems.map((p) => [p.name, formatPath(p.path), p.hint]);

describe("WorkloadEntrySpec", () => {
  it("decodes the details VM of the ServiceEntry reference and every other field unchanged", () => {
    const spec = {
      serviceAccount: "details",
      address: "2.2.2.2",
      labels: { app: "details", "instance-id": "vm1" },
      ports: { http: 9080 },
      network: "vm-network",
      locality: "us-east-1/us-east-1a/rack-11",
      weight: 10,
    };
    const { problems, decoded } = check(spec);
    expect(problems).toEqual([]);
    expect(decoded).toEqual(spec);
  });

  it("suggests serviceAccount for a misspelling", () => {
    expect(problems({ address: "1.1.1.1", serviceaccount: "details" })).toEqual([["UnknownField", "spec.serviceaccount", 'did you mean "serviceAccount"?']]);
  });

  it("rejects ports outside 1..65535 and a negative weight", () => {
    expect(problems({ address: "1.1.1.1", ports: { http: 0, grpc: 70000 }, weight: -1 }).map(([n, p]) => [n, p])).toEqual([
      ["InvalidValue", "spec.ports.http"],
      ["InvalidValue", "spec.ports.grpc"],
      ["InvalidValue", "spec.weight"],
    ]);
  });

  it("rejects labels that are not strings", () => {
    expect(problems({ address: "1.1.1.1", labels: { version: 2 } }).map(([n, p]) => [n, p])).toEqual([["WrongType", "spec.labels.version"]]);
  });
});
