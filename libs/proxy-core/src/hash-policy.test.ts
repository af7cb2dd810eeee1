import { describe, expect, it } from "vitest";
import { compileHashPolicy, cookieValue, requestHash } from "./hash-policy.ts";
import { hashString } from "./hash-string.ts";

const input = { headers: { "x-user": "ann", cookie: "a=1; session=s-9; b=2" }, query: "id=7&x=1", sourceIp: "10.1.2.3" };

describe("compileHashPolicy / requestHash", () => {
  it("hashes the key DestinationRule consistentHash names: header, cookie, source IP, query parameter", () => {
    expect(requestHash(compileHashPolicy({ httpHeaderName: "X-User" }) ?? fail(), input)).toBe(hashString("ann"));
    expect(requestHash(compileHashPolicy({ httpCookie: { name: "session" } }) ?? fail(), input)).toBe(hashString("s-9"));
    expect(requestHash(compileHashPolicy({ useSourceIp: true }) ?? fail(), input)).toBe(hashString("10.1.2.3"));
    expect(requestHash(compileHashPolicy({ httpQueryParameterName: "id" }) ?? fail(), input)).toBe(hashString("7"));
  });

  it("gives no hash when the key is absent, so the balancer picks at random", () => {
    expect(requestHash({ type: "header", name: "x-none" }, input)).toBeUndefined();
    expect(requestHash({ type: "cookie", name: "none" }, input)).toBeUndefined();
    expect(compileHashPolicy({})).toBeUndefined();
  });

  it("reads cookies by exact name", () => {
    expect(cookieValue("ab=1; b=2", "b")).toBe("2");
    expect(cookieValue(undefined, "b")).toBeUndefined();
  });
});

function fail(): never {
  throw new Error("expected a hash policy");
}
