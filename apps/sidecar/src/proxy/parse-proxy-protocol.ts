// The PROXY protocol header a load balancer sends ahead of a connection's own bytes (HAProxy's
// spec, doc/proxy-protocol.txt: v1 text §2.1, v2 binary §2.2), as a gateway reads it with
// MeshConfig gatewayTopology.proxyProtocol (Envoy's proxy_protocol listener filter). Pure: the
// caller hands over what it has read so far and learns whether a header is complete, how long it
// is, and which client it names.
import { isIP } from "node:net";
import { formatIp } from "@meshwork/proxy-core";

/** One end of the proxied connection, as the header carries it. */
export interface ProxiedAddress {
  readonly address: string;
  readonly port: number;
  readonly family: "IPv4" | "IPv6";
}

export type ProxyProtocolParse =
  /** More bytes are needed; what came so far can still be a header. */
  | { readonly type: "incomplete" }
  | {
      readonly type: "header";
      readonly version: 1 | 2;
      /** Bytes the header took: the connection's own bytes start after them. */
      readonly length: number;
      /**
       * The client the load balancer accepted; undefined when the header says to use the
       * connection's own addresses (v1 UNKNOWN, v2 LOCAL, v2 UNSPEC or UNIX families: spec §2.1, §2.2).
       */
      readonly source: ProxiedAddress | undefined;
      readonly destination: ProxiedAddress | undefined;
    }
  /** Not a PROXY protocol header, or a malformed one (`version` undefined: neither signature). The connection must be closed. */
  | { readonly type: "error"; readonly version: 1 | 2 | undefined; readonly reason: string };

/** A v1 header is at most 107 bytes, CRLF included (spec §2.1). */
export const maxV1HeaderBytes = 107;

/**
 * The largest v2 header accepted, the 16-byte preamble included: addresses (at most 216 bytes, for
 * AF_UNIX) and TLVs. The spec allows up to 16 + 65535; load balancers send a few dozen bytes of
 * TLVs, so a bound keeps a slow client from holding 64 KiB per connection before it is known.
 */
export const defaultMaxV2HeaderBytes = 4096;

const v1Prefix = Buffer.from("PROXY ", "latin1");
const v2Signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const v2PreambleBytes = 16;
/** Address block sizes by v2 address family (spec §2.2: INET 12, INET6 36, UNIX 216 bytes). */
const v2AddressBytes: Readonly<Record<number, number>> = { 0x0: 0, 0x1: 12, 0x2: 36, 0x3: 216 };
const portPattern = /^(0|[1-9][0-9]{0,4})$/;

/**
 * Parses the PROXY protocol header at the start of `data`. Answers an error as soon as the bytes
 * cannot begin a header (plain HTTP, a TLS ClientHello), so a client without a load balancer is
 * refused at its first bytes rather than after the timeout.
 */
export function parseProxyProtocol(data: Buffer, maxV2Bytes: number = defaultMaxV2HeaderBytes): ProxyProtocolParse {
  if (data.length === 0) return incomplete;
  if (data[0] === v1Prefix[0]) return parseV1(data);
  if (data[0] === v2Signature[0]) return parseV2(data, maxV2Bytes);
  return notProxyProtocol;
}

const incomplete: ProxyProtocolParse = Object.freeze({ type: "incomplete" });
const notProxyProtocol: ProxyProtocolParse = Object.freeze({
  type: "error",
  version: undefined,
  reason: "no PROXY protocol header: the connection does not start with the v1 'PROXY ' or the v2 signature (is the load balancer sending PROXY protocol?)",
});

function startsLike(data: Buffer, prefix: Buffer): boolean {
  const n = Math.min(data.length, prefix.length);
  return data.subarray(0, n).equals(prefix.subarray(0, n));
}

function v1Error(reason: string): ProxyProtocolParse {
  return { type: "error", version: 1, reason: `PROXY protocol v1: ${reason}` };
}

function v2Error(reason: string): ProxyProtocolParse {
  return { type: "error", version: 2, reason: `PROXY protocol v2: ${reason}` };
}

/** `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n` or `PROXY UNKNOWN[ anything]\r\n` (spec §2.1). */
function parseV1(data: Buffer): ProxyProtocolParse {
  if (!startsLike(data, v1Prefix)) return notProxyProtocol;
  const window = data.subarray(0, maxV1HeaderBytes);
  const lf = window.indexOf(0x0a);
  if (lf < 0) return data.length >= maxV1HeaderBytes ? v1Error(`no CRLF within ${maxV1HeaderBytes} bytes`) : incomplete;
  if (lf === 0 || window[lf - 1] !== 0x0d) return v1Error("the line must end with CRLF");
  const line = window.toString("latin1", 0, lf - 1);
  const fields = line.split(" ");
  const protocol = fields[1];
  if (protocol === "UNKNOWN") return { type: "header", version: 1, length: lf + 1, source: undefined, destination: undefined };
  if (protocol !== "TCP4" && protocol !== "TCP6") return v1Error(`protocol ${JSON.stringify(protocol ?? "")} is not TCP4, TCP6 or UNKNOWN`);
  if (fields.length !== 6) return v1Error(`expected "PROXY ${protocol} <source> <destination> <source port> <destination port>" with single spaces, got ${JSON.stringify(line)}`);
  const family = protocol === "TCP4" ? "IPv4" : "IPv6";
  const [, , sourceIp, destinationIp, sourcePort, destinationPort] = fields as [string, string, string, string, string, string];
  const source = v1Address(sourceIp, sourcePort, family);
  if (typeof source === "string") return v1Error(`source ${source}`);
  const destination = v1Address(destinationIp, destinationPort, family);
  if (typeof destination === "string") return v1Error(`destination ${destination}`);
  return { type: "header", version: 1, length: lf + 1, source, destination };
}

