import { describe, expect, it } from "vitest";
import { defaultMaxV2HeaderBytes, maxV1HeaderBytes, parseProxyProtocol, type ProxyProtocolParse } from "./parse-proxy-protocol.ts";

const signature = Buffer.from("0d0a0d0a000d0a515549540a", "hex");

/** A v2 header: version/command byte, family/transport byte, then the address block and TLVs as hex. */
function v2(versionCommand: number, familyTransport: number, body: string, declaredLength?: number): Buffer {
  const payload = Buffer.from(body.replace(/\s/g, ""), "hex");
  const length = Buffer.alloc(2);
  length.writeUInt16BE(declaredLength ?? payload.length);
  return Buffer.concat([signature, Buffer.from([versionCommand, familyTransport]), length, payload]);
}

// 192.0.2.1:56324 → 198.51.100.2:443
const inet = "c0000201 c6336402 dc04 01bb";
// 2001:db8::1:56324 → 2001:db8::2:443
const inet6 = "20010db8000000000000000000000001 20010db8000000000000000000000002 dc04 01bb";
const tlvs = "01 0002 6832 04 0000 ea 0005 7670632d31"; // ALPN "h2", an empty NOOP, an AWS VPC endpoint TLV

const ipv4Header = (length: number): ProxyProtocolParse => ({
  type: "header",
  version: 2,
  length,
  source: { address: "192.0.2.1", port: 56324, family: "IPv4" },
  destination: { address: "198.51.100.2", port: 443, family: "IPv4" },
});

