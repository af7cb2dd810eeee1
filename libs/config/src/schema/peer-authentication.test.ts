import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { PeerAuthenticationSpec } from "./peer-authentication.ts";

const check = (spec: unknown) => checkValue(PeerAuthenticationSpec, spec, ["spec"]);
const problems = (spec: unknown) => check(spec).problems.map((p) => [p.name, formatPath(p.path), p.hint]);

describe("PeerAuthenticationSpec", () => {
  it("decodes the mesh-wide STRICT policy from Istio's docs", () => {
    const { problems, decoded } = check({ mtls: { mode: "STRICT" } });
    expect(problems).toEqual([]);
    expect(decoded).toEqual({ mtls: { mode: "STRICT" } });
  });

  it("decodes a workload policy with a port-level override keyed by the port as YAML gives it", () => {
    const spec = { selector: { matchLabels: { app: "example-app" } }, mtls: { mode: "STRICT" }, portLevelMtls: { "80": { mode: "DISABLE" } } };
    const { problems, decoded } = check(spec);
    expect(problems).toEqual([]);
    expect(decoded).toEqual(spec);
  });

  it("rejects a portLevelMtls key that is not a port number", () => {
    expect(check({ selector: { matchLabels: { app: "a" } }, portLevelMtls: { http: { mode: "DISABLE" } } }).problems).toMatchObject([
      { name: "InvalidValue", path: ["spec", "portLevelMtls", "http"], atKey: true },
    ]);
  });

  it("suggests the upper-case mode for a lower-case one", () => {
    expect(problems({ mtls: { mode: "strict" } })).toEqual([["InvalidValue", "spec.mtls.mode", "did you mean STRICT?"]]);
  });

  it("rejects a mode that Istio does not define", () => {
    expect(problems({ mtls: { mode: "ISTIO_MUTUAL" } })).toEqual([["InvalidValue", "spec.mtls.mode", undefined]]);
  });

  it("says a mode written directly under spec belongs under mtls", () => {
    expect(problems({ mode: "STRICT" })).toEqual([["UnknownField", "spec.mode", 'did you mean mtls.mode? (indent it under "mtls")']]);
  });

  it("suggests the field name for a miscapitalised one", () => {
    expect(problems({ mTLS: { mode: "STRICT" } })).toEqual([["UnknownField", "spec.mTLS", 'did you mean "mtls"?']]);
  });

  it("rejects a port-level mode given as a bare string", () => {
    expect(problems({ selector: { matchLabels: { app: "a" } }, portLevelMtls: { "8080": "DISABLE" } })).toEqual([
      ["WrongType", 'spec.portLevelMtls["8080"]', undefined],
    ]);
  });
});
