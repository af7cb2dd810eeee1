// One DNS packet in, the response bytes out, around an answering function: the wire handling the
// registry server's DNS and a client agent's share. Malformed queries are answered FORMERR when
// their header is readable and dropped otherwise; responses to us (QR set) are dropped; an answer
// that throws or rejects is SERVFAIL (nothing a client sends, and no server failure behind an
// agent, crashes the process); the response is fitted to the transport's size (TC on UDP).
import { decodeHeader, decodeMessage, DnsFormatError, DNS_RCODE, DNS_TYPE, DNS_UDP_MAX, encodeMessage, fitResponse, type DnsMessage } from "@meshwork/protocol/dns-wire";

export type DnsLog = (level: "debug" | "warn", msg: string, fields: Record<string, unknown>) => void;

/** Largest UDP payload we send, whatever EDNS0 says (IPv4's UDP maximum). */
const UDP_PAYLOAD_LIMIT = 65_507;

/**
 * The response bytes for `packet`, or undefined to send nothing; synchronous when `answer` is.
 * `tcp`: no 512-byte limit (only the 65535 of the length prefix). Never rejects.
 */
export function respondToDnsPacket(packet: Uint8Array, tcp: boolean, answer: (request: DnsMessage) => DnsMessage, log?: DnsLog): Uint8Array | undefined;
export function respondToDnsPacket(packet: Uint8Array, tcp: boolean, answer: (request: DnsMessage) => DnsMessage | Promise<DnsMessage>, log?: DnsLog): Uint8Array | undefined | Promise<Uint8Array | undefined>;
export function respondToDnsPacket(packet: Uint8Array, tcp: boolean, answer: (request: DnsMessage) => DnsMessage | Promise<DnsMessage>, log?: DnsLog): Uint8Array | undefined | Promise<Uint8Array | undefined> {
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
  const fit = (response: DnsMessage): Uint8Array => {
    const opt = request.additionals.find((r) => r.type === DNS_TYPE.OPT);
    const limit = tcp ? 0xffff : Math.min(UDP_PAYLOAD_LIMIT, Math.max(DNS_UDP_MAX, opt?.class ?? DNS_UDP_MAX));
    return fitResponse(response, limit);
  };
  // A name in the catalog that DNS cannot carry (a label over 63 octets…), no server to ask, or a bug: SERVFAIL, not a crash.
  const serverFailure = (error: unknown): Uint8Array => {
    log?.("warn", "dns: query failed", { error: error instanceof Error ? error.message : String(error) });
    return encodeMessage({
      id: request.id,
      flags: { qr: true, opcode: request.flags.opcode, aa: false, tc: false, rd: request.flags.rd, ra: false, z: 0, rcode: DNS_RCODE.SERVFAIL },
      questions: request.questions,
      answers: [],
      authorities: [],
      additionals: [],
    });
  };
  try {
    const response = answer(request);
    if (response instanceof Promise) {
      return response.then(
        (message) => {
          try {
            return fit(message);
          } catch (error) {
            return serverFailure(error);
          }
        },
        (error: unknown) => serverFailure(error),
      );
    }
    return fit(response);
  } catch (error) {
    return serverFailure(error);
  }
}
