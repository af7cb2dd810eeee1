// Fits an encoded DNS response into a transport's size limit (RFC 1035 §4.2.1, RFC 2181 §9):
// additional records go first, then answers from the end, and the TC bit says something was left
// out, so the client retries over TCP. Pure.
import { type DnsMessage, type DnsRecord, DNS_TYPE, encodeMessage } from "./dns-message.ts";

/** `message` encoded in at most `maxBytes` (≥ 12), truncated with TC set when it does not fit. */
export function fitResponse(message: DnsMessage, maxBytes: number): Uint8Array {
  const whole = encodeMessage(message);
  if (whole.length <= maxBytes) return whole;
  // The OPT record (EDNS0) stays: it tells the client the size we accept.
  const opt = message.additionals.filter((r) => r.type === DNS_TYPE.OPT);
  const truncated = (answers: readonly DnsRecord[], authorities: readonly DnsRecord[], additionals: readonly DnsRecord[]): Uint8Array =>
    encodeMessage({ ...message, flags: { ...message.flags, tc: true }, answers, authorities, additionals });
  const others = message.additionals.filter((r) => r.type !== DNS_TYPE.OPT);
  // Keep the most additionals that fit with every answer (binary search: each try is one encode).
  let best = truncated(message.answers, message.authorities, opt);
  if (best.length <= maxBytes) {
    let low = 0;
    let high = others.length - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const attempt = truncated(message.answers, message.authorities, [...others.slice(0, mid), ...opt]);
      if (attempt.length <= maxBytes) {
        best = attempt;
        low = mid + 1;
      } else high = mid - 1;
    }
    return best;
  }
  // Not even the answers fit: keep the most answers that do.
  best = truncated([], [], opt);
  if (best.length > maxBytes) best = truncated([], [], []);
  let low = 1;
  let high = message.answers.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const attempt = truncated(message.answers.slice(0, mid), [], opt);
    if (attempt.length <= maxBytes) {
      best = attempt;
      low = mid + 1;
    } else high = mid - 1;
  }
  return best;
}
