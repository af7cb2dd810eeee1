// A DNS server's sockets on node:dgram and node:net: UDP and TCP on one port (RFC 1035 §4.2.2:
// over TCP a 2-byte length prefix, several queries per connection, RFC 7766 §6.2.1.1: answers
// may come out of order). The registry's DNS interface and the sidecar's DNS proxy both serve
// through it; what a query gets is theirs (`answer`).
import * as dgram from "node:dgram";
import * as net from "node:net";

/** The response bytes for one query, or undefined to send nothing; `tcp`: it came over TCP. */
export type DnsAnswerer = (packet: Uint8Array, tcp: boolean) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

export interface DnsSockets {
  /** The port both sockets listen on (the one asked for, or the one 0 found). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on UDP and TCP `host:port`; with port 0, one port free for both (UDP picks, TCP may find
 * it taken: a few tries). `host` may be several addresses, all on the same port (the sidecar's DNS
 * proxy on 127.0.0.1 and ::1, as Istio's agent listens on localhost in both families); with
 * several, IPv6 sockets are IPv6-only, so `0.0.0.0` and `::` can sit side by side. TCP connections
 * idle `tcpIdleMs` are closed; a zero-length TCP message closes its connection.
 */
export async function serveDnsSockets(options: { readonly host: string | readonly string[]; readonly port: number; readonly tcpIdleMs: number; readonly answer: DnsAnswerer }): Promise<DnsSockets> {
  const hosts = typeof options.host === "string" ? [options.host] : options.host;
  const [first, ...others] = hosts;
  if (first === undefined) throw new Error("serveDnsSockets: no address to listen on: give at least one host");
  const ipv6Only = hosts.length > 1;
  for (let attempt = 0; ; attempt++) {
    const udps: dgram.Socket[] = [];
    const tcps: { server: net.Server; sockets: Set<net.Socket> }[] = [];
    try {
      udps.push(await bindUdp(first, options.port, ipv6Only));
      const port = udps[0]?.address().port ?? options.port;
      for (const host of others) udps.push(await bindUdp(host, port, ipv6Only));
      for (const host of hosts) tcps.push(await bindTcp(host, port, options.tcpIdleMs, options.answer, ipv6Only));
      for (const udp of udps) {
        udp.on("message", (packet, remote) => {
          respond(options.answer(new Uint8Array(packet), false), (response) => udp.send(response, remote.port, remote.address));
        });
      }
      return {
        port,
        close: async () => {
          await Promise.all([
            ...udps.map((udp) => new Promise<void>((resolve) => udp.close(() => resolve()))),
            ...tcps.map(
              (tcp) =>
                new Promise<void>((resolve) => {
                  tcp.server.close(() => resolve());
                  for (const socket of tcp.sockets) socket.destroy();
                }),
            ),
          ]);
        },
      };
    } catch (error) {
      for (const udp of udps) udp.close();
      for (const tcp of tcps) tcp.server.close();
      // A port 0 found free on the first address may be taken on another, or for TCP: try another.
      if (options.port !== 0 || attempt >= 5) throw error;
    }
  }
}

/** Sends what `answer` gave: at once when it answered synchronously, when it settles otherwise. */
function respond(result: Uint8Array | undefined | Promise<Uint8Array | undefined>, send: (response: Uint8Array) => void): void {
  if (result instanceof Promise) {
    void result.then((response) => {
      if (response !== undefined) send(response);
    });
  } else if (result !== undefined) {
    send(result);
  }
}

function bindUdp(host: string, port: number, ipv6Only: boolean): Promise<dgram.Socket> {
  const socket = net.isIPv6(host) ? dgram.createSocket({ type: "udp6", ipv6Only }) : dgram.createSocket("udp4");
  return new Promise((resolve, reject) => {
    socket.once("error", (error) => {
      socket.close();
      reject(error);
    });
    socket.bind(port, host, () => {
      socket.removeAllListeners("error");
      // A send error (ICMP unreachable…) concerns one client only.
      socket.on("error", () => undefined);
      resolve(socket);
    });
  });
}

function bindTcp(host: string, port: number, idleMs: number, answer: DnsAnswerer, ipv6Only: boolean): Promise<{ server: net.Server; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.on("error", () => socket.destroy());
    socket.on("close", () => sockets.delete(socket));
    let pending: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (length === 0) {
          socket.destroy();
          return;
        }
        if (pending.length < 2 + length) break;
        const packet = new Uint8Array(pending.subarray(2, 2 + length));
        pending = pending.subarray(2 + length);
        respond(answer(packet, true), (response) => {
          if (socket.destroyed) return;
          const framed = Buffer.alloc(2 + response.length);
          framed.writeUInt16BE(response.length, 0);
          framed.set(response, 2);
          socket.write(framed);
        });
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, ipv6Only }, () => {
      server.off("error", reject);
      resolve({ server, sockets });
    });
  });
}
