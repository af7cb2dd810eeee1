// The DNS wire format (RFC 1035) as its own package entry, `@meshwork/protocol/dns-wire`: the
// registry's DNS interface and the sidecar's DNS proxy speak it without loading the generated
// gRPC code of the main entry. Pure: no I/O.
export {
  decodeHeader,
  decodeMessage,
  DNS_CLASS_IN,
  DNS_OPCODE_QUERY,
  DNS_RCODE,
  DNS_TYPE,
  DNS_UDP_MAX,
  DnsFormatError,
  encodeMessage,
  isIpv4,
  parseIpv6,
} from "./dns-message.ts";
export type { DnsFlags, DnsMessage, DnsQuestion, DnsRecord, DnsRecordData } from "./dns-message.ts";
export { fitResponse } from "./fit-response.ts";
