// Consul's DNS interface as a pure function: a decoded query and the registry's state in, the
// response out (https://developer.hashicorp.com/consul/docs/services/discovery/dns-static-lookups).
// Names served under the domain (default "consul"):
//   [<tag>.]<service>.service[.<dc>].<domain>      A / AAAA / ANY / SRV of healthy instances
//   _<service>._<tcp|tag>.service[.<dc>].<domain>  RFC 2782 SRV form ("_tcp": no tag filter)
//   <node>.node[.<dc>].<domain>                    A / AAAA of the node
//   <query>.query[.<dc>].<domain>                  A / AAAA / ANY / SRV of a prepared query's instances
//                                                  (by id, name or template prefix; dots allowed in
//                                                  the name), TTL from the query's DNS.TTL
//   <domain>                                       SOA
// Healthy = aggregate status passing or warning (critical excluded: Consul's default, only_passing
// off). SRV targets are `<node>.node.<dc>.<domain>` with the instance's address as additional
// A / AAAA. Unknown names: NXDOMAIN with the SOA in authority; known names without records of the
// asked type: NOERROR, no answers, the SOA in authority (NODATA, RFC 2308).
// Two halves, so a client agent answers the same without the state: planDnsAnswer (the question →
// what to look up) and formatDnsAnswer (what was found → the response); answerQuery joins them
// over the server's state, the agent over the servers' HTTP API (agent-mode/start-agent-dns.ts).
import { parseDurationMs } from "../http/consul-duration.ts";
import type { HealthStatus, RegistryReads, ServiceInstance } from "../registry-contract.ts";
import { executePreparedQuery } from "../queries/execute-prepared-query.ts";
import { resolvePreparedQuery } from "../queries/resolve-prepared-query.ts";
import { aggregateStatus } from "../state/aggregate-status.ts";
import { type DnsMessage, type DnsQuestion, type DnsRecord, DNS_CLASS_IN, DNS_OPCODE_QUERY, DNS_RCODE, DNS_TYPE, isIpv4, parseIpv6 } from "@meshwork/protocol/dns-wire";

export interface DnsZone {
  /** Lower case, no trailing dot, e.g. "consul". */
  readonly domain: string;
  readonly datacenter: string;
  /** TTL of every record (Consul's default 0: clients ask again each time); a prepared query's DNS.TTL overrides it for its answers. */
  readonly ttlSeconds: number;
  /** This server's node: what a prepared query's Near "_agent" stands for. */
  readonly nodeName?: string;
}

/** The UDP payload size EDNS0 lets us advertise. */
export const EDNS_UDP_SIZE = 4096;

/** What a question asks the registry for, once parseable: planDnsAnswer's output, lookUp's input. */
export type DnsLookup =
  | { readonly kind: "zone" }
  | { readonly kind: "unknown" }
  | { readonly kind: "service"; readonly service: string; readonly tag: string | undefined }
  | { readonly kind: "node"; readonly node: string }
  | { readonly kind: "query"; readonly query: string };

/** One SRV target / A record of an answer: where an instance is reached. */
export interface DnsTarget {
  readonly node: string;
  /** The service's address, or its node's when the service has none. */
  readonly address: string;
  readonly port: number;
}

/** What the registry had for a DnsLookup: formatDnsAnswer's input. */
export type DnsFound =
  | { readonly kind: "zone" }
  | { readonly kind: "nothing" }
  | { readonly kind: "node"; readonly address: string }
  /** No instances is NXDOMAIN (Consul's answer for a service or query without healthy instances). `ttlSeconds` overrides the zone's (a query's DNS.TTL). */
  | { readonly kind: "instances"; readonly instances: readonly DnsTarget[]; readonly ttlSeconds?: number | undefined };

/**
 * The first half of an answer: a response that needs no lookup (not a query, not IN, not under
 * the domain: NOTIMP, FORMERR, REFUSED) or the lookup the answer needs. The server does the lookup
 * in its state (answerQuery); a client agent asks the servers over HTTP (agent-mode/start-agent-dns.ts).
 */
export function planDnsAnswer(request: DnsMessage, zone: DnsZone): { readonly type: "reply"; readonly response: DnsMessage } | { readonly type: "lookup"; readonly lookup: DnsLookup } {
  const done = (rcode: number): { readonly type: "reply"; readonly response: DnsMessage } => ({ type: "reply", response: replyTo(request, rcode, {}, false) });
  if (request.flags.opcode !== DNS_OPCODE_QUERY) return done(DNS_RCODE.NOTIMP);
  const question = request.questions[0];
  if (request.questions.length !== 1 || question === undefined) return done(DNS_RCODE.FORMERR);
  if (question.class !== DNS_CLASS_IN) return done(DNS_RCODE.REFUSED);
  const name = question.name.toLowerCase();
  if (name !== zone.domain && !name.endsWith(`.${zone.domain}`)) return done(DNS_RCODE.REFUSED);
  if (name === zone.domain) return { type: "lookup", lookup: { kind: "zone" } };
  return { type: "lookup", lookup: parseLookup(name.slice(0, -(zone.domain.length + 1)).split("."), zone.datacenter) ?? { kind: "unknown" } };
}

