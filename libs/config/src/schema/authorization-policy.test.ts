import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { AuthorizationPolicySpec } from "./authorization-policy.ts";

const check = (spec: unknown) => checkValue(AuthorizationPolicySpec, spec, ["spec"]);
const problems = (spec: unknown) => check(spec).problems.map((p) => [p.name, formatPath(p.path), p.hint]);

describe("AuthorizationPolicySpec", () => {
  it("decodes the allow-nothing policy (spec: {}) with the documented default action ALLOW", () => {
    const { problems, decoded } = check({});
    expect(problems).toEqual([]);
    expect(decoded).toEqual({ action: "ALLOW" });
  });

  it("decodes the httpbin example from Istio's reference", () => {
    const spec = {
      action: "ALLOW",
      rules: [
        {
          from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }, { source: { namespaces: ["test"] } }],
          to: [{ operation: { methods: ["GET"], paths: ["/info*"] } }, { operation: { methods: ["POST"], paths: ["/data"] } }],
          when: [{ key: "request.auth.claims[iss]", values: ["https://accounts.google.com"] }],
        },
      ],
    };
    const { problems, decoded } = check(spec);
    expect(problems).toEqual([]);
    expect(decoded).toEqual(spec);
  });

  it("decodes every Source and Operation field", () => {
    const source = {
      principals: ["a"], notPrincipals: ["b"], requestPrincipals: ["iss/sub"], notRequestPrincipals: ["*"],
      namespaces: ["n"], notNamespaces: ["m"], ipBlocks: ["10.0.0.0/8"], notIpBlocks: ["10.1.2.3"],
      remoteIpBlocks: ["203.0.113.0/24"], notRemoteIpBlocks: ["203.0.113.4"],
    };
    const operation = { hosts: ["*.example.com"], notHosts: ["admin.example.com"], ports: ["8080"], notPorts: ["9090"], methods: ["GET"], notMethods: ["DELETE"], paths: ["/api/*"], notPaths: ["/api/admin*"] };
    const spec = { action: "DENY", rules: [{ from: [{ source }, { source: { serviceAccounts: ["default/sleep"], notServiceAccounts: ["bad"] } }], to: [{ operation }], when: [{ key: "source.ip", notValues: ["10.0.0.1"] }] }] };
    expect(check(spec)).toEqual({ problems: [], decoded: spec });
  });

  it("decodes a CUSTOM policy with its provider", () => {
    const spec = { action: "CUSTOM", provider: { name: "my-custom-authz" }, rules: [{ to: [{ operation: { paths: ["/admin/*"] } }] }] };
    expect(check(spec)).toEqual({ problems: [], decoded: spec });
  });

  it("suggests the upper-case action for a lower-case one", () => {
    expect(problems({ action: "deny" })).toEqual([["InvalidValue", "spec.action", "did you mean DENY?"]]);
  });

  it("suggests principals for principal", () => {
    expect(problems({ rules: [{ from: [{ source: { principal: ["a"] } }] }] })).toEqual([
      ["UnknownField", "spec.rules[0].from[0].source.principal", 'did you mean "principals"?'],
    ]);
  });

  it("says a source field written directly in a from entry belongs under source", () => {
    expect(problems({ rules: [{ from: [{ namespaces: ["dev"] }] }] })).toEqual([
      ["UnknownField", "spec.rules[0].from[0].namespaces", 'did you mean source.namespaces? (indent it under "source")'],
    ]);
  });

  it("asks to quote a port written as a number", () => {
    expect(problems({ rules: [{ to: [{ operation: { ports: [8080] } }] }] })).toEqual([
      ["WrongType", "spec.rules[0].to[0].operation.ports[0]", 'quote it: "8080"'],
    ]);
  });

  it("requires the key of a condition", () => {
    expect(problems({ rules: [{ when: [{ values: ["a"] }] }] })).toEqual([["MissingField", "spec.rules[0].when[0].key", undefined]]);
  });

  it("limits serviceAccounts to 16 names of at most 320 characters", () => {
    const long = "a".repeat(321);
    const many = Array.from({ length: 17 }, (_, i) => `sa${i}`);
    expect(problems({ rules: [{ from: [{ source: { serviceAccounts: [long] } }, { source: { notServiceAccounts: many } }] }] })).toEqual([
      ["InvalidValue", "spec.rules[0].from[0].source.serviceAccounts[0]", undefined],
      ["InvalidValue", "spec.rules[0].from[1].source.notServiceAccounts", undefined],
    ]);
  });

  it("rejects a provider given as a bare name", () => {
    expect(problems({ action: "CUSTOM", provider: "my-custom-authz" })).toEqual([["WrongType", "spec.provider", undefined]]);
  });
});
