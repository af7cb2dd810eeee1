import { describe, expect, it } from "vitest";
import { resolveUpstreamTarget, upstreamRequestLine, type UpstreamTargetOptions } from "./upstream-target.ts";

const none: UpstreamTargetOptions = { directUrl: undefined, proxyUrl: undefined, style: "absolute", servicesDomain: undefined };

function lineFor(options: Partial<UpstreamTargetOptions>) {
  const result = resolveUpstreamTarget("reviews", { ...none, ...options });
  if (!result.ok) throw new Error(result.message);
  return upstreamRequestLine(result.target, "/reviews/0");
}

describe("resolveUpstreamTarget and upstreamRequestLine", () => {
  it("without proxy or URL call the service by name on 9080, as Istio's sample", () => {
    expect(lineFor({})).toEqual({ host: "reviews", port: 9080, requestTarget: "/reviews/0", hostHeader: "reviews:9080" });
  });

  it("through the proxy send an absolute-form target, or origin-form with Host", () => {
    expect(lineFor({ proxyUrl: "http://127.0.0.1:15001" })).toEqual({ host: "127.0.0.1", port: 15001, requestTarget: "http://reviews:9080/reviews/0", hostHeader: "reviews:9080" });
    expect(lineFor({ proxyUrl: "http://127.0.0.1:15001", style: "host", servicesDomain: "default.svc.cluster.local" })).toEqual({
      host: "127.0.0.1",
      port: 15001,
      requestTarget: "/reviews/0",
      hostHeader: "reviews.default.svc.cluster.local:9080",
    });
  });

  it("prefer a direct URL over the proxy, keeping its path prefix", () => {
    expect(lineFor({ proxyUrl: "http://127.0.0.1:15001", directUrl: "http://[::1]:9082/base/" })).toEqual({ host: "::1", port: 9082, requestTarget: "/base/reviews/0", hostHeader: "[::1]:9082" });
  });

  it("name the flag of a URL that is not http://", () => {
    expect(resolveUpstreamTarget("ratings", { ...none, directUrl: "127.0.0.1:9083" })).toEqual({ ok: false, message: 'invalid value "127.0.0.1:9083" for --ratings-url: expected an http:// URL such as http://127.0.0.1:9080' });
    expect(resolveUpstreamTarget("ratings", { ...none, proxyUrl: "https://p" })).toMatchObject({ ok: false, message: expect.stringContaining("--outbound-proxy") });
  });
});
