// The registry's DNS interface (Consul's, DESIGN.md §3.4): UDP and TCP on the same port
// (@meshwork/protocol/dns-server).
// Answers come from the local state without a read barrier (Consul's DNS default, allow_stale).
// Malformed queries are answered FORMERR when their header is readable and dropped otherwise;
// responses to us (QR set) are dropped; nothing a client sends can crash the server.
import type { RegistryServer } from "../registry-contract.ts";
import { answerQuery, type DnsZone } from "./answer-query.ts";
import { cachedReads } from "./cached-reads.ts";
import { serveDnsSockets, type DnsSockets } from "@meshwork/protocol/dns-server";
import { decodeHeader, decodeMessage, DnsFormatError, DNS_RCODE, DNS_TYPE, DNS_UDP_MAX, encodeMessage, fitResponse, type DnsMessage } from "@meshwork/protocol/dns-wire";

export interface DnsServerOptions {
  readonly host: string;
  /** 0 picks a port free for both UDP and TCP. */
  readonly port: number;
  /** Default "consul". */
  readonly domain?: string;
  /** Default 0 (Consul's default TTL). */
  readonly ttlSeconds?: number;
  /** Default "dc1" (the SRV target `<node>.node.<dc>.<domain>`). */
  readonly datacenter?: string;
  /** This server's node (a prepared query's Near "_agent"); default the server's nodeId. */
  readonly nodeName?: string;
  /** TCP connections idle this long are closed (default 30 s). */
  readonly tcpIdleMs?: number;
  readonly log?: (level: "debug" | "warn", msg: string, fields: Record<string, unknown>) => void;
}

export type RunningDnsServer = DnsSockets;

/** Largest UDP payload we send, whatever EDNS0 says (IPv4's UDP maximum). */
const UDP_PAYLOAD_LIMIT = 65_507;

/**
 * The response bytes for one query, or undefined to send nothing. `tcp`: no 512-byte limit
 * (only the 65535 of the length prefix).
 */
export function handleDnsPacket(server: Pick<RegistryServer, "state">, zone: DnsZone, packet: Uint8Array, tcp: boolean, log?: DnsServerOptions["log"]): Uint8Array | undefined {
  let request: DnsMessage;
  try {
    request = decodeMessage(packet);
  } catch (error) {
    const header = decodeHeader(packet);
    if (!(error instanceof DnsFormatError) || header === undefined || header.flags.qr) return undefined;
    log?.("debug", "dns: malformed query answered FORMERR", { error: error.message });
    return encodeMessage({
      id: header.id,
      flags: { qr: true, opcode: header.flags.opcode, aa: false, tc: false, rd: header.flags.rd, ra: false, z: 0, rcode: DNS_RCODE.FORMERR },
      questions: [],
      answers: [],
      authorities: [],
      additionals: [],
    });
  }
  if (request.flags.qr) return undefined;
  try {
    const response = answerQuery(server.state, request, zone);
    const opt = request.additionals.find((r) => r.type === DNS_TYPE.OPT);
    const limit = tcp ? 0xffff : Math.min(UDP_PAYLOAD_LIMIT, Math.max(DNS_UDP_MAX, opt?.class ?? DNS_UDP_MAX));
    return fitResponse(response, limit);
  } catch (error) {
    // A name in the catalog that DNS cannot carry (a label over 63 octets…) or a bug: SERVFAIL, not a crash.
    log?.("warn", "dns: query failed", { error: error instanceof Error ? error.message : String(error) });
    return encodeMessage({
      id: request.id,
      flags: { qr: true, opcode: request.flags.opcode, aa: false, tc: false, rd: request.flags.rd, ra: false, z: 0, rcode: DNS_RCODE.SERVFAIL },
      questions: request.questions,
      answers: [],
      authorities: [],
      additionals: [],
    });
  }
}

/** Serves Consul's DNS interface for `server` on UDP and TCP `host:port`. */
export async function startDnsServer(server: RegistryServer, options: DnsServerOptions): Promise<RunningDnsServer> {
  const domain = (options.domain ?? "consul").toLowerCase().replace(/^\.+|\.+$/g, "");
  if (domain === "" || domain.split(".").some((label) => label === "" || label.length > 63)) {
    throw new RangeError(`DNS domain ${JSON.stringify(options.domain)}: use dot-separated labels of 1-63 characters, e.g. "consul"`);
  }
  const ttlSeconds = options.ttlSeconds ?? 0;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0 || ttlSeconds > 0x7fff_ffff) throw new RangeError(`DNS TTL ${ttlSeconds}: use whole seconds from 0 to 2147483647`);
  const zone: DnsZone = { domain, datacenter: options.datacenter ?? "dc1", ttlSeconds, nodeName: options.nodeName ?? server.nodeId };
  const log = options.log;
  // Read `server.state` afresh each time (a snapshot install replaces it), lists memoized per index.
  const reads = { state: cachedReads(() => server.state) };
  return serveDnsSockets({ host: options.host, port: options.port, tcpIdleMs: options.tcpIdleMs ?? 30_000, answer: (packet, tcp) => handleDnsPacket(reads, zone, packet, tcp, log) });
}