/** Whether an instance with these checks and tags answers a service lookup for `tag` (tags matched without case): not critical. */
export function isDnsInstance(instance: { readonly checks: readonly { readonly status: HealthStatus }[]; readonly tags: readonly string[] }, tag: string | undefined): boolean {
  return aggregateStatus(instance.checks) !== "critical" && (tag === undefined || instance.tags.some((t) => t.toLowerCase() === tag));
}

/** The response to `request` (a query: QR clear) from `reads`. */
export function answerQuery(reads: RegistryReads, request: DnsMessage, zone: DnsZone): DnsMessage {
  const plan = planDnsAnswer(request, zone);
  if (plan.type === "reply") return plan.response;
  return formatDnsAnswer(request, zone, lookUpInState(reads, plan.lookup, zone), reads.appliedIndex);
}

/** `lookup` answered from the registry's state. */
function lookUpInState(reads: RegistryReads, lookup: DnsLookup, zone: DnsZone): DnsFound {
  switch (lookup.kind) {
    case "zone":
    case "unknown":
      return { kind: lookup.kind === "zone" ? "zone" : "nothing" };
    case "node": {
      const node = reads.nodes().find((n) => n.node.toLowerCase() === lookup.node);
      return node === undefined ? { kind: "nothing" } : { kind: "node", address: node.address };
    }
    case "query": {
      // Consul: an unknown query and a query without instances are both NXDOMAIN.
      const resolved = resolvePreparedQuery(reads.queries(), lookup.query);
      if (!resolved.ok) return { kind: "nothing" };
      const { instances } = executePreparedQuery(reads, resolved.query, { agentNode: zone.nodeName ?? "" });
      return { kind: "instances", instances: instances.map(dnsTarget), ttlSeconds: queryTtlSeconds(resolved.query.dns.ttl) };
    }
    case "service":
      return { kind: "instances", instances: healthyInstances(reads, lookup.service, lookup.tag).map(dnsTarget) };
  }
}

/**
 * The second half of an answer: the response to `request` (whose plan was a lookup) given what
 * the lookup found. `serial`: the SOA's serial (an index of the registry that grows with changes).
 */
export function formatDnsAnswer(request: DnsMessage, zone: DnsZone, found: DnsFound, serial: number): DnsMessage {
  const question = request.questions[0] as DnsQuestion;
  const soa = soaRecord(serial, zone);
  const noData = (): DnsMessage => replyTo(request, DNS_RCODE.NOERROR, { authorities: [soa] });
  const nxDomain = (): DnsMessage => replyTo(request, DNS_RCODE.NXDOMAIN, { authorities: [soa] });
  if (found.kind === "zone") return question.type === DNS_TYPE.SOA || question.type === DNS_TYPE.ANY ? replyTo(request, DNS_RCODE.NOERROR, { answers: [soa] }) : noData();
  if (found.kind === "nothing") return nxDomain();
  if (found.kind === "node") {
    const answers = addressRecords(question.name, found.address, question.type, zone.ttlSeconds);
    return answers.length === 0 ? noData() : replyTo(request, DNS_RCODE.NOERROR, { answers });
  }
  const { instances } = found;
  const ttl = found.ttlSeconds ?? zone.ttlSeconds;
  if (instances.length === 0) return nxDomain();
  if (question.type === DNS_TYPE.SRV) {
    const answers: DnsRecord[] = [];
    const additionals: DnsRecord[] = [];
    const seen = new Set<string>();
    for (const instance of instances) {
      const target = `${instance.node}.node.${zone.datacenter}.${zone.domain}`;
      answers.push({ name: question.name, type: DNS_TYPE.SRV, class: DNS_CLASS_IN, ttl, data: { kind: "srv", priority: 1, weight: 1, port: instance.port, target } });
      for (const record of addressRecords(target, instance.address, DNS_TYPE.ANY, ttl)) {
        const key = `${target.toLowerCase()} ${record.data.kind === "a" || record.data.kind === "aaaa" ? record.data.address : ""}`;
        if (!seen.has(key)) additionals.push(record);
        seen.add(key);
      }
    }
    return replyTo(request, DNS_RCODE.NOERROR, { answers, additionals });
  }
  const answers: DnsRecord[] = [];
  const seen = new Set<string>();
  for (const instance of instances) {
    if (seen.has(instance.address)) continue;
    seen.add(instance.address);
    answers.push(...addressRecords(question.name, instance.address, question.type, ttl));
  }
  return answers.length === 0 ? noData() : replyTo(request, DNS_RCODE.NOERROR, { answers });
}

