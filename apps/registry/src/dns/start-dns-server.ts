// The registry's DNS interface (Consul's, DESIGN.md §3.4): UDP and TCP on the same port
// (@meshwork/protocol/dns-server).
// Answers come from the local state without a read barrier (Consul's DNS default, allow_stale).
// Malformed queries are answered FORMERR when their header is readable and dropped otherwise;
// responses to us (QR set) are dropped; nothing a client sends can crash the server
// (respond-to-dns-packet.ts, shared with the client agent's DNS).
import type { RegistryServer } from "../registry-contract.ts";
import { answerQuery, type DnsZone } from "./answer-query.ts";
import { cachedReads } from "./cached-reads.ts";
import { type DnsLog, respondToDnsPacket } from "./respond-to-dns-packet.ts";
import { serveDnsSockets, type DnsSockets } from "@meshwork/protocol/dns-server";

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
  readonly log?: DnsLog;
}

export type RunningDnsServer = DnsSockets;

/**
 * The response bytes for one query, or undefined to send nothing. `tcp`: no 512-byte limit
 * (only the 65535 of the length prefix).
 */
export function handleDnsPacket(server: Pick<RegistryServer, "state">, zone: DnsZone, packet: Uint8Array, tcp: boolean, log?: DnsServerOptions["log"]): Uint8Array | undefined {
  return respondToDnsPacket(packet, tcp, (request) => answerQuery(server.state, request, zone), log);
}

/** `domain` lower-cased without outer dots (default "consul"); throws RangeError when it is not a DNS name. */
export function normalizeDnsDomain(domain: string | undefined): string {
  const normalized = (domain ?? "consul").toLowerCase().replace(/^\.+|\.+$/g, "");
  if (normalized === "" || normalized.split(".").some((label) => label === "" || label.length > 63)) {
    throw new RangeError(`DNS domain ${JSON.stringify(domain)}: use dot-separated labels of 1-63 characters, e.g. "consul"`);
  }
  return normalized;
}

/** Serves Consul's DNS interface for `server` on UDP and TCP `host:port`. */
export async function startDnsServer(server: RegistryServer, options: DnsServerOptions): Promise<RunningDnsServer> {
  const domain = normalizeDnsDomain(options.domain);
  const ttlSeconds = options.ttlSeconds ?? 0;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0 || ttlSeconds > 0x7fff_ffff) throw new RangeError(`DNS TTL ${ttlSeconds}: use whole seconds from 0 to 2147483647`);
  const zone: DnsZone = { domain, datacenter: options.datacenter ?? "dc1", ttlSeconds, nodeName: options.nodeName ?? server.nodeId };
  const log = options.log;
  // Read `server.state` afresh each time (a snapshot install replaces it), lists memoized per index.
  const reads = { state: cachedReads(() => server.state) };
  return serveDnsSockets({ host: options.host, port: options.port, tcpIdleMs: options.tcpIdleMs ?? 30_000, answer: (packet, tcp) => handleDnsPacket(reads, zone, packet, tcp, log) });
}
