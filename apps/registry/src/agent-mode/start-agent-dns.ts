// The client agent's DNS interface (Consul's client agent on 8600): the names the servers' DNS
// answers, with the same answers — the servers' own planning and formatting (dns/answer-query.ts)
// around lookups made over the servers' HTTP API (look-up-over-http.ts) — on UDP and TCP of one
// port. Apps resolve `<service>.service.consul` at their local agent, not at the servers.
// No server answering (each --server tried once, the HTTP forwarder's failover choice) is SERVFAIL;
// names outside the domain are REFUSED, as on the servers (no recursors).
import { type DnsZone, formatDnsAnswer, planDnsAnswer } from "../dns/answer-query.ts";
import { type DnsLog, respondToDnsPacket } from "../dns/respond-to-dns-packet.ts";
import { lookUpOverHttp } from "./look-up-over-http.ts";
import type { RegistryClient } from "./registry-client.ts";
import { serveDnsSockets, type DnsSockets } from "@meshwork/protocol/dns-server";
import type { DnsMessage } from "@meshwork/protocol/dns-wire";

/**
 * How long one server gets to answer a DNS lookup before the next is tried: resolvers give up on
 * a query after a few seconds (dig: 5 s), so a hung server must not take them all.
 */
export const dnsServerTimeoutMs = 2_000;

export interface AgentDnsOptions {
  readonly host: string;
  /** 0 picks a port free for both UDP and TCP. */
  readonly port: number;
  readonly zone: DnsZone;
  readonly client: Pick<RegistryClient, "get">;
  /** TCP connections idle this long are closed (default 30 s, as the servers'). */
  readonly tcpIdleMs?: number;
  readonly log?: DnsLog;
}

/**
 * The response to `request`, read from the servers. `serial` holds the SOA serial: the highest
 * X-Consul-Index this agent's DNS has read, so it only grows (answers without a read keep it).
 */
export async function answerOverHttp(client: Pick<RegistryClient, "get">, request: DnsMessage, zone: DnsZone, serial: { value: number }): Promise<DnsMessage> {
  const plan = planDnsAnswer(request, zone);
  if (plan.type === "reply") return plan.response;
  const { found, index } = await lookUpOverHttp((path) => client.get(path, { timeoutMs: dnsServerTimeoutMs }), plan.lookup);
  serial.value = Math.max(serial.value, index);
  return formatDnsAnswer(request, zone, found, serial.value);
}

/** Serves the agent's DNS on UDP and TCP `host:port`. */
export function startAgentDns(options: AgentDnsOptions): Promise<DnsSockets> {
  const serial = { value: 0 };
  const { client, zone, log } = options;
  return serveDnsSockets({
    host: options.host,
    port: options.port,
    tcpIdleMs: options.tcpIdleMs ?? 30_000,
    answer: (packet, tcp) => respondToDnsPacket(packet, tcp, (request) => answerOverHttp(client, request, zone, serial), log),
  });
}