function replyTo(request: DnsMessage, rcode: number, sections: Partial<Pick<DnsMessage, "answers" | "authorities" | "additionals">> = {}, authoritative = true): DnsMessage {
  const opt = request.additionals.find((r) => r.type === DNS_TYPE.OPT);
  return {
    id: request.id,
    flags: { qr: true, opcode: request.flags.opcode, aa: authoritative, tc: false, rd: request.flags.rd, ra: false, z: 0, rcode },
    questions: request.questions,
    answers: sections.answers ?? [],
    authorities: sections.authorities ?? [],
    additionals: [...(sections.additionals ?? []), ...(opt === undefined ? [] : [{ name: "", type: DNS_TYPE.OPT, class: EDNS_UDP_SIZE, ttl: 0, data: { kind: "raw" as const, bytes: new Uint8Array(0) } }])],
  };
}

type Lookup = Extract<DnsLookup, { readonly kind: "service" | "node" | "query" }>;

/** `labels`: the lower-cased name without the domain. */
function parseLookup(labels: readonly string[], datacenter: string): Lookup | undefined {
  let parts = [...labels];
  // An optional datacenter label after "service" / "node".
  const last = parts[parts.length - 1];
  if (parts.length >= 3 && last !== "service" && last !== "node" && last !== "query") {
    if (last !== datacenter.toLowerCase()) return undefined;
    parts = parts.slice(0, -1);
  }
  const kind = parts.pop();
  if (kind === "node") return parts.length === 1 ? { kind: "node", node: parts[0] as string } : undefined;
  if (kind === "query") return parts.length >= 1 ? { kind: "query", query: parts.join(".") } : undefined;
  if (kind !== "service") return undefined;
  if (parts.length === 1) return { kind: "service", service: parts[0] as string, tag: undefined };
  if (parts.length !== 2) return undefined;
  const [first, second] = parts as [string, string];
  if (first.startsWith("_") && second.startsWith("_")) {
    const protocol = second.slice(1);
    return { kind: "service", service: first.slice(1), tag: protocol === "tcp" ? undefined : protocol };
  }
  return { kind: "service", service: second, tag: first };
}

/** Instances of `service` (names and tags matched without case) that are not critical. */
function healthyInstances(reads: RegistryReads, service: string, tag: string | undefined): ServiceInstance[] {
  const names = Object.keys(reads.services()).filter((n) => n.toLowerCase() === service);
  return names
    .flatMap((n) => reads.serviceInstances(n))
    .filter((i) => isDnsInstance({ checks: i.checks, tags: i.service.tags }, tag));
}

/** Whole seconds of a query's DNS.TTL (a Go duration the HTTP API checked when the query was written); undefined when unset. */
export function queryTtlSeconds(ttl: string): number | undefined {
  if (ttl === "") return undefined;
  try {
    return Math.min(Math.floor(parseDurationMs(ttl, "DNS.TTL") / 1000), 0x7fff_ffff);
  } catch {
    return undefined;
  }
}

function dnsTarget(instance: ServiceInstance): DnsTarget {
  return { node: instance.node.node, address: instance.service.address !== "" ? instance.service.address : instance.node.address, port: instance.service.port };
}

/** A and/or AAAA records of `address` for a query of `type` (none when it is a host name). */
function addressRecords(owner: string, address: string, type: number, ttl: number): DnsRecord[] {
  const out: DnsRecord[] = [];
  if ((type === DNS_TYPE.A || type === DNS_TYPE.ANY) && isIpv4(address)) out.push({ name: owner, type: DNS_TYPE.A, class: DNS_CLASS_IN, ttl, data: { kind: "a", address } });
  if ((type === DNS_TYPE.AAAA || type === DNS_TYPE.ANY) && !isIpv4(address) && parseIpv6(address) !== undefined) {
    out.push({ name: owner, type: DNS_TYPE.AAAA, class: DNS_CLASS_IN, ttl, data: { kind: "aaaa", address } });
  }
  return out;
}

function soaRecord(serial: number, zone: DnsZone): DnsRecord {
  return {
    name: zone.domain,
    type: DNS_TYPE.SOA,
    class: DNS_CLASS_IN,
    ttl: zone.ttlSeconds,
    data: {
      kind: "soa",
      mname: `ns.${zone.domain}`,
      rname: `hostmaster.${zone.domain}`,
      // An index of the registry (a server's applied index): it grows with every change, as a zone serial should.
      serial: serial % 0x1_0000_0000,
      refresh: 3600,
      retry: 600,
      expire: 86_400,
      minimum: 0,
    },
  };
}

/** The question of a request, for logs. */
export function describeQuestion(question: DnsQuestion | undefined): string {
  return question === undefined ? "(none)" : `${question.name} type ${question.type} class ${question.class}`;
}
