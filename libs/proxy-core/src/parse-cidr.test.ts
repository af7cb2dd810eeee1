import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cidrContains, formatIp, parseCidr, parseIp } from "./parse-cidr.ts";

describe("parseCidr", () => {
  it("parses IPv4 and IPv6 blocks and bare addresses", () => {
    expect(parseCidr("10.1.0.0/16")).toEqual({ bytes: [10, 1, 0, 0], prefixLength: 16, text: "10.1.0.0/16" });
    expect(parseCidr("10.1.2.3")?.prefixLength).toBe(32);
    expect(parseCidr("fd00::/8")?.bytes).toEqual([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseCidr("::1")?.prefixLength).toBe(128);
  });

  it("rejects what is not an address or block", () => {
    for (const text of ["not-a-cidr", "10.1.0.0/33", "256.0.0.1", "10.1.0", "1::2::3", "fd00::/129", "10.0.0.0/", "1:2:3:4:5:6:7:8:9", "gggg::"]) {
      expect(parseCidr(text), text).toBeUndefined();
    }
  });

  it("reads IPv4-mapped IPv6 (a dual-stack socket's IPv4 peer) as IPv4", () => {
    expect(parseIp("::ffff:10.0.0.1")).toEqual([10, 0, 0, 1]);
    expect(parseIp("[::ffff:a00:1]")).toEqual([10, 0, 0, 1]);
  });
});

describe("cidrContains", () => {
  it("agrees with a bit-by-bit reference on IPv4", () => {
    const ip = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
    fc.assert(
      fc.property(ip, fc.nat(32), ip, (network, prefix, address) => {
        const cidr = parseCidr(`${network.join(".")}/${prefix}`);
        if (!cidr) throw new Error("unparsed");
        const toInt = (b: readonly number[]): number => ((b[0] as number) * 2 ** 24 + (b[1] as number) * 2 ** 16 + (b[2] as number) * 256 + (b[3] as number));
        const shift = 2 ** (32 - prefix);
        const expected = Math.floor(toInt(network) / shift) === Math.floor(toInt(address) / shift);
        expect(cidrContains(cidr, address)).toBe(expected);
      }),
      { seed: 5432, numRuns: 2000 },
    );
  });

  it("never mixes families", () => {
    const v6 = parseCidr("::/0");
    const v4 = parseCidr("0.0.0.0/0");
    if (!v6 || !v4) throw new Error("unparsed");
    expect(cidrContains(v6, [10, 0, 0, 1])).toBe(false);
    expect(cidrContains(v4, parseIp("fd00::1") ?? [])).toBe(false);
    expect(cidrContains(v6, parseIp("fd00::1") ?? [])).toBe(true);
  });
});

describe("formatIp", () => {
  const canonical = (text: string): string | undefined => {
    const bytes = parseIp(text);
    return bytes === undefined ? undefined : formatIp(bytes);
  };

  it("writes RFC 5952 text: lowercase, leading zeros dropped, the longest zero run as ::", () => {
    expect(canonical("2001:0DB8:0000:0000:0000:0000:0000:0001")).toBe("2001:db8::1");
    expect(canonical("2001:2:0:0:0:0:f0f0:5")).toBe("2001:2::f0f0:5");
    expect(canonical("2001:db8:0:1:0:0:0:1")).toBe("2001:db8:0:1::1");
    expect(canonical("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(canonical("::")).toBe("::");
    expect(canonical("::1")).toBe("::1");
    expect(canonical("2001:db8:1:2:3:4:5:0")).toBe("2001:db8:1:2:3:4:5:0");
    expect(canonical("240.240.0.1")).toBe("240.240.0.1");
  });

  it("round-trips: parsing the text gives the same bytes", () => {
    for (const text of ["2001:db8::1", "fe80::1:2", "1:0:0:2:0:0:0:3", "::ffff:10.0.0.1", "10.1.2.3"]) {
      const bytes = parseIp(text);
      expect(bytes && parseIp(formatIp(bytes))).toEqual(bytes);
    }
  });
});
