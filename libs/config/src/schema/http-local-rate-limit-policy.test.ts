import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { HTTPLocalRateLimitPolicySpec } from "./http-local-rate-limit-policy.ts";

const check = (spec: unknown) => checkValue(HTTPLocalRateLimitPolicySpec, spec, ["spec"]);
const problems = (spec: unknown) => check(spec).problems.map((p) => [p.name, formatPath(p.path), p.message, p.hint]);
const target = { workloadSelector: { matchLabels: { app: "web" } } };

describe("HTTPLocalRateLimitPolicySpec", () => {
  it("decodes Linkerd's example (total 100, 20 per identity, 25 for one ServiceAccount) with a label target", () => {
    const spec = {
      targetRef: { ...target, port: 8080 },
      total: { requestsPerSecond: 100 },
      identity: { requestsPerSecond: 20 },
      overrides: [{ requestsPerSecond: 25, clientRefs: [{ kind: "ServiceAccount", namespace: "emojivoto", name: "special-client" }] }],
    };
    const { problems, decoded } = check(spec);
    expect(problems).toEqual([]);
    expect(decoded).toEqual(spec);
  });

  it("decodes route scope and burst", () => {
    const spec = { targetRef: target, routes: ["reviews-v2"], total: { requestsPerSecond: 10, burst: 50 } };
    expect(check(spec)).toEqual({ problems: [], decoded: spec });
  });

  it("says requestsPerSecond must be a positive whole number", () => {
    const hint = "requestsPerSecond must be a positive whole number, e.g. 100; to not limit, remove the limit";
    expect(problems({ targetRef: target, total: { requestsPerSecond: 0 } })).toEqual([["InvalidValue", "spec.total.requestsPerSecond", "0 is below the minimum 1", hint]]);
    expect(problems({ targetRef: target, identity: { requestsPerSecond: 2.5 } })).toEqual([["WrongType", "spec.identity.requestsPerSecond", "expected an integer, got 2.5", hint]]);
    expect(problems({ targetRef: target, total: { requestsPerSecond: "many" } })).toEqual([["WrongType", "spec.total.requestsPerSecond", 'expected an integer, got the string "many"', hint]]);
    expect(problems({ targetRef: target, total: { requestsPerSecond: "10" } })[0]?.[3]).toBe("remove the quotes: 10");
    expect(problems({ targetRef: target, total: {} })).toEqual([["MissingField", "spec.total.requestsPerSecond", 'required field "requestsPerSecond" is missing', hint]]);
  });

  it("rejects a burst below 1 with its fix", () => {
    expect(problems({ targetRef: target, total: { requestsPerSecond: 5, burst: 0 } })[0]?.[3]).toMatch(/^burst must be a positive whole number/);
  });

  it("rejects an override without clientRefs, naming the field and the fix", () => {
    const hint = "list the clients the override is for: clientRefs: [{kind: ServiceAccount, name: <service account>}]";
    expect(problems({ targetRef: target, overrides: [{ requestsPerSecond: 5 }] })).toEqual([
      ["MissingField", "spec.overrides[0].clientRefs", 'required field "clientRefs" is missing', hint],
    ]);
    expect(problems({ targetRef: target, overrides: [{ requestsPerSecond: 5, clientRefs: [] }] })).toEqual([
      ["InvalidValue", "spec.overrides[0].clientRefs", "needs at least 1 item, has 0", hint],
    ]);
  });

  it("requires targetRef and says how to write it", () => {
    expect(problems({ total: { requestsPerSecond: 5 } })).toEqual([
      ["MissingField", "spec.targetRef", 'required field "targetRef" is missing', "say which workloads to limit, e.g. targetRef: {workloadSelector: {matchLabels: {app: web}}, port: 8080}"],
    ]);
  });

  it("suggests workloadSelector for Istio's `selector` and rejects Linkerd's Server reference fields", () => {
    expect(problems({ targetRef: { selector: { matchLabels: { app: "web" } } }, total: { requestsPerSecond: 5 } })[0]?.[0]).toBe("UnknownField");
    expect(problems({ targetRef: { kind: "Server", name: "web-http" }, total: { requestsPerSecond: 5 } }).map((p) => p[1])).toEqual([
      "spec.targetRef.kind",
      "spec.targetRef.name",
    ]);
  });

  it("rejects port 0 and empty route names", () => {
    expect(problems({ targetRef: { port: 0 }, total: { requestsPerSecond: 1 } }).map((p) => p[1])).toEqual(["spec.targetRef.port"]);
    expect(problems({ targetRef: target, routes: [""], total: { requestsPerSecond: 1 } }).map((p) => [p[1], p[2]])).toEqual([["spec.routes[0]", "must not be empty"]]);
  });
});
