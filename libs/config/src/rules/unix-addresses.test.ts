import { describe, expect, it } from "vitest";
import { unixAddressProblem } from "./unix-addresses.ts";

describe("unixAddressProblem", () => {
  it("accepts absolute paths and abstract sockets only", () => {
    expect(unixAddressProblem("/var/run/s.sock")).toBeUndefined();
    expect(unixAddressProblem("@name")).toBeUndefined();
    expect(unixAddressProblem("")).toBe("has an empty socket path");
    expect(unixAddressProblem("run/s.sock")).toBe('socket path "run/s.sock" is not absolute');
  });
});
