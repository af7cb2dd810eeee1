// IP parsing and CIDR matching for ipBlocks / remoteIpBlocks and the *.ip conditions.
import { describe, expect, it } from "vitest";
import { compileIpBlock, ipBlockContains, parseIpInto } from "./ip-block.ts";

function contains(block: string, address: string): boolean {
  const b = compileIpBlock(block);
  if (!b) throw new Error(`bad block ${block}`);
  const words = new Uint32Array(4);
  return ipBlockContains(b, parseIpInto(address, words), words);
}

describe("parseIpInto", () => {
  it("parses IPv4 and IPv6 forms, and refuses malformed ones", () => {
    const out = new Uint32Array(4);
    expect(parseIpInto("10.1.2.3", out)).toBe(4);
    expect(out[0]).toBe(0x0a010203);
    expect(parseIpInto("255.255.255.255", out)).toBe(4);
    expect(out[0]).toBe(0xffffffff);
    for (const v6 of ["::", "::1", "2001:db8::1", "fe80::1%eth0", "[2001:db8::1]", "1:2:3:4:5:6:7:8", "64:ff9b::192.0.2.33", "1::"]) {
      expect(parseIpInto(v6, out), v6).toBe(6);
    }
    for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "a.b.c.d", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "::g", "1:", ":1", "[::1", "1.2.3.4 "]) {
      expect(parseIpInto(bad, out), bad).toBe(0);
    }
  });

  it("reads an IPv4-mapped IPv6 address (a dual-stack socket's IPv4 peer) as IPv4", () => {
    const out = new Uint32Array(4);
    expect(parseIpInto("::ffff:10.1.2.3", out)).toBe(4);
    expect(out[0]).toBe(0x0a010203);
  });

  it("places IPv6 groups in big-endian words", () => {
    const out = new Uint32Array(4);
    parseIpInto("2001:db8::ff00:42:8329", out);
    expect([...out]).toEqual([0x20010db8, 0, 0x0000ff00, 0x00428329]);
  });
});

describe("compileIpBlock", () => {
  it("matches addresses inside the block, ignoring host bits of the network", () => {
    expect(contains("10.0.0.0/8", "10.200.1.1")).toBe(true);
    expect(contains("10.1.2.3/8", "10.200.1.1")).toBe(true);
    expect(contains("10.0.0.0/8", "11.0.0.1")).toBe(false);
    expect(contains("1.2.3.4", "1.2.3.4")).toBe(true);
    expect(contains("1.2.3.4", "1.2.3.5")).toBe(false);
    expect(contains("0.0.0.0/0", "8.8.8.8")).toBe(true);
    expect(contains("2001:db8::/32", "2001:db8:ffff::1")).toBe(true);
    expect(contains("2001:db8::/33", "2001:db8:8000::1")).toBe(false);
    expect(contains("::/0", "fe80::1")).toBe(true);
    expect(contains("fe80::1", "fe80::1")).toBe(true);
  });

  it("never mixes families", () => {
    expect(contains("0.0.0.0/0", "::1")).toBe(false);
    expect(contains("::/0", "1.2.3.4")).toBe(false);
    expect(contains("10.0.0.0/8", "garbage")).toBe(false);
  });

  it("refuses bad blocks", () => {
    for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/a", "x/8", "10.0.0.0/08/1"]) expect(compileIpBlock(bad), bad).toBeUndefined();
  });
});
