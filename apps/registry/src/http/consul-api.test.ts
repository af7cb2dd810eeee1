import { describe, expect, it } from "vitest";
import { NotLeaderError } from "../registry-contract.ts";
import { errorResponse, kvKeyOf, splitPath } from "./consul-api.ts";
import { HttpError } from "./http-error.ts";

const request = { method: "PUT", path: "kv/a", query: new URLSearchParams("cas=1"), body: new Uint8Array(), signal: new AbortController().signal };

describe("paths", () => {
  it("keeps the slashes of a KV key and decodes escapes", () => {
    expect(kvKeyOf("kv/a/b/")).toBe("a/b/");
    expect(kvKeyOf("kv/a%20b%2Fc")).toBe("a b/c");
    expect(kvKeyOf("kv")).toBe("");
    expect(() => kvKeyOf("kv/a%0Ab")).toThrow(/control characters/);
    expect(() => kvKeyOf("kv/%E0%A4%A")).toThrow(/percent-encoding/);
  });
  it("splits other paths into decoded segments", () => {
    expect(splitPath("health/service/my%20svc")).toEqual(["health", "service", "my svc"]);
  });
});

describe("errorResponse", () => {
  it("maps bad input, no leader, an unreachable leader and the rest", () => {
    expect(errorResponse(new HttpError(400, "Invalid ?wait"), request)).toMatchObject({ status: 400, body: "Invalid ?wait" });
    expect(errorResponse(new NotLeaderError(""), request)).toMatchObject({ status: 500, body: "No cluster leader" });
    expect(errorResponse(new NotLeaderError("10.0.0.2:8500"), request)).toMatchObject({ status: 307, headers: { location: "http://10.0.0.2:8500/v1/kv/a?cas=1" } });
    expect(errorResponse(new Error("disk full"), request)).toMatchObject({ status: 500, body: "disk full" });
  });
});
