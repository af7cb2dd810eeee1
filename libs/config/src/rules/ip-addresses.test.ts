import { describe, expect, it } from "vitest";
import { isIPv4, isIPv6, isIpSubnet } from "./ip-addresses.ts";

describe("IP addresses", () => {
  it("parses IPv4 and IPv6 addresses and subnets", () => {
    expect(["10.0.0.1", "255.255.255.255", "0.0.0.0"].every(isIPv4)).toBe(true);
    expect(["10.0.0", "256.1.1.1", "01.2.3.4", "a.b.c.d"].some(isIPv4)).toBe(false);
    expect(["::", "::1", "2001:db8::1", "fe80::1:2:3:4", "::ffff:10.0.0.1", "1:2:3:4:5:6:7:8"].every(isIPv6)).toBe(true);
    expect(["1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "1:2:3:4:5:6:7", ":1"].some(isIPv6)).toBe(false);
    expect(["10.0.0.0/8", "2001:db8::/32", "10.1.2.3"].every(isIpSubnet)).toBe(true);
    expect(["10.0.0.0/33", "::/129", "10.0.0.0/", "host/8"].some(isIpSubnet)).toBe(false);
  });
});
