import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DnsMessage, type DnsRecord, decodeHeader, decodeMessage, DnsFormatError, encodeMessage, parseIpv6 } from "./dns-message.ts";

function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));
}

const QUERY_FLAGS = { qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, z: 0, rcode: 0 };

// Wire vectors written out by hand from RFC 1035 §4.1 (and the output of `dig +qr` for the first).
const vectors: { name: string; wire: string; message: DnsMessage }[] = [
  {
    name: "query web.service.consul A, RD",
    wire: "1234 0100 0001 0000 0000 0000  03776562 0773657276696365 06636f6e73756c 00  0001 0001",
    message: { id: 0x1234, flags: QUERY_FLAGS, questions: [{ name: "web.service.consul", type: 1, class: 1 }], answers: [], authorities: [], additionals: [] },
  },
  {
    name: "answer with a compressed owner name and an A record",
    wire: "0001 8400 0001 0001 0000 0000  0161 00 0001 0001  c00c 0001 0001 0000003c 0004 0a000001",
    message: {
      id: 1,
      flags: { ...QUERY_FLAGS, qr: true, aa: true, rd: false },
      questions: [{ name: "a", type: 1, class: 1 }],
      answers: [{ name: "a", type: 1, class: 1, ttl: 60, data: { kind: "a", address: "10.0.0.1" } }],
      authorities: [],
      additionals: [],
    },
  },
  {
    name: "SRV answer: target written in full (RFC 2782), owner compressed",
    wire: "0002 8000 0001 0001 0000 0000  0178 00 0021 0001  c00c 0021 0001 00000000 0009 0001 0002 1f90 0179 00",
    message: {
      id: 2,
      flags: { ...QUERY_FLAGS, qr: true, rd: false },
      questions: [{ name: "x", type: 33, class: 1 }],
      answers: [{ name: "x", type: 33, class: 1, ttl: 0, data: { kind: "srv", priority: 1, weight: 2, port: 8080, target: "y" } }],
      authorities: [],
      additionals: [],
    },
  },
  {
    name: "NXDOMAIN with SOA in authority, SOA names compressed against the question",
    wire:
      "0003 8503 0001 0000 0001 0000  0178 06636f6e73756c 00 0001 0001" +
      "  c00e 0006 0001 00000000 001e 026e73 c00e 02686d c00e 00000007 00000e10 00000258 00015180 00000000",
    message: {
      id: 3,
      flags: { ...QUERY_FLAGS, qr: true, aa: true, rcode: 3 },
      questions: [{ name: "x.consul", type: 1, class: 1 }],
      answers: [],
      authorities: [{ name: "consul", type: 6, class: 1, ttl: 0, data: { kind: "soa", mname: "ns.consul", rname: "hm.consul", serial: 7, refresh: 3600, retry: 600, expire: 86400, minimum: 0 } }],
      additionals: [],
    },
  },
  {
    name: "CNAME chain: the target compressed against the question, then the target's A record",
    wire: "0005 8180 0001 0002 0000 0000  0161 0162 00 0001 0001  c00c 0005 0001 0000001e 0002 c00e  c00e 0001 0001 0000001e 0004 0a000001",
    message: {
      id: 5,
      flags: { ...QUERY_FLAGS, qr: true, ra: true },
      questions: [{ name: "a.b", type: 1, class: 1 }],
      answers: [
        { name: "a.b", type: 5, class: 1, ttl: 30, data: { kind: "cname", target: "b" } },
        { name: "b", type: 1, class: 1, ttl: 30, data: { kind: "a", address: "10.0.0.1" } },
      ],
      authorities: [],
      additionals: [],
    },
  },
  {
    name: "EDNS0 OPT record (class = UDP size 1232) and AAAA",
    wire: "0004 8000 0000 0001 0000 0001  00 001c 0001 00000000 0010 20010db8000000000000000000000001  00 0029 04d0 00000000 0000",
    message: {
      id: 4,
      flags: { ...QUERY_FLAGS, qr: true, rd: false },
      questions: [],
      answers: [{ name: "", type: 28, class: 1, ttl: 0, data: { kind: "aaaa", address: "2001:db8:0:0:0:0:0:1" } }],
      authorities: [],
      additionals: [{ name: "", type: 41, class: 1232, ttl: 0, data: { kind: "raw", bytes: new Uint8Array(0) } }],
    },
  },
];

