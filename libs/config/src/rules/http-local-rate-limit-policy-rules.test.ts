import { describe, expect, it } from "vitest";
import { checkValue, formatPath } from "../check-value.ts";
import { HTTPLocalRateLimitPolicySpec } from "../schema/http-local-rate-limit-policy.ts";
import { checkHTTPLocalRateLimitPolicy } from "./http-local-rate-limit-policy-rules.ts";

/** Runs the schema (which must pass) and then the rule: [severity, path, message, hint]. */
function issues(spec: unknown): [string, string, string, string | undefined][] {
  const { problems, decoded } = checkValue(HTTPLocalRateLimitPolicySpec, spec, ["spec"]);
  expect(problems).toEqual([]);
  return checkHTTPLocalRateLimitPolicy(decoded as HTTPLocalRateLimitPolicySpec, { namespace: "emojivoto", name: "web-rl" }).map((i) => [
    i.severity ?? "error",
    formatPath(i.path),
    i.message,
    i.hint,
  ]);
}
const where = (spec: unknown) => issues(spec).map(([s, p]) => `${s} ${p}`);

const targetRef = { workloadSelector: { matchLabels: { app: "web" } } };
const sa = (name: string, namespace?: string) => ({ kind: "ServiceAccount", name, ...(namespace !== undefined ? { namespace } : {}) });

describe("checkHTTPLocalRateLimitPolicy", () => {
  it("accepts Linkerd's example and a route-scoped total", () => {
    expect(
      issues({
        targetRef,
        total: { requestsPerSecond: 100 },
        identity: { requestsPerSecond: 20 },
        overrides: [{ requestsPerSecond: 25, clientRefs: [sa("special-client", "emojivoto")] }],
      }),
    ).toEqual([]);
    expect(issues({ targetRef: { port: 8080 }, routes: ["vote"], total: { requestsPerSecond: 5, burst: 1 } })).toEqual([]);
  });

  it("rejects a policy that limits nothing, saying what to set", () => {
    expect(issues({ targetRef })).toEqual([
      [
        "error",
        "spec.total",
        "the policy limits nothing: total, identity and overrides are all unset",
        "set total.requestsPerSecond (all clients together), identity.requestsPerSecond (each client) or overrides",
      ],
    ]);
  });

  it("rejects identity and override limits above the total, as Linkerd does", () => {
    expect(
      issues({
        targetRef,
        total: { requestsPerSecond: 100 },
        identity: { requestsPerSecond: 200 },
        overrides: [{ requestsPerSecond: 100, clientRefs: [sa("a")] }, { requestsPerSecond: 101, clientRefs: [sa("b")] }],
      }),
    ).toEqual([
      ["error", "spec.identity.requestsPerSecond", "identity requestsPerSecond 200 is greater than total.requestsPerSecond 100, so it could never be reached", "lower it to at most 100, or raise total.requestsPerSecond"],
      ["error", "spec.overrides[1].requestsPerSecond", "overrides[1] requestsPerSecond 101 is greater than total.requestsPerSecond 100, so it could never be reached", "lower it to at most 100, or raise total.requestsPerSecond"],
    ]);
    // Without a total there is nothing to exceed.
    expect(issues({ targetRef, identity: { requestsPerSecond: 200 } })).toEqual([]);
  });

  it("accepts only ServiceAccount clients in the core group", () => {
    expect(issues({ targetRef, overrides: [{ requestsPerSecond: 5, clientRefs: [{ kind: "Deployment", name: "web" }] }] })).toEqual([
      ["error", "spec.overrides[0].clientRefs[0].kind", 'clientRefs kind "Deployment" is not supported; only ServiceAccount is', "name the client's ServiceAccount: kind: ServiceAccount, name: <its service account>"],
    ]);
    expect(issues({ targetRef, overrides: [{ requestsPerSecond: 5, clientRefs: [{ kind: "serviceaccount", name: "web" }] }] })[0]?.[3]).toBe("write kind: ServiceAccount");
    expect(where({ targetRef, overrides: [{ requestsPerSecond: 5, clientRefs: [{ ...sa("web"), group: "apps" }, { ...sa("api"), group: "core" }] }] })).toEqual([
      "error spec.overrides[0].clientRefs[0].group",
    ]);
  });

  it("rejects malformed ServiceAccount and namespace names", () => {
    expect(where({ targetRef, overrides: [{ requestsPerSecond: 5, clientRefs: [sa("Web_1"), sa(""), sa("ok", "Bad_NS"), sa("ok2", "")] }] })).toEqual([
      "error spec.overrides[0].clientRefs[0].name",
      "error spec.overrides[0].clientRefs[1].name",
      "error spec.overrides[0].clientRefs[2].namespace",
    ]);
  });

  it("rejects a client named by two overrides and warns about one named twice in an override", () => {
    expect(
      issues({
        targetRef,
        overrides: [
          { requestsPerSecond: 5, clientRefs: [sa("a"), sa("a", "emojivoto")] },
          { requestsPerSecond: 9, clientRefs: [sa("a", "emojivoto"), sa("a", "other")] },
        ],
      }).map(([s, p, m]) => [s, p, m]),
    ).toEqual([
      ["warning", "spec.overrides[0].clientRefs[1]", 'ServiceAccount "emojivoto/a" is already listed at clientRefs[0]'],
      ["error", "spec.overrides[1].clientRefs[0]", 'ServiceAccount "emojivoto/a" is already limited by overrides[0]'],
    ]);
  });

  it("rejects an empty routes list and warns about duplicate routes", () => {
    expect(where({ targetRef, routes: [], total: { requestsPerSecond: 1 } })).toEqual(["error spec.routes"]);
    expect(where({ targetRef, routes: ["a", "b", "a"], total: { requestsPerSecond: 1 } })).toEqual(["warning spec.routes[2]"]);
  });

  it("warns about a workload selector without labels and rejects wildcards", () => {
    expect(where({ targetRef: { workloadSelector: {} }, total: { requestsPerSecond: 1 } })).toEqual(["warning spec.targetRef.workloadSelector"]);
    expect(where({ targetRef: { workloadSelector: { matchLabels: { app: "web*" } } }, total: { requestsPerSecond: 1 } })).toEqual([
      "error spec.targetRef.workloadSelector.matchLabels.app",
    ]);
  });
});
