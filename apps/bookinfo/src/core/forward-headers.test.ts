import { describe, expect, it } from "vitest";
import { FORWARDED_HEADERS, pickForwardHeaders } from "./forward-headers.ts";

describe("pickForwardHeaders", () => {
  it("keeps exactly Istio's trace, session and user headers", () => {
    const incoming = { ...Object.fromEntries(FORWARDED_HEADERS.map((name) => [name, name])), host: "productpage:9080", "content-length": "0", "x-forwarded-for": "1.2.3.4" };
    expect(pickForwardHeaders(incoming, { type: "header" })).toEqual(Object.fromEntries(FORWARDED_HEADERS.map((name) => [name, name])));
  });

  it("includes W3C, B3 single and multi, Datadog, Lightstep and x-request-id", () => {
    for (const name of ["x-request-id", "traceparent", "tracestate", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags", "x-ot-span-context", "x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority", "end-user", "user-agent", "cookie"]) {
      expect(FORWARDED_HEADERS).toContain(name);
    }
  });

  it("with a session, replaces any incoming end-user by the session's user, or drops it", () => {
    expect(pickForwardHeaders({ "end-user": "mallory", "x-request-id": "r" }, { type: "session", user: "jason" })).toEqual({ "end-user": "jason", "x-request-id": "r" });
    expect(pickForwardHeaders({ "end-user": "mallory" }, { type: "session", user: undefined })).toEqual({});
  });

  it("joins a repeated header", () => {
    expect(pickForwardHeaders({ tracestate: ["a=1", "b=2"] }, { type: "header" })).toEqual({ tracestate: "a=1, b=2" });
  });
});
