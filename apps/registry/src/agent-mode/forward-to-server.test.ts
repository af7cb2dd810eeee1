import { describe, expect, it } from "vitest";
import { blockingSlackMs, forwardDeadlineMs, forwardTimeoutMs, forwardedRequestHeaders, returnedResponseHeaders } from "./forward-to-server.ts";

describe("forwardDeadlineMs", () => {
  it("gives a blocking query its wait, the server's jitter (wait/16) and slack; anything else the plain timeout", () => {
    expect(forwardDeadlineMs(new URLSearchParams(""))).toBe(forwardTimeoutMs);
    expect(forwardDeadlineMs(new URLSearchParams("index=0&wait=10m"))).toBe(forwardTimeoutMs);
    expect(forwardDeadlineMs(new URLSearchParams("index=42&wait=32s"))).toBe(32_000 + 2_000 + blockingSlackMs);
    // No ?wait: Consul's default of 5 minutes.
    expect(forwardDeadlineMs(new URLSearchParams("index=42"))).toBe(300_000 + 18_750 + blockingSlackMs);
    // Consul caps the wait at 10 minutes; so does the server, so the agent waits no longer either.
    expect(forwardDeadlineMs(new URLSearchParams("index=42&wait=1h"))).toBe(600_000 + 37_500 + blockingSlackMs);
    // A bad ?wait is the server's to refuse (at once), not the agent's.
    expect(forwardDeadlineMs(new URLSearchParams("index=42&wait=soon"))).toBe(forwardTimeoutMs);
  });
});

describe("the forwarded headers", () => {
  it("sends the token, credentials and body type, with the body's length, and nothing hop-by-hop", () => {
    expect(
      forwardedRequestHeaders({ "content-type": "application/json", "x-consul-token": "t", authorization: "Bearer t", connection: "keep-alive", host: "127.0.0.1:8500", "content-length": "99", cookie: "a=b" }, 12),
    ).toEqual({ "content-type": "application/json", "x-consul-token": "t", authorization: "Bearer t", "content-length": 12 });
  });

  it("returns the Consul headers and the body's type and length", () => {
    expect(
      returnedResponseHeaders({
        "content-type": "application/json",
        "content-length": "2",
        "x-consul-index": "7",
        "x-consul-knownleader": "true",
        "x-consul-lastcontact": "0",
        "x-consul-effective-consistency": "leader",
        "x-consul-default-acl-policy": "allow",
        "keep-alive": "timeout=120",
        connection: "keep-alive",
        date: "now",
      }),
    ).toEqual({
      "content-type": "application/json",
      "content-length": "2",
      "x-consul-index": "7",
      "x-consul-knownleader": "true",
      "x-consul-lastcontact": "0",
      "x-consul-effective-consistency": "leader",
      "x-consul-default-acl-policy": "allow",
    });
  });
});
