import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ClusterSpec, ServicePort } from "../proxy-config.ts";
import { allocateAddresses, autoAllocateServiceAddresses, autoAllocationSlots, fnv1a32, slotAddresses } from "./auto-allocate-addresses.ts";

/** FNV-1a 32 written from its definition (http://www.isthe.com/chongo/tech/comp/fnv/), over given bytes. */
function fnv1a32BytesReference(bytes: readonly number[]): number {
  let h = 2166136261n;
  for (const byte of bytes) h = ((h ^ BigInt(byte)) * 16777619n) % 2n ** 32n;
  return Number(h);
}

const hosts = (count: number, prefix = "svc"): string[] => Array.from({ length: count }, (_, i) => `default/${prefix}-${i}.example.com`);

describe("fnv1a32", () => {
  it("is FNV-1a over UTF-8 bytes (the published test vectors, Go's hash/fnv New32a)", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
    // Multi-byte characters hash as their UTF-8 bytes.
    expect(fnv1a32("é")).toBe(fnv1a32BytesReference([0xc3, 0xa9]));
    expect(fnv1a32("😀")).toBe(fnv1a32BytesReference([0xf0, 0x9f, 0x98, 0x80]));
  });
});

describe("slotAddresses", () => {
  it("spans 240.240.0.1 to 240.240.255.254, never a last octet of 0 or 255, with the IPv6 twin in 2001:2::/48", () => {
    expect(slotAddresses(0)).toEqual({ ipv4: "240.240.0.1", ipv6: "2001:2::f0f0:1" });
    expect(slotAddresses(253)).toEqual({ ipv4: "240.240.0.254", ipv6: "2001:2::f0f0:fe" });
    expect(slotAddresses(254)).toEqual({ ipv4: "240.240.1.1", ipv6: "2001:2::f0f0:101" });
    expect(slotAddresses(autoAllocationSlots - 1)).toEqual({ ipv4: "240.240.255.254", ipv6: "2001:2::f0f0:fffe" });
  });
});

describe("allocateAddresses", () => {
  it("gives every key distinct addresses inside the ranges", () => {
    const { byKey, unallocated } = allocateAddresses(hosts(2000));
    expect(unallocated).toEqual([]);
    const v4 = [...byKey.values()].map((a) => a.ipv4);
    expect(new Set(v4).size).toBe(2000);
    expect(new Set([...byKey.values()].map((a) => a.ipv6)).size).toBe(2000);
    for (const address of v4) expect(address).toMatch(/^240\.240\.(\d{1,3})\.(\d{1,3})$/);
    for (const address of v4) expect([0, 255]).not.toContain(Number(address.split(".")[3]));
  });

  it("places a key at FNV-1a(key) mod the slot count when the slot is free (Istio's first hash)", () => {
    const key = "default/api.example.com";
    expect(allocateAddresses([key]).byKey.get(key)).toEqual(slotAddresses(fnv1a32(key) % autoAllocationSlots));
  });

  it("depends on the set of keys, not their order", () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(hosts(300), { minLength: 1 }), (keys) => {
        const reversed = [...keys].reverse();
        expect([...allocateAddresses(reversed).byKey].sort()).toEqual([...allocateAddresses(keys).byKey].sort());
      }),
      { numRuns: 50 },
    );
  });

  it("resolves a collision deterministically: the key sorting first keeps the slot, the other probes on", () => {
    // Two keys with the same first hash, found by search (65,024 slots: a few hundred names suffice).
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const key = `default/h${i}.example.org`;
      const slot = fnv1a32(key) % autoAllocationSlots;
      const other = seen.get(slot);
      if (other !== undefined) pair = [other, key].sort() as [string, string];
      seen.set(slot, key);
    }
    const [first, second] = pair;
    const home = slotAddresses(fnv1a32(first) % autoAllocationSlots);
    for (const order of [[first, second], [second, first]]) {
      const { byKey } = allocateAddresses(order);
      expect(byKey.get(first)).toEqual(home);
      expect(byKey.get(second)).not.toEqual(home);
      expect(byKey.get(second)).toEqual(allocateAddresses([second, first]).byKey.get(second));
    }
  });

  it("is stable: adding a key moves only keys sorting after it (those it collided with)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (n) => {
        const before = allocateAddresses(hosts(400)).byKey;
        const added = `default/new-${n}.example.com`;
        const after = allocateAddresses([...hosts(400), added]).byKey;
        for (const [key, address] of before) {
          if (after.get(key)?.ipv4 !== address.ipv4) expect(key > added).toBe(true);
        }
      }),
      { numRuns: 30 },
    );
  });

  it("fills every slot and reports the keys beyond them", () => {
    const keys = Array.from({ length: autoAllocationSlots + 2 }, (_, i) => `ns/${i}`);
    const { byKey, unallocated } = allocateAddresses(keys);
    expect(byKey.size).toBe(autoAllocationSlots);
    expect(new Set([...byKey.values()].map((a) => a.ipv4)).size).toBe(autoAllocationSlots);
    expect(unallocated).toHaveLength(2);
  });
});

const port = (host: string, number: number, extra: Partial<ServicePort> = {}): ServicePort => ({
  host,
  port: number,
  portName: `tcp-${number}`,
  protocol: "tcp",
  cluster: `outbound|${number}||${host}`,
  serviceEntry: "shop/se",
  ...extra,
});

describe("autoAllocateServiceAddresses", () => {
  const discovery = (entries: [string, ClusterSpec["discovery"]][]): Map<string, Pick<ClusterSpec, "discovery">> => new Map(entries.map(([name, d]) => [name, { discovery: d }]));

  it("gives each eligible host one pair on all its ports, keyed by the ServiceEntry's namespace and the host", () => {
    const services = [port("db.example.com", 5432), port("db.example.com", 5433), port("api.example.com", 443)];
    const { services: out, issues } = autoAllocateServiceAddresses(services, discovery([]));
    expect(issues).toEqual([]);
    const pair = allocateAddresses(["shop/db.example.com", "shop/api.example.com"]).byKey.get("shop/db.example.com");
    expect(out[0]).toEqual({ ...services[0], addresses: [pair?.ipv4, pair?.ipv6], autoAllocated: true });
    expect(out[1]?.addresses).toEqual(out[0]?.addresses);
    expect(out[2]?.addresses).not.toEqual(out[0]?.addresses);
  });

  it("skips wildcard hosts, hosts with addresses of their own (on any port) and resolution NONE (original destination)", () => {
    const services = [
      port("*.example.com", 443),
      port("vip.example.com", 80, { addresses: ["10.1.0.1"] }),
      port("vip.example.com", 81),
      port("passthrough.example.com", 443),
      port("dns.example.com", 443),
    ];
    const { services: out } = autoAllocateServiceAddresses(services, discovery([["outbound|443||passthrough.example.com", "original-destination"], ["outbound|443||dns.example.com", "dns"]]));
    expect(out.slice(0, 4)).toEqual(services.slice(0, 4));
    expect(out[0]).toBe(services[0]);
    expect(out[4]?.autoAllocated).toBe(true);
    expect(out[4]?.addresses?.[0]).toMatch(/^240\.240\./);
  });
});
