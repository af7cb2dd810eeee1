import { describe, expect, it } from "vitest";
import { authorize, isLoopback } from "./admin-api.ts";
import type { AdminApiRequest } from "./admin-server.ts";

const request = (remoteAddress: string, authorization?: string): AdminApiRequest => ({
  method: "GET",
  path: "/v1/ca/status",
  headers: authorization === undefined ? {} : { authorization },
  remoteAddress,
  body: "",
});

describe("admin API authorization", () => {
  it("knows loopback addresses, IPv4-mapped ones included", () => {
    expect(["127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"].map(isLoopback)).toEqual([true, true, true, true]);
    expect(["10.0.0.5", "::ffff:10.0.0.5", "fe80::1", "", "128.0.0.1"].map(isLoopback)).toEqual([false, false, false, false, false]);
  });

  it("answers loopback peers only unless remote access is allowed (403 naming the flags)", () => {
    expect(authorize(request("127.0.0.1"), { token: undefined, allowRemote: false })).toBeUndefined();
    const remote = authorize(request("10.0.0.5"), { token: undefined, allowRemote: false });
    expect(remote?.status).toBe(403);
    expect(JSON.stringify(remote?.body)).toContain("loopback clients only, not 10.0.0.5");
    expect(JSON.stringify(remote?.body)).toContain("--admin-allow-remote and --admin-token-file");
    expect(authorize(request("10.0.0.5", "Bearer t0k"), { token: "t0k", allowRemote: true })).toBeUndefined();
  });

  it("needs the bearer token when one is set: 401 without (with WWW-Authenticate), 403 when wrong", () => {
    const auth = { token: "t0k", allowRemote: false };
    expect(authorize(request("127.0.0.1"), auth)).toMatchObject({ status: 401, headers: { "www-authenticate": 'Bearer realm="meshwork-ca"' } });
    expect(authorize(request("127.0.0.1", "Basic dDBr"), auth)?.status).toBe(401);
    expect(authorize(request("127.0.0.1", "Bearer t0K"), auth)?.status).toBe(403);
    expect(authorize(request("127.0.0.1", "Bearer t0k0"), auth)?.status).toBe(403);
    expect(authorize(request("127.0.0.1", "bearer t0k"), auth)).toBeUndefined();
  });
});
