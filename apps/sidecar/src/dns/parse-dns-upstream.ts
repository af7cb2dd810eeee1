// An upstream resolver as --dns-upstream or resolv.conf names it: an IP address with an optional
// port (`10.96.0.10`, `127.0.0.1:5353`, `fd00::a`, `[fd00::a]:5353`). Pure.
import { isIP } from "node:net";

export interface DnsUpstream {
  /** IP address, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
}

export type ParsedDnsUpstream = { readonly ok: true; readonly upstream: DnsUpstream } | { readonly ok: false; readonly message: string };

/** Parses one upstream; `source` names where it came from in the error (`--dns-upstream`, the resolv.conf path). */
export function parseDnsUpstream(text: string, source: string): ParsedDnsUpstream {
  const value = text.trim();
  let host = value;
  let portText = "53";
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed !== null) {
    host = bracketed[1] ?? "";
    portText = bracketed[2] ?? "53";
  } else if (isIP(value) === 0 && value.lastIndexOf(":") > 0 && !value.slice(0, value.lastIndexOf(":")).includes(":")) {
    host = value.slice(0, value.lastIndexOf(":"));
    portText = value.slice(value.lastIndexOf(":") + 1);
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (isIP(host) === 0 || !(port >= 1 && port <= 65535)) {
    return { ok: false, message: `${source} "${text}": give an IP address with an optional port, e.g. 10.96.0.10, 127.0.0.1:5353 or [fd00::a]:53` };
  }
  return { ok: true, upstream: { host, port } };
}