describe("DNS wire format vectors", () => {
  for (const vector of vectors) {
    it(`decodes and encodes: ${vector.name}`, () => {
      const wire = hex(vector.wire);
      expect(decodeMessage(wire)).toEqual(vector.message);
      expect(Buffer.from(encodeMessage(vector.message)).toString("hex")).toBe(Buffer.from(wire).toString("hex"));
    });
  }
});

// Each: bytes that must be refused, and a word the error names.
const malformed: { name: string; wire: string; error: RegExp }[] = [
  { name: "short header", wire: "1234 0100 0001", error: /header runs past the end/ },
  { name: "question count with no question", wire: "1234 0100 0001 0000 0000 0000", error: /section counts exceed/ },
  { name: "label past the end", wire: "1234 0100 0001 0000 0000 0000 0a616263 0000 0001 0001", error: /label runs past the end/ },
  { name: "pointer to itself", wire: "1234 0100 0001 0000 0000 0000 c00c 0001 0001", error: /does not point backwards/ },
  { name: "pointer forwards", wire: "1234 0100 0001 0000 0000 0000 c010 0001 0001 00", error: /does not point backwards/ },
  { name: "reserved label type 0x40", wire: "1234 0100 0001 0000 0000 0000 4001 0001 0001", error: /unsupported label type/ },
  { name: "A record with 3 bytes", wire: "0001 8000 0000 0001 0000 0000 00 0001 0001 00000000 0003 0a0000", error: /A record RDATA of 3 bytes/ },
  { name: "SRV RDATA longer than its fields", wire: "0001 8000 0000 0001 0000 0000 00 0021 0001 00000000 0008 0001 0001 0001 00 ff", error: /RDATA is 8 bytes/ },
  { name: "trailing garbage", wire: "1234 0100 0000 0000 0000 0000 ff", error: /1 bytes after the last record/ },
  { name: "name over 255 octets", wire: `1234 0100 0001 0000 0000 0000 ${"3f" + "61".repeat(63)}${("3f" + "61".repeat(63)).repeat(3)}00 0001 0001`, error: /longer than 255/ },
];

describe("DNS decoder refuses malformed input", () => {
  for (const bad of malformed) {
    it(bad.name, () => {
      expect(() => decodeMessage(hex(bad.wire))).toThrow(DnsFormatError);
      expect(() => decodeMessage(hex(bad.wire))).toThrow(bad.error);
    });
  }

  it("a pointer chain that only goes backwards terminates, and a loop through two pointers is refused", () => {
    // Question 1 at 12: "a" + root; question 2 at 15+4: pointer to 12.
    const ok = hex("0001 0100 0002 0000 0000 0000 0161 00 0001 0001 c00c 0001 0001");
    expect(decodeMessage(ok).questions.map((q) => q.name)).toEqual(["a", "a"]);
    // At 12 a pointer to 14, at 14 a pointer to 12: the second is not below the first target.
    const loop = hex("0001 0100 0001 0000 0000 0000 c00e c00c 0001 0001");
    expect(() => decodeMessage(loop)).toThrow(DnsFormatError);
  });

  it("decodeHeader reads id and flags of anything with 12 bytes", () => {
    expect(decodeHeader(hex("abcd 0100 ffff ffff ffff ffff"))).toMatchObject({ id: 0xabcd, flags: { qr: false, rd: true } });
    expect(decodeHeader(hex("abcd 0100"))).toBeUndefined();
  });
});

