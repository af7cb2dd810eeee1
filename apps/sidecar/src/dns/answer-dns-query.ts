// The DNS proxy's decision for one query (Istio's LocalDNSServer.ServeDNS): a name of the mesh is
// answered here — its A/AAAA records, a CNAME first when the resolver appended the first search
// domain, and NOERROR without records (NODATA) when the host has no address of the type asked, so
// the resolver never learns an address that bypasses the mesh — and everything else goes to the
// upstream resolvers unchanged, reverse lookups (PTR) included, as Istio's agent relays them
// (pkg/dns/client LookupTable.lookupHost answers A and AAAA only; PTR is a TODO there). Pure: the
// server (start-dns-proxy.ts) does the I/O.
import { DNS_CLASS_IN, DNS_OPCODE_QUERY, DNS_RCODE, DNS_TYPE, type DnsFlags, type DnsMessage, type DnsRecord } from "@meshwork/protocol/dns-wire";
import { lookupName, type NameTable } from "@meshwork/proxy-core";

/** TTL of the records answered here (Istio's agent: 30 s). */
export const dnsAnswerTtlSeconds = 30;
/** The UDP payload size advertised in answers to EDNS0 queries (RFC 6891 §6.2.5; the DNS flag day's 1232). */
export const dnsEdnsUdpSize = 1232;

export type DnsDecision =
  /** Send `response` (fitted to the transport's size by the caller). */
  | { readonly type: "answer"; readonly response: DnsMessage }
  /** Relay the query as it came to the upstream resolvers, and their answer as it comes back. */
  | { readonly type: "forward" };

const forward: DnsDecision = Object.freeze({ type: "forward" });

/**
 * Decides a decoded query (QR clear). `table` undefined: no config yet, every name is forwarded.
 * Only class IN questions of type A, AAAA and ANY for known names are answered; other types of a
 * known name are forwarded, as Istio does (its table has addresses only), and so are PTR questions
 * for addresses the table knows (`10.0.96.10.in-addr.arpa`): Istio answers no reverse lookup.
 * Several addresses of one type come rotated by the query's id, so clients of a headless service
 * spread over its endpoints (Istio's roundRobinResponse, kube-dns's behaviour).
 */
export function answerDnsQuery(request: DnsMessage, table: NameTable | undefined, searchDomains: readonly string[]): DnsDecision {
  const question = request.questions[0];
  if (question === undefined) return { type: "answer", response: errorResponse(request, DNS_RCODE.FORMERR) };
  if (request.flags.opcode !== DNS_OPCODE_QUERY || question.class !== DNS_CLASS_IN || table === undefined) return forward;
  const wantsA = question.type === DNS_TYPE.A || question.type === DNS_TYPE.ANY;
  const wantsAaaa = question.type === DNS_TYPE.AAAA || question.type === DNS_TYPE.ANY;
  if (!wantsA && !wantsAaaa) return forward;
  const found = lookupName(table, question.name, searchDomains);
  if (found.type === "unknown") return forward;
  const record = (name: string, type: number, data: DnsRecord["data"]): DnsRecord => ({ name, type, class: DNS_CLASS_IN, ttl: dnsAnswerTtlSeconds, data });
  // Owner names keep the question's spelling (resolvers checking 0x20 case randomisation compare them).
  const owner = found.cname === undefined ? question.name.replace(/\.$/, "") : found.cname.target;
  const addresses = [
    ...(wantsA ? rotate(found.entry.ipv4, request.id).map((address) => record(owner, DNS_TYPE.A, { kind: "a", address })) : []),
    ...(wantsAaaa ? rotate(found.entry.ipv6, request.id).map((address) => record(owner, DNS_TYPE.AAAA, { kind: "aaaa", address })) : []),
  ];
  // The CNAME only leads somewhere when there are records to chain it to (Istio's chained response).
  const answers = found.cname !== undefined && addresses.length > 0 ? [record(question.name.replace(/\.$/, ""), DNS_TYPE.CNAME, { kind: "cname", target: found.cname.target }), ...addresses] : addresses;
  return {
    type: "answer",
    response: {
      id: request.id,
      flags: replyFlags(request.flags, DNS_RCODE.NOERROR, true),
      questions: [question],
      answers,
      authorities: [],
      additionals: optFor(request),
    },
  };
}

/** A response with `rcode` and no records (SERVFAIL when every upstream failed, FORMERR). */
export function errorResponse(request: Pick<DnsMessage, "id" | "flags" | "questions" | "additionals">, rcode: number): DnsMessage {
  return { id: request.id, flags: replyFlags(request.flags, rcode, false), questions: request.questions.slice(0, 1), answers: [], authorities: [], additionals: optFor(request) };
}

/** `list` starting at `id mod length`: resolvers pick random ids, so the first address varies per query. */
function rotate(list: readonly string[], id: number): readonly string[] {
  if (list.length < 2) return list;
  const start = id % list.length;
  return [...list.slice(start), ...list.slice(0, start)];
}

function replyFlags(flags: DnsFlags, rcode: number, authoritative: boolean): DnsFlags {
  return { qr: true, opcode: flags.opcode, aa: authoritative, tc: false, rd: flags.rd, ra: true, z: 0, rcode };
}

/** An OPT record when the query had one (RFC 6891 §7: a responder that understands EDNS0 includes it). */
function optFor(request: Pick<DnsMessage, "additionals">): DnsRecord[] {
  if (!request.additionals.some((r) => r.type === DNS_TYPE.OPT)) return [];
  return [{ name: "", type: DNS_TYPE.OPT, class: dnsEdnsUdpSize, ttl: 0, data: { kind: "raw", bytes: new Uint8Array(0) } }];
}
