import { describe, expect, it } from "vitest";
import { parseDnsUpstream } from "./parse-dns-upstream.ts";

describe("parseDnsUpstream", () => {
  it("takes IPv4 and IPv6 addresses with an optional port (53 by default)", () => {
    expect(parseDnsUpstream("10.96.0.10", "--dns-upstream")).toEqual({ ok: true, upstream: { host: "10.96.0.10", port: 53 } });
    expect(parseDnsUpstream("127.0.0.1:5353", "--dns-upstream")).toEqual({ ok: true, upstream: { host: "127.0.0.1", port: 5353 } });
    expect(parseDnsUpstream("fd00::a", "--dns-upstream")).toEqual({ ok: true, upstream: { host: "fd00::a", port: 53 } });
    expect(parseDnsUpstream("[fd00::a]:5353", "--dns-upstream")).toEqual({ ok: true, upstream: { host: "fd00::a", port: 5353 } });
  });

  it("refuses names and bad ports, quoting the value and an example", () => {
    for (const bad of ["dns.example.com", "10.0.0.1:0", "10.0.0.1:99999", "[fd00::a]:x", "", "10.0.0.256"]) {
      const parsed = parseDnsUpstream(bad, "--dns-upstream");
      expect(parsed.ok, bad).toBe(false);
      if (!parsed.ok) expect(parsed.message).toContain(`--dns-upstream "${bad}": give an IP address`);
    }
  });
});
