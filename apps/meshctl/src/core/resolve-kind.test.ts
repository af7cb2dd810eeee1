import { describe, expect, it } from "vitest";
import { resolveKind } from "./resolve-kind.ts";

describe("resolveKind", () => {
  it("accepts the kind, its lowercase, plural and short names", () => {
    for (const name of ["VirtualService", "virtualservice", "virtualservices", "vs"]) {
      const resolved = resolveKind(name);
      expect(resolved.ok && resolved.kind.kind).toBe("VirtualService");
    }
    const dr = resolveKind("dr");
    expect(dr.ok && dr.kind.kind).toBe("DestinationRule");
  });

  it("names the kinds it knows when the name is unknown", () => {
    const resolved = resolveKind("virtualserv");
    expect(resolved.ok).toBe(false);
    if (!resolved.ok) expect(resolved.message).toMatch(/unknown kind "virtualserv"; use one of .*VirtualService\|vs/);
  });
});
