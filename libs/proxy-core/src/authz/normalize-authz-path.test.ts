// The examples of https://istio.io/latest/docs/reference/config/security/normalization/.
import { describe, expect, it } from "vitest";
import { normalizeAuthzPath } from "./normalize-authz-path.ts";

const path = (raw: string, mode?: Parameters<typeof normalizeAuthzPath>[1]) => {
  const r = normalizeAuthzPath(raw, mode);
  return r.ok ? r.path : `refused: ${r.reason}`;
};

describe("normalizeAuthzPath", () => {
  it("BASE decodes unreserved characters once, turns backslashes into slashes and resolves dot segments", () => {
    expect(path("/some%2fdata/%61%62%63")).toBe("/some%2fdata/abc");
    expect(path("/%2D%2e%5F%7e%30%5A")).toBe("/-._~0Z");
    expect(path("/%2561")).toBe("/%2561");
    expect(path("/some\\data")).toBe("/some/data");
    expect(path("/public/./data/abc/../xyz")).toBe("/public/data/xyz");
    expect(path("/a/%2e%2e/b")).toBe("/b");
    expect(path("/../../a")).toBe("/a");
    expect(path("/a/..")).toBe("/");
    expect(path("/some//data")).toBe("/some//data");
  });

  it("keeps the query as is", () => {
    expect(path("/a/./b?x=/../y")).toBe("/a/b?x=/../y");
  });

  it("MERGE_SLASHES merges runs of slashes", () => {
    expect(path("/some//data///abc", "MERGE_SLASHES")).toBe("/some/data/abc");
  });

  it("DECODE_AND_MERGE_SLASHES also decodes %2F and %5C", () => {
    expect(path("/some%2fdata/%61%62%63", "DECODE_AND_MERGE_SLASHES")).toBe("/some/data/abc");
    expect(path("/a%5C%5Cb", "DECODE_AND_MERGE_SLASHES")).toBe("/a/b");
  });

  it("refuses %00 in every mode", () => {
    expect(path("/a%00b")).toMatch(/^refused/);
    expect(path("/a%00b", "NONE")).toMatch(/^refused/);
  });

  it("NONE leaves the path alone", () => {
    expect(path("/a/../b%61", "NONE")).toBe("/a/../b%61");
  });
});