describe("encodeMessage", () => {
  it("compresses repeated owner names case-insensitively and never SRV targets", () => {
    const record = (name: string): DnsRecord => ({ name, type: 1, class: 1, ttl: 0, data: { kind: "a", address: "1.2.3.4" } });
    const srv: DnsRecord = { name: "web.service.consul", type: 33, class: 1, ttl: 0, data: { kind: "srv", priority: 1, weight: 1, port: 80, target: "n1.node.dc1.consul" } };
    const message: DnsMessage = {
      id: 0,
      flags: QUERY_FLAGS,
      questions: [{ name: "web.service.consul", type: 33, class: 1 }],
      answers: [srv, srv],
      authorities: [],
      additionals: [record("n1.node.dc1.consul"), record("N1.NODE.dc1.consul")],
    };
    const wire = encodeMessage(message);
    // header 12 + question 20+4; each SRV: pointer 2 + 10 + 6 + full target 20; additional A: pointer 2 + 14.
    expect(wire.length).toBe(12 + 24 + 2 * (2 + 10 + 6 + 20) + 2 * (2 + 14));
    const decoded = decodeMessage(wire);
    expect(decoded.answers).toEqual([srv, srv]);
    expect(decoded.additionals.map((r) => r.name)).toEqual(["n1.node.dc1.consul", "n1.node.dc1.consul"]);
  });

  it("refuses names DNS cannot carry, naming the label", () => {
    const withName = (name: string): DnsMessage => ({ id: 0, flags: QUERY_FLAGS, questions: [{ name, type: 1, class: 1 }], answers: [], authorities: [], additionals: [] });
    expect(() => encodeMessage(withName(`${"a".repeat(64)}.consul`))).toThrow(/must be 1-63 octets/);
    expect(() => encodeMessage(withName("a..consul"))).toThrow(/must be 1-63 octets/);
    expect(() => encodeMessage(withName(Array.from({ length: 5 }, () => "a".repeat(63)).join(".")))).toThrow(/longer than 255/);
  });

  it("parses IPv6 forms", () => {
    expect(parseIpv6("::1")).toEqual([...new Array<number>(15).fill(0), 1]);
    expect(parseIpv6("::ffff:10.0.0.1")?.slice(10)).toEqual([0xff, 0xff, 10, 0, 0, 1]);
    expect(parseIpv6("1::2::3")).toBeUndefined();
    expect(parseIpv6("10.0.0.1")).toBeUndefined();
    expect(parseIpv6("1:2:3:4:5:6:7:8:9")).toBeUndefined();
  });
});

const label = fc.stringMatching(/^[a-z0-9_-]{1,20}$/);
const name = fc.array(label, { minLength: 0, maxLength: 5 }).map((labels) => labels.join("."));
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join("."));
const ipv6 = fc.array(u16, { minLength: 8, maxLength: 8 }).map((groups) => groups.map((g) => g.toString(16)).join(":"));
const record: fc.Arbitrary<DnsRecord> = fc.oneof(
  fc.record({ name, type: fc.constant(1), class: fc.constant(1), ttl: u32, data: ipv4.map((address) => ({ kind: "a" as const, address })) }),
  fc.record({ name, type: fc.constant(28), class: fc.constant(1), ttl: u32, data: ipv6.map((address) => ({ kind: "aaaa" as const, address })) }),
  fc.record({
    name,
    type: fc.constant(33),
    class: fc.constant(1),
    ttl: u32,
    data: fc.record({ kind: fc.constant("srv" as const), priority: u16, weight: u16, port: u16, target: name }),
  }),
  fc.record({
    name,
    type: fc.constant(6),
    class: fc.constant(1),
    ttl: u32,
    data: fc.record({ kind: fc.constant("soa" as const), mname: name, rname: name, serial: u32, refresh: u32, retry: u32, expire: u32, minimum: u32 }),
  }),
  fc.record({ name, type: fc.constant(5), class: fc.constant(1), ttl: u32, data: name.map((target) => ({ kind: "cname" as const, target })) }),
  fc.record({ name, type: fc.constantFrom(16, 41, 99), class: u16, ttl: u32, data: fc.uint8Array({ maxLength: 40 }).map((bytes) => ({ kind: "raw" as const, bytes })) }),
);
const message: fc.Arbitrary<DnsMessage> = fc.record({
  id: u16,
  flags: fc.record({ qr: fc.boolean(), opcode: fc.nat(15), aa: fc.boolean(), tc: fc.boolean(), rd: fc.boolean(), ra: fc.boolean(), z: fc.nat(7), rcode: fc.nat(15) }),
  questions: fc.array(fc.record({ name, type: u16, class: u16 }), { maxLength: 3 }),
  answers: fc.array(record, { maxLength: 6 }),
  authorities: fc.array(record, { maxLength: 3 }),
  additionals: fc.array(record, { maxLength: 4 }),
});

describe("DNS properties", () => {
  it("decode(encode(m)) = m (names compressed wherever they repeat)", () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeMessage(encodeMessage(m))).toEqual(m);
      }),
      { numRuns: 500 },
    );
  });

  it("fuzz: random bytes and mutated valid messages either decode or throw DnsFormatError", () => {
    const mutated = fc
      .tuple(message, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 6 }), fc.nat())
      .map(([m, flips, cut]) => {
        const bytes = encodeMessage(m);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        return cut % 3 === 0 ? bytes.slice(0, cut % (bytes.length + 1)) : bytes;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated), (bytes) => {
        try {
          const decoded = decodeMessage(bytes);
          // Whatever decodes must encode again (names within limits, addresses well formed).
          decodeMessage(encodeMessage(decoded));
        } catch (error) {
          expect(error).toBeInstanceOf(DnsFormatError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