/** The address, or what is wrong with it. */
function v1Address(ip: string, port: string, family: "IPv4" | "IPv6"): ProxiedAddress | string {
  if (isIP(ip) !== (family === "IPv4" ? 4 : 6)) return `address ${JSON.stringify(ip)} is not an ${family} address`;
  const value = Number(port);
  if (!portPattern.test(port) || value > 65535) return `port ${JSON.stringify(port)} is not a port number (0-65535)`;
  return { address: family === "IPv6" ? ip.toLowerCase() : ip, port: value, family };
}

/** The 16-byte preamble (signature, version and command, family and transport, length), addresses, then TLVs (spec §2.2). */
function parseV2(data: Buffer, maxBytes: number): ProxyProtocolParse {
  if (!startsLike(data, v2Signature)) return notProxyProtocol;
  if (data.length < v2PreambleBytes) return incomplete;
  const versionCommand = data[12] as number;
  if (versionCommand >> 4 !== 2) return v2Error(`version ${versionCommand >> 4} in the 13th byte (expected 2)`);
  const command = versionCommand & 0x0f;
  if (command > 1) return v2Error(`command ${command} is neither LOCAL (0) nor PROXY (1)`);
  const length = v2PreambleBytes + data.readUInt16BE(14);
  if (length > maxBytes) return v2Error(`header of ${length} bytes is longer than the ${maxBytes} accepted`);
  if (data.length < length) return incomplete;
  // LOCAL (a health check of the load balancer's own): the connection's own addresses; the block is skipped whatever it holds.
  if (command === 0) return { type: "header", version: 2, length, source: undefined, destination: undefined };
  const familyTransport = data[13] as number;
  const family = familyTransport >> 4;
  const transport = familyTransport & 0x0f;
  const addressBytes = v2AddressBytes[family];
  if (addressBytes === undefined) return v2Error(`address family ${family} is not UNSPEC (0), INET (1), INET6 (2) or UNIX (3)`);
  if (transport > 2) return v2Error(`transport ${transport} is not UNSPEC (0), STREAM (1) or DGRAM (2)`);
  if (length - v2PreambleBytes < addressBytes) return v2Error(`${length - v2PreambleBytes} bytes of addresses, the family needs ${addressBytes}`);
  const tlvProblem = checkTlvs(data, v2PreambleBytes + addressBytes, length);
  if (tlvProblem !== undefined) return v2Error(tlvProblem);
  // UNSPEC family or transport, and UNIX sockets: nothing an IP peer can be made of; the connection's own addresses.
  if (family === 0 || family === 3 || transport === 0) return { type: "header", version: 2, length, source: undefined, destination: undefined };
  const at = v2PreambleBytes;
  if (family === 1) {
    return {
      type: "header",
      version: 2,
      length,
      source: { address: ipv4(data, at), port: data.readUInt16BE(at + 8), family: "IPv4" },
      destination: { address: ipv4(data, at + 4), port: data.readUInt16BE(at + 10), family: "IPv4" },
    };
  }
  return {
    type: "header",
    version: 2,
    length,
    source: { address: ipv6(data, at), port: data.readUInt16BE(at + 32), family: "IPv6" },
    destination: { address: ipv6(data, at + 16), port: data.readUInt16BE(at + 34), family: "IPv6" },
  };
}

/** TLVs (type, 16-bit length, value) fill `[from, end)` exactly; they are skipped, but one that overruns the header is an error. */
function checkTlvs(data: Buffer, from: number, end: number): string | undefined {
  let at = from;
  while (at < end) {
    if (end - at < 3) return `${end - at} byte(s) after the last TLV, too few for a TLV's type and length`;
    const valueBytes = data.readUInt16BE(at + 1);
    if (at + 3 + valueBytes > end) return `TLV type 0x${(data[at] as number).toString(16).padStart(2, "0")} of ${valueBytes} bytes runs past the header's end`;
    at += 3 + valueBytes;
  }
  return undefined;
}

function ipv4(data: Buffer, at: number): string {
  return formatIp([...data.subarray(at, at + 4)]);
}

/** The 16 bytes at `at` as RFC 5952 text, as Node reports a peer: `2001:db8::1`, `::ffff:192.0.2.1`. */
function ipv6(data: Buffer, at: number): string {
  const bytes = [...data.subarray(at, at + 16)];
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${formatIp(bytes.slice(12))}`;
  return formatIp(bytes);
}
