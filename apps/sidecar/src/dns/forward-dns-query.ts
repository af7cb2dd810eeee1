// Sends one DNS query to the upstream resolvers and brings back the first answer as it came
// (Istio's agent: queryUpstream, resolv.conf's servers in order). Over UDP for a UDP client — one
// connected socket per query, so the kernel's random source port and an ICMP refusal reach only
// this query — and over TCP (RFC 1035 §4.2.2 length prefix) for a TCP client.
import * as dgram from "node:dgram";
import * as net from "node:net";
import type { DnsUpstream } from "./parse-dns-upstream.ts";

export interface ForwardDnsOptions {
  readonly upstreams: readonly DnsUpstream[];
  /** The client asked over TCP: ask upstream over TCP too (a UDP answer could be truncated again). */
  readonly tcp: boolean;
  /** Per upstream. */
  readonly timeoutMs: number;
}

/** The response of the first upstream that answers `packet` (same ID), or the reasons none did. */
export async function forwardDnsQuery(packet: Uint8Array, options: ForwardDnsOptions): Promise<{ readonly ok: true; readonly response: Uint8Array } | { readonly ok: false; readonly errors: readonly string[] }> {
  const errors: string[] = [];
  const id = ((packet[0] ?? 0) << 8) | (packet[1] ?? 0);
  for (const upstream of options.upstreams) {
    try {
      const response = await (options.tcp ? askTcp : askUdp)(packet, id, upstream, options.timeoutMs);
      return { ok: true, response };
    } catch (error) {
      errors.push(`${net.isIPv6(upstream.host) ? `[${upstream.host}]` : upstream.host}:${upstream.port}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (options.upstreams.length === 0) errors.push("no upstream resolver (give --dns-upstream, or nameservers in --dns-resolv-conf)");
  return { ok: false, errors };
}

function askUdp(packet: Uint8Array, id: number, upstream: DnsUpstream, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(upstream.host) ? "udp6" : "udp4");
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    let done = false;
    function finish(error: Error | undefined, response?: Uint8Array): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (error !== undefined || response === undefined) reject(error ?? new Error("no answer"));
      else resolve(response);
    }
    socket.on("error", (error) => finish(error));
    // Only the answer to this query: the connected socket takes datagrams from the upstream alone.
    socket.on("message", (message) => {
      if (message.length >= 12 && message.readUInt16BE(0) === id && (message[2] ?? 0) & 0x80) finish(undefined, new Uint8Array(message));
    });
    socket.connect(upstream.port, upstream.host, () => socket.send(packet));
  });
}

function askTcp(packet: Uint8Array, id: number, upstream: DnsUpstream, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: upstream.host, port: upstream.port });
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    let done = false;
    let pending: Buffer = Buffer.alloc(0);
    function finish(error: Error | undefined, response?: Uint8Array): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== undefined || response === undefined) reject(error ?? new Error("no answer"));
      else resolve(response);
    }
    socket.on("error", (error) => finish(error));
    socket.on("close", () => finish(new Error("connection closed before the answer")));
    socket.on("connect", () => {
      const framed = Buffer.alloc(2 + packet.length);
      framed.writeUInt16BE(packet.length, 0);
      framed.set(packet, 2);
      socket.write(framed);
    });
    socket.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const message = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + message.length);
        if (message.length >= 12 && message.readUInt16BE(0) === id) {
          finish(undefined, new Uint8Array(message));
          return;
        }
      }
    });
  });
}
