import { describe, expect, it } from "vitest";
import { chooseService, planService, type PlanInput } from "./plan-service.ts";

const input: PlanInput = {
  version: "v1",
  port: 9080,
  bind: "127.0.0.1",
  outboundProxy: undefined,
  outboundStyle: "absolute",
  servicesDomain: undefined,
  detailsUrl: undefined,
  reviewsUrl: undefined,
  ratingsUrl: undefined,
  upstreamTimeoutMs: undefined,
  podName: undefined,
  sessionSecret: "s",
};

describe("planService", () => {
  it("gives reviews Istio's deadline to ratings: 10 s for v2, 2.5 s for v3", () => {
    expect(planService("reviews", { ...input, version: "v2" }, "pod")).toMatchObject({ ok: true, config: { ratingsTimeoutMs: 10_000, podName: "pod" } });
    expect(planService("reviews", { ...input, version: "v3" }, "pod")).toMatchObject({ ok: true, config: { ratingsTimeoutMs: 2500 } });
  });

  it("gives productpage 3 s per call, and --upstream-timeout-ms overrides every deadline", () => {
    expect(planService("productpage", input, "pod")).toMatchObject({ ok: true, config: { timeoutMs: 3000 } });
    expect(planService("productpage", { ...input, upstreamTimeoutMs: 50 }, "pod")).toMatchObject({ ok: true, config: { timeoutMs: 50 } });
    expect(planService("reviews", { ...input, version: "v2", upstreamTimeoutMs: 50, podName: "mine" }, "pod")).toMatchObject({ ok: true, config: { ratingsTimeoutMs: 50, podName: "mine" } });
  });

  it("refuses a bad port or deadline, naming the flag", () => {
    expect(planService("details", { ...input, port: 70000 }, "pod")).toEqual({ ok: false, message: 'invalid value "70000" for --port: expected a port from 0 to 65535' });
    expect(planService("productpage", { ...input, upstreamTimeoutMs: 0 }, "pod")).toMatchObject({ ok: false, message: expect.stringContaining("--upstream-timeout-ms") });
  });
});

describe("chooseService", () => {
  it("takes one service or all", () => {
    expect(chooseService(["ratings"])).toEqual({ ok: true, services: "ratings" });
    expect(chooseService(["all"])).toEqual({ ok: true, services: "all" });
  });

  it("refuses none, an unknown one or two", () => {
    expect(chooseService([])).toMatchObject({ ok: false, message: expect.stringContaining("missing service") });
    expect(chooseService(["rating"])).toMatchObject({ ok: false, message: expect.stringContaining('unknown service "rating"') });
    expect(chooseService(["details", "reviews"])).toMatchObject({ ok: false, message: expect.stringContaining('unexpected argument "reviews"') });
  });
});
