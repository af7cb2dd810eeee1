// The DNS proxy's listen addresses as --dns-bind (MESHWORK_DNS_BIND) gives them: IP addresses, all
// served on the one DNS port (`127.0.0.1,::1` takes the queries capture redirects in both
// families, as Istio's agent listens on localhost for IPv4 and IPv6). Pure.
import { isIP } from "node:net";

export type ParsedDnsBind = { readonly ok: true; readonly hosts: readonly string[] } | { readonly ok: false; readonly message: string };

/** Parses the list (`[::1]` is taken as `::1`); an empty list, a name, or an address twice is an error naming the fix. */
export function parseDnsBind(values: readonly string[]): ParsedDnsBind {
  const hosts: string[] = [];
  for (const text of values) {
    const value = text.trim();
    const host = /^\[(.+)\]$/.exec(value)?.[1] ?? value;
    if (isIP(host) === 0) return { ok: false, message: `--dns-bind "${text}": not an IP address; give addresses the DNS proxy listens on, e.g. 127.0.0.1 or 127.0.0.1,::1` };
    if (hosts.includes(host)) return { ok: false, message: `--dns-bind "${values.join(",")}": ${host} is given twice; name each address once` };
    hosts.push(host);
  }
  if (hosts.length === 0) return { ok: false, message: "--dns-bind is empty: give at least one address, e.g. 127.0.0.1 (the default) or 127.0.0.1,::1" };
  return { ok: true, hosts };
}

/** `host:port` as a listener address (`[::1]:15053`). */
export function formatListenAddress(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}
