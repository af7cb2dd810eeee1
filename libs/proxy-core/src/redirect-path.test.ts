import { describe, expect, it } from "vitest";
import { redirectPath } from "./redirect-path.ts";
import type { Redirect } from "./route-table.ts";

const redirect = (uri: string | undefined, replacesPrefix: string | undefined): Redirect => ({ uri, replacesPrefix, authority: undefined, port: undefined, derivePort: undefined, scheme: undefined, status: 302 });

describe("redirectPath", () => {
  it("keeps the request's path when the redirect sets no uri", () => {
    expect(redirectPath(redirect(undefined, undefined), "/a/b")).toBe("/a/b");
  });

  it("replaces the whole path with uri", () => {
    expect(redirectPath(redirect("/new", undefined), "/old/page")).toBe("/new");
  });

  it("replaces only the matched prefix with a prefix redirect", () => {
    expect(redirectPath(redirect("/v2/", "/api/"), "/api/users/7")).toBe("/v2/users/7");
    expect(redirectPath(redirect("/", "/old/"), "/old/x")).toBe("/x");
    expect(redirectPath(redirect("/new/", "/"), "/x/y")).toBe("/new/x/y");
  });
});