// [case, bytes, expected parse] — a header, "incomplete", or an error whose reason contains the given text.
const cases: readonly (readonly [string, Buffer, ProxyProtocolParse | "incomplete" | { readonly error: string; readonly version: 1 | 2 | undefined }])[] = [
  [
    "v1 TCP4 (spec §2.1 example)",
    Buffer.from("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET /"),
    { type: "header", version: 1, length: 47, source: { address: "192.168.0.1", port: 56324, family: "IPv4" }, destination: { address: "192.168.0.11", port: 443, family: "IPv4" } },
  ],
  [
    "v1 TCP6",
    Buffer.from("PROXY TCP6 2001:DB8::7 2001:db8::1 65535 0\r\n"),
    { type: "header", version: 1, length: 44, source: { address: "2001:db8::7", port: 65535, family: "IPv6" }, destination: { address: "2001:db8::1", port: 0, family: "IPv6" } },
  ],
  ["v1 UNKNOWN: the connection's own addresses", Buffer.from("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), { type: "header", version: 1, length: 35, source: undefined, destination: undefined }],
  ["v1 bare UNKNOWN", Buffer.from("PROXY UNKNOWN\r\n\x16\x03"), { type: "header", version: 1, length: 15, source: undefined, destination: undefined }],
  ["v1 a prefix of the header", Buffer.from("PROXY TCP4 192.168.0.1 19"), "incomplete"],
  ["v1 only the first byte", Buffer.from("P"), "incomplete"],
  ["nothing yet", Buffer.alloc(0), "incomplete"],
  ["v1 no CRLF within 107 bytes", Buffer.from(`PROXY UNKNOWN ${"x".repeat(maxV1HeaderBytes)}`), { error: "no CRLF within 107 bytes", version: 1 }],
  ["v1 LF without CR", Buffer.from("PROXY UNKNOWN\n"), { error: "must end with CRLF", version: 1 }],
  ["v1 unknown protocol", Buffer.from("PROXY UDP4 1.2.3.4 1.2.3.5 1 2\r\n"), { error: 'protocol "UDP4"', version: 1 }],
  ["v1 double space", Buffer.from("PROXY TCP4 1.2.3.4  1.2.3.5 1 2\r\n"), { error: "single spaces", version: 1 }],
  ["v1 TCP4 with an IPv6 address", Buffer.from("PROXY TCP4 ::1 1.2.3.5 1 2\r\n"), { error: 'source address "::1" is not an IPv4 address', version: 1 }],
  ["v1 port out of range", Buffer.from("PROXY TCP4 1.2.3.4 1.2.3.5 65536 2\r\n"), { error: 'source port "65536"', version: 1 }],
  ["v1 port with a leading zero", Buffer.from("PROXY TCP4 1.2.3.4 1.2.3.5 1 080\r\n"), { error: 'destination port "080"', version: 1 }],
  ["v1 lower-case signature is no header", Buffer.from("proxy TCP4 1.2.3.4 1.2.3.5 1 2\r\n"), { error: "no PROXY protocol header", version: undefined }],
  ["v1-like start that is plain HTTP", Buffer.from("POST / HTTP/1.1\r\n"), { error: "no PROXY protocol header", version: undefined }],
  ["plain HTTP", Buffer.from("GET / HTTP/1.1\r\nhost: a\r\n\r\n"), { error: "no PROXY protocol header", version: undefined }],
  ["a TLS ClientHello", Buffer.from("160301020001", "hex"), { error: "no PROXY protocol header", version: undefined }],
  ["v2 PROXY TCP over IPv4", Buffer.concat([v2(0x21, 0x11, inet), Buffer.from("hello")]), ipv4Header(28)],
  [
    "v2 PROXY TCP over IPv6",
    v2(0x21, 0x21, inet6),
    { type: "header", version: 2, length: 52, source: { address: "2001:db8::1", port: 56324, family: "IPv6" }, destination: { address: "2001:db8::2", port: 443, family: "IPv6" } },
  ],
  [
    "v2 IPv4-mapped IPv6 and a single zero group kept",
    v2(0x21, 0x21, "00000000000000000000ffffc0000201 20010db8000100000001000100010001 0001 0002"),
    { type: "header", version: 2, length: 52, source: { address: "::ffff:192.0.2.1", port: 1, family: "IPv6" }, destination: { address: "2001:db8:1:0:1:1:1:1", port: 2, family: "IPv6" } },
  ],
  ["v2 TLVs after the addresses are skipped", v2(0x21, 0x11, `${inet} ${tlvs}`), ipv4Header(28 + 5 + 3 + 8)],
  ["v2 UDP (DGRAM) over IPv4 still names the client", v2(0x21, 0x12, inet), ipv4Header(28)],
  ["v2 LOCAL: the connection's own addresses, whatever the block holds", v2(0x20, 0x00, "ff ff ff"), { type: "header", version: 2, length: 19, source: undefined, destination: undefined }],
  ["v2 PROXY with UNSPEC family", v2(0x21, 0x00, ""), { type: "header", version: 2, length: 16, source: undefined, destination: undefined }],
  ["v2 PROXY over a UNIX socket", v2(0x21, 0x31, "00".repeat(216)), { type: "header", version: 2, length: 232, source: undefined, destination: undefined }],
  ["v2 only the signature", signature, "incomplete"],
  ["v2 a prefix of the signature", signature.subarray(0, 5), "incomplete"],
  ["v2 addresses not all here yet", v2(0x21, 0x11, inet).subarray(0, 20), "incomplete"],
  ["v2 TLVs not all here yet", v2(0x21, 0x11, `${inet} ${tlvs}`).subarray(0, 35), "incomplete"],
  ["v2 a broken signature", Buffer.concat([Buffer.from("0d0a0d0a000d0a51554954ff", "hex"), Buffer.alloc(4)]), { error: "no PROXY protocol header", version: undefined }],
  ["v2 version 1 in the version nibble", v2(0x11, 0x11, inet), { error: "version 1", version: 2 }],
  ["v2 command 2", v2(0x22, 0x11, inet), { error: "command 2", version: 2 }],
  ["v2 family 4", v2(0x21, 0x41, inet), { error: "address family 4", version: 2 }],
  ["v2 transport 3", v2(0x21, 0x13, inet), { error: "transport 3", version: 2 }],
  ["v2 IPv6 family with an IPv4-sized block", v2(0x21, 0x21, inet), { error: "12 bytes of addresses, the family needs 36", version: 2 }],
  ["v2 a TLV overrunning the header", v2(0x21, 0x11, `${inet} 01 0009 6832`), { error: "TLV type 0x01 of 9 bytes runs past", version: 2 }],
  ["v2 stray bytes after the last TLV", v2(0x21, 0x11, `${inet} 01 0002 6832 ff`), { error: "1 byte(s) after the last TLV", version: 2 }],
  ["v2 oversized: known from the preamble alone", v2(0x21, 0x11, "", defaultMaxV2HeaderBytes), { error: `header of ${defaultMaxV2HeaderBytes + 16} bytes is longer than the ${defaultMaxV2HeaderBytes} accepted`, version: 2 }],
];

describe("parseProxyProtocol", () => {
  it.each(cases)("%s", (_name, bytes, expected) => {
    const parsed = parseProxyProtocol(bytes);
    if (expected === "incomplete") expect(parsed).toEqual({ type: "incomplete" });
    else if ("error" in expected) {
      expect(parsed).toMatchObject({ type: "error", version: expected.version });
      expect(parsed.type === "error" ? parsed.reason : "").toContain(expected.error);
    } else expect(parsed).toEqual(expected);
  });

  it("accepts a header of exactly the maximum size and refuses one byte more", () => {
    const body = `${inet} ea ${(defaultMaxV2HeaderBytes - 16 - 12 - 3).toString(16).padStart(4, "0")} ${"00".repeat(defaultMaxV2HeaderBytes - 16 - 12 - 3)}`;
    expect(parseProxyProtocol(v2(0x21, 0x11, body))).toMatchObject({ type: "header", length: defaultMaxV2HeaderBytes });
    expect(parseProxyProtocol(v2(0x21, 0x11, body), defaultMaxV2HeaderBytes - 1)).toMatchObject({ type: "error", version: 2 });
  });

  it("finds the same header whatever the reads it arrives in", () => {
    const whole = Buffer.concat([v2(0x21, 0x11, `${inet} ${tlvs}`), Buffer.from("GET / HTTP/1.1\r\n")]);
    for (let cut = 0; cut < 44; cut++) expect(parseProxyProtocol(whole.subarray(0, cut))).toEqual({ type: "incomplete" });
    expect(parseProxyProtocol(whole)).toMatchObject({ type: "header", length: 44 });
  });
});
